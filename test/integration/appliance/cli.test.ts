// `hangar export` and `hangar import` as a user runs them: exit codes, the printed report,
// progress on stderr, --dry-run writing nothing, and Ctrl-C cleaning up.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Library } from '../../../src-core/library/library.ts';
import { REPO_ROOT } from '../../unit/appliance/fixtures.ts';
import { cleanup, leftovers, makeDataDisk, qemuImg, tempDir, vmWithDisks } from './helpers.ts';

const root = tempDir('appliance-cli');
afterAll(() => cleanup(root));
const BIN = join(REPO_ROOT, 'bin', 'hangar.mjs');

function hangar(home: string, ...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { env: { ...process.env, HANGAR_HOME: home }, encoding: 'utf8' });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('hangar export / import', () => {
  const home = join(root, 'home');
  const ova = join(root, 'web.ova');
  let disk = '';

  it('export prints progress and the files; ProductSection and EULA land in the descriptor', async () => {
    const vm = await vmWithDisks(new Library(home), 'web', 1);
    disk = vm.disks[0]!;
    writeFileSync(join(root, 'eula.txt'), 'You may not <sell> this & that.\n');
    const r = hangar(home, 'export', 'web', '-o', ova, '--vendor', 'ACME', '--product', 'Web Box', '--version', '3.1', '--eula', join(root, 'eula.txt'));
    expect(r.stderr).toMatch(/disk 1\/1 \(web\): 100%/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Exported 1 VM\(s\) to .*web\.ova\n  web\.ovf  \d+ bytes\n  web\.mf  \d+ bytes\n  web-disk1\.vmdk  \d+ bytes/);
    const ovf = execFileSync('tar', ['-xOf', ova, 'web.ovf'], { encoding: 'utf8' });
    expect(ovf).toContain('<ovf:Vendor>ACME</ovf:Vendor>');
    expect(ovf).toContain('<ovf:Version>3.1</ovf:Version>');
    expect(ovf).toContain('You may not &lt;sell&gt; this &amp; that.');
  });

  it('import --dry-run prints the report and the license and writes nothing', () => {
    const other = join(root, 'dry');
    const r = hangar(other, 'import', ova, '--dry-run');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Virtual system 0: "web"\n  mapped:\n    disk vmdisk1: web-disk1\.qcow2/);
    expect(r.stdout).toContain('License agreement:\nYou may not <sell> this & that.');
    expect(r.stdout).toContain('Dry run: nothing was written.');
    expect(spawnSync('ls', [join(other, 'Machines')]).status).not.toBe(0);
  });

  it('import with --name --memory --cpus --disk-format registers the VM with those settings', async () => {
    const other = join(root, 'imp');
    const r = hangar(other, 'import', ova, '--name', 'copy', '--memory', '256', '--cpus', '1', '--disk-format', 'vmdk', '--new-uuid');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/adjusted:\n(.*\n)*    memory: 256 MiB \(--memory \(the appliance says 768 MiB\)\)/);
    expect(r.stdout).toMatch(/Imported and registered .*copy\.hangar/);
    const vm = await new Library(other).get('copy');
    expect(vm.config).toMatchObject({ memoryMiB: 256, cpus: 1 });
    const a = vm.config.storage[0]!.attachments[0]!;
    expect(a).toMatchObject({ path: 'copy-disk1.vmdk', format: 'vmdk' });
    expect(qemuImg('compare', '-f', 'qcow2', '-F', 'vmdk', disk, join(vm.path, '..', a.path)).status).toBe(0);
  });

  it('failures: clear messages and exit codes, and a failed import leaves nothing', async () => {
    const other = join(root, 'fail');
    const whole = readFileSync(ova);
    writeFileSync(join(root, 'cut.ova'), whole.subarray(0, whole.length - 4096));
    const r = hangar(other, 'import', join(root, 'cut.ova'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/hangar: cut\.ova: truncated archive.*\nimport failed; everything it had written was removed/);
    expect(await leftovers(new Library(other))).toEqual([]);
    expect(hangar(other, 'import', join(root, 'cut.ova'), '--disk-format', 'raw').stderr).toMatch(/--disk-format: "raw" is not valid; allowed: qcow2, vdi, vmdk/);
    expect(hangar(home, 'export', 'nosuch', '-o', join(root, 'n.ova')).stderr).toMatch(/no VM named or with UUID "nosuch"/);
    const zip = hangar(home, 'export', 'web', '-o', join(root, 'n.zip'));
    expect([zip.status, zip.stderr]).toEqual([2, expect.stringMatching(/must end in \.ova or \.ovf/)]);
    expect(hangar(home, 'export', 'web', '-o', ova).stderr).toMatch(/already exists/);
  });

  it('Ctrl-C during an import stops it and removes what it wrote', async () => {
    const lib = new Library(join(root, 'big-home'));
    const { path } = await lib.create({ name: 'big', osType: 'Other_64' });
    const big = join(path, '..', 'big.qcow2');
    makeDataDisk(big, '1G', [[0x11, '0', '128M'], [0x22, '600M', '128M']]);
    await lib.modify('big', (c) => c.storage[0]!.attachments.push({ port: 0, type: 'disk', path: 'big.qcow2', format: 'qcow2' }));
    const bigOva = join(root, 'big.ova');
    expect(hangar(lib.home, 'export', 'big', '-o', bigOva).status).toBe(0);
    const other = join(root, 'intr');
    const child = spawn(process.execPath, [BIN, 'import', bigOva], { env: { ...process.env, HANGAR_HOME: other } });
    let err = '';
    const code = await new Promise<number | null>((done) => {
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        if (/converting big-disk1\.vmdk: \d+%/.test(err) && !child.killed) child.kill('SIGINT');
      });
      child.on('exit', (c) => done(c));
    });
    expect(code).toBe(1);
    expect(err).toMatch(/import interrupted\nimport failed; everything it had written was removed/);
    expect(await leftovers(new Library(other))).toEqual([]);
  });
});
