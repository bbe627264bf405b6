// Builds the renderer into dist/renderer, served by `hangar serve` and by the desktop shell's
// custom protocol. Relative asset URLs work under both.
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

export default defineConfig({
  root: decodeURIComponent(new URL('.', import.meta.url).pathname),
  base: './',
  plugins: [svelte()],
  build: {
    outDir: decodeURIComponent(new URL('../dist/renderer', import.meta.url).pathname),
    emptyOutDir: true,
    target: 'es2022',
    // Inline assets would need data: in the CSP for scripts; keep everything as files.
    assetsInlineLimit: 0,
  },
});
