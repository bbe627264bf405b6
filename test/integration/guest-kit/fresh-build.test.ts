// Building a kit from nothing in a separate cache root (HANGAR_GUEST_KIT_CACHE), seeded only
// with the already downloaded .debs so the 70 MB kernel package is not fetched again: the build
// reproduces the shared kit byte for byte, concurrent builders share one build through the lock,
// and without apt the cached kit is used (or, with none cached, the error names apt).
import { execFile } from 'node:child_process';
import { copyFile, link, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureGuestKit, type GuestKit } from '../../../scripts/guest-kit.ts';

const REPO = join(import.meta.dirname, '..', '..', '..');
const TSX = join(REPO, 'node_modules', 'tsx', 'dist', 'cli.mjs');

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the guest-kit script with the given environment additions. */
function script(env: NodeJS.ProcessEnv): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TSX, 'scripts/guest-kit.ts', '--json'], { cwd: REPO, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

let shared: GuestKit;
let root: string;

beforeAll(async () => {
  shared = await ensureGuestKit({ log: () => {} });
  root = await mkdtemp(join(tmpdir(), 'hangar-guest-kit-'));
  const from = join(REPO, '.cache', 'guest-kit', 'debs');
  await mkdir(join(root, 'debs'));
  for (const f of await readdir(from)) {
    if (!f.endsWith('.deb')) continue;
    await link(join(from, f), join(root, 'debs', f)).catch(() => copyFile(join(from, f), join(root, 'debs', f)));
  }
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

async function sameBytes(a: string, b: string): Promise<boolean> {
  return (await readFile(a)).equals(await readFile(b));
}

describe('guest kit fresh build', () => {
  it('builds from the .debs alone, reproducing the shared kit byte for byte', async () => {
    const saved = process.env.HANGAR_GUEST_KIT_CACHE;
    process.env.HANGAR_GUEST_KIT_CACHE = root;
    const logs: string[] = [];
    let kit: GuestKit;
    try {
      kit = await ensureGuestKit({ log: (m) => logs.push(m) });
    } finally {
      if (saved === undefined) delete process.env.HANGAR_GUEST_KIT_CACHE;
      else process.env.HANGAR_GUEST_KIT_CACHE = saved;
    }
    expect(kit.dir.startsWith(root + '/')).toBe(true);
    expect(kit.dir.slice(root.length)).toBe(shared.dir.slice(shared.dir.lastIndexOf('/')));
    expect(logs[0]).toMatch(/^building kit for linux-image-\S+ \S+, busybox-static \S+$/);
    expect(logs.filter((l) => l.startsWith('using cached ') && l.endsWith('.deb'))).toHaveLength(4);
    expect(logs.some((l) => l.startsWith('downloading'))).toBe(false);
    expect(logs.at(-1)).toBe(`built: ${kit.dir}`);
    expect(await sameBytes(kit.kernel, shared.kernel)).toBe(true);
    expect(await sameBytes(kit.initramfs, shared.initramfs)).toBe(true);
    expect(await sameBytes(kit.iso, shared.iso)).toBe(true);
    // No temporary build folders or lock are left behind.
    expect((await readdir(root)).sort()).toEqual(['debs', kit.dir.slice(root.length + 1)].sort());
  });

  it('two concurrent builders produce one build and the same kit', async () => {
    const kitDirs = (await readdir(root)).filter((n) => n !== 'debs');
    for (const d of kitDirs) await rm(join(root, d), { recursive: true, force: true });
    const [a, b] = await Promise.all([script({ HANGAR_GUEST_KIT_CACHE: root }), script({ HANGAR_GUEST_KIT_CACHE: root })]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(JSON.parse(a.stdout)).toEqual(JSON.parse(b.stdout));
    const builds = [a, b].filter((r) => r.stderr.includes('guest-kit: building kit'));
    expect(builds).toHaveLength(1);
    expect(await sameBytes(JSON.parse(a.stdout).iso, shared.iso)).toBe(true);
  });

  it('without apt it uses the cached kit, and without a cached kit it names the missing tool', async () => {
    const offline = await script({ HANGAR_GUEST_KIT_CACHE: root, PATH: '/nonexistent' });
    expect(offline.code, offline.stderr).toBe(0);
    expect(JSON.parse(offline.stdout).dir.startsWith(root + '/')).toBe(true);
    expect(offline.stderr).toMatch(/'apt-cache' is not installed or not on PATH.*using the cached kit in /);

    const empty = await mkdtemp(join(tmpdir(), 'hangar-guest-kit-empty-'));
    try {
      const failed = await script({ HANGAR_GUEST_KIT_CACHE: empty, PATH: '/nonexistent' });
      expect(failed.code).toBe(1);
      expect(failed.stdout).toBe('');
      expect(failed.stderr).toContain("guest-kit: 'apt-cache' is not installed or not on PATH");
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
