#!/usr/bin/env node
// The `hangar` command. Sources are TypeScript; tsx compiles them on the fly so a fresh
// checkout needs no build step before the CLI works.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src-core/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
