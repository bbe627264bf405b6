// Debian package access for the guest kit, without root: versions come from apt-cache, packages
// from `apt-get download` (which only needs a writable working directory), and contents from
// `dpkg-deb`. Nothing is installed on the host.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { run, runOk } from './run.ts';

export interface PackageRef {
  name: string;
  version: string;
}

const APT_HINT = 'the guest kit needs apt on a Debian 12 host';

/**
 * Candidate versions apt would download, for several packages in one apt-cache run (each run
 * costs about a second here while apt rebuilds its cache). A package apt does not know maps to
 * null.
 */
export async function candidateVersions(names: readonly string[]): Promise<Map<string, string | null>> {
  const r = await run('apt-cache', ['policy', ...names], { hint: APT_HINT });
  if (r.code !== 0) {
    throw new Error(`guest-kit: 'apt-cache policy ${names.join(' ')}' failed (exit ${r.code}): ${r.stderr.trim()}`);
  }
  const found = new Map<string, string | null>(names.map((n) => [n, null]));
  // Output: one block per known package, "name:" at column 0, then "  Candidate: X".
  let current: string | null = null;
  for (const line of r.stdout.split('\n')) {
    const head = /^(\S+):\s*$/.exec(line);
    if (head) {
      current = head[1]!;
      continue;
    }
    const cand = /^\s+Candidate:\s*(\S+)\s*$/.exec(line);
    if (cand && current !== null && found.has(current) && cand[1] !== '(none)') found.set(current, cand[1]!);
  }
  return found;
}

/** The candidate version apt would download for `name`, or null when apt does not know it. */
export async function candidateVersion(name: string): Promise<string | null> {
  return (await candidateVersions([name])).get(name) ?? null;
}

/**
 * Makes sure apt's package lists are present. On a fresh machine apt-cache knows nothing until
 * `apt-get update` has run once; that needs root, so a non-root user gets told what to run.
 */
export async function ensureAptLists(probe: string, log: (msg: string) => void): Promise<void> {
  if ((await candidateVersion(probe)) !== null) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `guest-kit: apt does not know the package '${probe}'; its package lists look empty. ` +
        `Run 'apt-get update' as root once, then retry.`,
    );
  }
  log(`apt does not know '${probe}': running apt-get update`);
  await runOk('apt-get', ['update', '-q'], { hint: APT_HINT });
}

function unavailable(name: string): Error {
  return new Error(
    `guest-kit: the Debian package '${name}' is not available from apt (no candidate version; ` +
      `check /etc/apt/sources.list and run 'apt-get update')`,
  );
}

/** Resolves packages to the versions apt would download; throws naming the first missing one. */
export async function resolvePackages(names: readonly string[]): Promise<PackageRef[]> {
  const versions = await candidateVersions(names);
  return names.map((name) => {
    const version = versions.get(name);
    if (!version) throw unavailable(name);
    return { name, version };
  });
}

export async function resolvePackage(name: string): Promise<PackageRef> {
  return (await resolvePackages([name]))[0]!;
}

/**
 * The stock kernel: `linux-image-amd64` is a metapackage whose first dependency names the
 * versioned image package (e.g. linux-image-6.1.0-56-amd64), the one that carries the kernel.
 * Returns the package name, or null when apt does not know the metapackage at all.
 */
export async function kernelPackageName(meta = 'linux-image-amd64'): Promise<string | null> {
  const r = await run('apt-cache', ['depends', meta], { hint: APT_HINT });
  if (r.code !== 0) {
    if (/No packages found/i.test(r.stderr)) return null;
    throw new Error(`guest-kit: 'apt-cache depends ${meta}' failed: ${r.stderr.trim() || `exit ${r.code}`}`);
  }
  const m = /^\s*Depends:\s*(linux-image-\S+)\s*$/m.exec(r.stdout);
  if (!m) throw new Error(`guest-kit: '${meta}' names no versioned linux-image package in its dependencies`);
  return m[1]!;
}

/** apt-get download writes the epoch colon as %3a; cached files use the same name. */
function debPrefix(ref: PackageRef): string {
  return `${ref.name}_${ref.version.replace(/:/g, '%3a')}_`;
}

/**
 * Downloads `ref` into `debDir` unless a .deb of that exact version is already there. The file
 * lands in a private temporary folder first and is renamed in, so an interrupted download never
 * leaves a truncated .deb under the cached name.
 */
export async function downloadDeb(ref: PackageRef, debDir: string, log: (msg: string) => void): Promise<string> {
  await mkdir(debDir, { recursive: true });
  const prefix = debPrefix(ref);
  const existing = (await readdir(debDir)).find((f) => f.startsWith(prefix) && f.endsWith('.deb'));
  if (existing) {
    log(`using cached ${existing}`);
    return join(debDir, existing);
  }
  log(`downloading ${ref.name} ${ref.version}`);
  const tmp = await mkdtemp(join(debDir, '.download-'));
  try {
    const r = await run('apt-get', ['download', '-q', `${ref.name}=${ref.version}`], { cwd: tmp, hint: APT_HINT });
    if (r.code !== 0) {
      throw new Error(
        `guest-kit: could not download the Debian package ${ref.name}=${ref.version} with apt-get ` +
          `(exit ${r.code}): ${r.stderr.trim().split('\n').slice(-4).join(' | ')}`,
      );
    }
    const got = (await readdir(tmp)).filter((f) => f.endsWith('.deb'));
    if (got.length !== 1) throw new Error(`guest-kit: apt-get download ${ref.name} produced ${got.length} .deb files`);
    const dest = join(debDir, got[0]!);
    await rename(join(tmp, got[0]!), dest);
    return dest;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Extracts members of a .deb's data archive into `dest` (like `dpkg -x`, without root). With
 * `patterns`, only matching paths are unpacked: the kernel package holds 400 MB of modules the
 * kit does not need.
 */
export async function extractDeb(deb: string, dest: string, patterns: readonly string[] = []): Promise<void> {
  await mkdir(dest, { recursive: true });
  if (patterns.length === 0) {
    await runOk('dpkg-deb', ['-x', deb, dest], { hint: 'dpkg-deb comes with dpkg' });
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const deb2tar = spawn('dpkg-deb', ['--fsys-tarfile', deb], { stdio: ['ignore', 'pipe', 'pipe'] });
    // '*' stays within one folder, so a pattern for one driver folder does not pull in its
    // subfolders (the kernel package has hundreds of them).
    const tar = spawn('tar', ['-x', '-C', dest, '--wildcards', '--no-wildcards-match-slash', ...patterns], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let errText = '';
    deb2tar.stderr.on('data', (b: Buffer) => (errText += b.toString()));
    tar.stderr.on('data', (b: Buffer) => (errText += b.toString()));
    deb2tar.stdout.pipe(tar.stdin);
    // tar may stop reading early once all members were found; that is not an error.
    tar.stdin.on('error', () => {});
    let pending = 2;
    let failed = false;
    const done = (what: string) => (code: number | null) => {
      if (code !== 0 && !failed && !(what === 'dpkg-deb' && code === null)) {
        failed = true;
        reject(new Error(`guest-kit: extracting ${patterns.join(' ')} from ${deb} failed (${what} exit ${code}): ${errText.trim()}`));
      }
      if (--pending === 0 && !failed) resolve();
    };
    deb2tar.on('error', reject);
    tar.on('error', reject);
    deb2tar.on('close', done('dpkg-deb'));
    tar.on('close', done('tar'));
  });
}
