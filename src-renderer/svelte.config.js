// Svelte options for vite-plugin-svelte and svelte-check.
export default {
  compilerOptions: { runes: true },
};
