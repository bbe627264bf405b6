// Renderer entry: connect to the service and mount the manager window.
import { mount } from 'svelte';
import App from './components/App.svelte';
import { AppState } from './lib/app-state.svelte.ts';
import { connect } from './lib/connect.ts';
import { S } from './lib/strings.ts';
import './styles.css';

const state = new AppState(connect());
mount(App, { target: document.getElementById('app')!, props: { app: state } });
// Anything that escapes a component still reaches the user as a notification.
window.addEventListener('error', (e) => state.report(S.errors.unexpected, e.error ?? e.message));
window.addEventListener('unhandledrejection', (e) => state.report(S.errors.unexpected, e.reason));
void state.start();
