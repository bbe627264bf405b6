// The import dialog's service calls on a real appliance: a VM exported with the appliance
// module, dry-run (report only, nothing written) and then imported under a new name.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportAppliance } from '../../../src-core/appliance/export.ts';
import type { HangarEvent } from '../../../src-core/api/service.ts';
import { Library } from '../../../src-core/library/library.ts';
import { dispatch } from '../../../src-core/server/dispatch.ts';
import { createHangarService } from '../../../src-core/server/lifecycle-service.ts';

const dir = mkdtempSync(join(tmpdir(), 'hangar-ova-'));
const lib = new Library(join(dir, 'home'));
const events: HangarEvent[] = [];
const handle = createHangarService(lib, { onEvent: (e) => events.push(e), pollMs: 0 });
afterAll(() => handle.close());

describe('appliance import through the service', () => {
  it('reports the mapping without writing, then imports and registers the VM', async () => {
    const { service } = handle;
    await lib.create({ name: 'Web', osType: 'Debian_64', memoryMiB: 384 });
    const ova = join(dir, 'web.ova');
    await exportAppliance({ library: lib, machines: ['Web'], output: ova });

    const dry = await service.importAppliance({ path: ova, dryRun: true, name: 'Web Copy', newUuid: true });
    expect(dry.registered).toEqual([]);
    expect(dry.systems).toHaveLength(1);
    expect(dry.systems[0]!.name).toBe('Web Copy');
    expect(dry.systems[0]!.entries.length).toBeGreaterThan(0);
    expect(dry.systems[0]!.entries.every((e) => ['mapped', 'adjusted', 'dropped'].includes(e.status))).toBe(true);
    expect(dry.systems[0]!.entries).toContainEqual(expect.objectContaining({ status: 'mapped', subject: 'configuration', detail: expect.stringContaining('384 MiB') }));
    expect(dry.systems[0]!.entries).toContainEqual(expect.objectContaining({ status: 'adjusted', subject: 'UUID' }));
    expect((await service.listMachines({})).map((m) => (m.accessible ? m.config.name : ''))).toEqual(['Web']);
    expect(events).toEqual([]);

    const done = await service.importAppliance({ path: ova, name: 'Web Copy', newUuid: true });
    expect(done.registered).toHaveLength(1);
    expect((await service.listMachines({})).map((m) => (m.accessible ? m.config.name : '')).sort()).toEqual(['Web', 'Web Copy']);
    expect(events).toContainEqual({ type: 'machines-changed' });
  });

  it('says what is wrong with a bad file or bad parameters', async () => {
    const missing = await dispatch(handle.service, 'importAppliance', { path: join(dir, 'nope.ova'), dryRun: true });
    expect(missing.ok).toBe(false);
    expect(missing.ok ? '' : missing.error.message).toContain('nope.ova');
    expect(await dispatch(handle.service, 'importAppliance', { path: '' })).toMatchObject({ ok: false, error: { code: 'usage' } });
    expect(await dispatch(handle.service, 'importAppliance', { path: 'x.ova', vsys: 'all' })).toMatchObject({ ok: false, error: { code: 'usage' } });
  });
});
