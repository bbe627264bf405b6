// Where the real OVF descriptors live: ../shared/fixtures/ovf relative to the repository root
// (CI has a read-only copy there). A missing folder is a failure, never a silent skip.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const FIXTURE_DIR = resolve(REPO_ROOT, '../shared/fixtures/ovf');

export function fixtureDir(): string {
  if (!existsSync(join(FIXTURE_DIR, 'README.md'))) {
    throw new Error(`OVF fixtures not found at ${FIXTURE_DIR} (expected ../shared/fixtures/ovf beside the repository); the appliance tests need them`);
  }
  return FIXTURE_DIR;
}

export function fixture(name: string): string {
  return readFileSync(join(fixtureDir(), name), 'utf8');
}

export const FIXTURES = ['minimal.ovf', 'v0.9.ovf', 'vmware.ovf', 'ubuntu.2.0.ovf', 'virtualbox-vm.ovf'] as const;
