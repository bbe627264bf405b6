// One writer per image across real processes (lock-holder.ts is the other process): a second
// writer, resize and check --repair are refused with the holder's pid while readers still work;
// the lock goes when the holder closes the image or is killed; of several processes racing for a
// stale lock exactly one wins.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { FormatName } from '../../../src-core/storage/format.ts';
import { lockPathFor } from '../../../src-core/storage/image-lock.ts';
import { openImage, requireFormat } from '../../../src-core/storage/open.ts';
import { checkImage } from '../../../src-core/storage/tools/check.ts';
import { imageInfo } from '../../../src-core/storage/tools/info.ts';
import { resizeImage } from '../../../src-core/storage/tools/resize.ts';
import { runHangar } from '../../helpers/cli.ts';
import { tempDir } from '../../unit/storage/helpers.ts';

const HOLDER = fileURLToPath(new URL('./lock-holder.ts', import.meta.url));
const t = tempDir('lock-int');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  t.cleanup();
});

interface Holder {
  child: ChildProcess;
  /** Resolves with the holder's first line: "held" or "refused …". */
  first: Promise<string>;
  exited: Promise<void>;
  output: () => string;
}

function startHolder(format: FormatName, image: string): Holder {
  const child = spawn(process.execPath, ['--import', 'tsx', HOLDER, format, image], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  const first = new Promise<string>((res, rej) => {
    child.stdout!.on('data', (d) => {
      out += String(d);
      if (out.includes('\n')) res(out.split('\n')[0]!);
    });
    child.stderr!.on('data', (d) => (err += String(d)));
    void exited.then(() => (out.includes('\n') ? undefined : rej(new Error(`holder exited: ${err}`))));
  });
  return { child, first, exited, output: () => out };
}

async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e as { code?: string; message?: string },
  );
  expect(err?.code).toBe('locked');
  return err!.message!;
}

describe('image lock between processes', () => {
  for (const format of ['qcow2', 'vdi', 'vhd', 'vmdk', 'raw'] as FormatName[]) {
    it(`${format}: a second writer is refused with the holder's pid; readers work; closing frees it`, async () => {
      const img = t.file(`held.${format}`);
      await requireFormat(format).create(img, 4 << 20);
      const h = startHolder(format, img);
      expect(await h.first).toBe('held');
      const pid = h.child.pid!;

      expect(await refusal(openImage(img, format))).toBe(`image ${img} is in use by process ${pid}; close it there first (lock file ${img}.lock)`);
      if (format !== 'vmdk') expect(await refusal(resizeImage(img, 8 << 20, { format }))).toContain(`in use by process ${pid}`);
      // VDI and VHD repairs open the image for writing up front (qcow2 only once it finds damage).
      if (format === 'vdi' || format === 'vhd') expect(await refusal(checkImage(img, { format, repair: true }))).toContain(`in use by process ${pid}`);
      // Read-only users are not locked out: info, check without repair, a reader.
      expect((await imageInfo(img, { format })).virtualSize).toBe(4 << 20);
      if (format !== 'raw') expect((await checkImage(img, { format })).corruptions).toBe(0);
      const reader = await openImage(img, format, { readOnly: true });
      const b = new Uint8Array(512);
      await reader.read(b, 0);
      expect(b[0]).toBe(pid & 0xff); // the holder's flushed write
      await reader.close();

      h.child.stdin!.write('close\n');
      await h.exited;
      expect(h.output()).toContain('closed');
      expect(existsSync(lockPathFor(img))).toBe(false);
      const mine = await openImage(img, format);
      await mine.close();
    }, 120_000);
  }

  it('hangar disk resize tells the user which process holds the image', async () => {
    const img = t.file('cli.vdi');
    await requireFormat('vdi').create(img, 4 << 20);
    const h = startHolder('vdi', img);
    expect(await h.first).toBe('held');
    const r = await runHangar(['disk', 'resize', img, '8M']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`hangar: image ${img} is in use by process ${h.child.pid}; close it there first (lock file ${img}.lock)\n`);
    h.child.stdin!.end();
    await h.exited;
    expect((await imageInfo(img)).virtualSize).toBe(4 << 20); // untouched
  }, 120_000);

  it('a killed holder leaves a stale lock that the next writer takes over', async () => {
    const img = t.file('killed.qcow2');
    await requireFormat('qcow2').create(img, 4 << 20);
    const h = startHolder('qcow2', img);
    expect(await h.first).toBe('held');
    h.child.kill('SIGKILL');
    await h.exited;
    expect(existsSync(lockPathFor(img))).toBe(true); // SIGKILL: nothing could clean up
    const mine = await openImage(img, 'qcow2');
    await mine.write(new Uint8Array(512).fill(1), 512);
    await mine.close();
    expect(existsSync(lockPathFor(img))).toBe(false);
    expect((await checkImage(img, { format: 'qcow2' })).corruptions).toBe(0);
  }, 120_000);

  it('of several processes racing for a stale lock, exactly one gets the image', async () => {
    const img = t.file('race.vdi');
    await requireFormat('vdi').create(img, 4 << 20);
    // A stale lock: a pid that cannot be alive on this host (beyond pid_max).
    writeFileSync(lockPathFor(img), `${JSON.stringify({ pid: 2 ** 30, host: hostname(), token: 'dead' })}\n`);
    const racers = Array.from({ length: 4 }, () => startHolder('vdi', img));
    const answers = await Promise.all(racers.map((r) => r.first));
    const winners = racers.filter((_, i) => answers[i] === 'held');
    expect(winners).toHaveLength(1);
    const winner = winners[0]!.child.pid!;
    for (const a of answers) if (a !== 'held') expect(a).toContain(`refused locked image ${img} is in use by process ${winner};`);
    for (const r of racers) r.child.stdin!.end();
    await Promise.all(racers.map((r) => r.exited));
    expect(existsSync(lockPathFor(img))).toBe(false);
  }, 180_000);
});
