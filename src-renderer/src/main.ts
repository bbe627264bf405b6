// Renderer entry: connect to the service and mount the manager window.
import { mount } from 'svelte';
import App from './components/App.svelte';
import { AppState } from './lib/app-state.svelte.ts';
import { connect } from './lib/connect.ts';
import './styles.css';

const state = new AppState(connect());
mount(App, { target: document.getElementById('app')!, props: { app: state } });
void state.start();
