import { describe, expect, it } from 'vitest';
import type { StatsSample } from '../../../src-core/api/runtime.ts';
import { VM_STATE_NAMES, LIFECYCLE_ACTIONS } from '../../../src-core/api/runtime.ts';
import type { MachineEntry } from '../../../src-core/api/service.ts';
import { newMachineConfig } from '../../../src-core/library/defaults.ts';
import { OPERATIONS, VM_STATES } from '../../../src-core/vmm/states.ts';
import { actionForKey, actionTargets } from '../../../src-renderer/src/lib/lifecycle.ts';
import { appendSample, figures, toSeries } from '../../../src-renderer/src/lib/chart-data.ts';

function vm(name: string, state?: string): MachineEntry {
  const config = newMachineConfig({ name, osType: 'Linux_64' });
  return { uuid: config.uuid, path: `/vms/${name}/${name}.hangar`, accessible: true, config, ...(state ? { runtime: { state: state as 'Running' } } : {}) };
}

describe('lifecycle actions in the manager', () => {
  it('mirror the VMM: the same states and the same allowed-in table', () => {
    expect([...VM_STATE_NAMES]).toEqual([...VM_STATES]);
    const vmmName = { startMachine: 'start', pauseMachine: 'pause', resumeMachine: 'resume', resetMachine: 'reset', acpiPowerButton: 'acpi-powerbutton', powerOffMachine: 'poweroff', saveState: 'savestate', discardState: 'discardstate' } as const;
    for (const [a, states] of Object.entries(LIFECYCLE_ACTIONS)) expect([...states]).toEqual([...OPERATIONS[vmmName[a as keyof typeof vmmName]]]);
  });

  it('are enabled by the states of the selected VMs and apply only to the VMs they fit', () => {
    const off = vm('off');
    const run = vm('run', 'Running');
    const paused = vm('paused', 'Paused');
    const saved = vm('saved', 'Saved');
    const broken: MachineEntry = { uuid: 'b', path: '/x.hangar', accessible: false, error: 'damaged' };
    expect(actionTargets([off])).toMatchObject({ startMachine: [off.uuid], pauseMachine: [], powerOffMachine: [], discardState: [] });
    const t = actionTargets([off, run, paused, saved, broken]);
    expect(t.startMachine).toEqual([off.uuid, saved.uuid]);
    expect(t.pauseMachine).toEqual([run.uuid]);
    expect(t.resumeMachine).toEqual([paused.uuid]);
    expect(t.resetMachine).toEqual([run.uuid, paused.uuid]);
    expect(t.acpiPowerButton).toEqual([run.uuid]);
    expect(t.powerOffMachine).toEqual([run.uuid, paused.uuid]);
    expect(t.saveState).toEqual([run.uuid, paused.uuid]);
    expect(t.discardState).toEqual([saved.uuid]);
    expect(Object.values(actionTargets([broken])).flat()).toEqual([]);
  });

  it('map Ctrl+Shift shortcuts to actions and leave other keys alone', () => {
    const k = (key: string, o: Partial<{ ctrlKey: boolean; metaKey: boolean; shiftKey: boolean; altKey: boolean }> = {}) =>
      actionForKey({ key, ctrlKey: false, metaKey: false, shiftKey: true, altKey: false, ...o });
    expect(k('S', { ctrlKey: true })).toBe('startMachine');
    expect(k('f', { metaKey: true })).toBe('powerOffMachine');
    expect(k('H', { ctrlKey: true })).toBe('acpiPowerButton');
    expect(k('S')).toBeUndefined();
    expect(k('S', { ctrlKey: true, shiftKey: false })).toBeUndefined();
    expect(k('S', { ctrlKey: true, altKey: true })).toBeUndefined();
    expect(k('Z', { ctrlKey: true })).toBeUndefined();
  });
});

function sample(t: number, over: Partial<StatsSample> = {}): StatsSample {
  return { t, uptimeMs: t, instructions: t * 10, instructionsPerSec: 2_500_000, cpuPercent: 42.5, guestRamBytes: 256 << 20, rssBytes: 100 << 20, disk: null, net: null, ...over };
}

describe('monitor series', () => {
  it('keep missing counters missing: no disk or network means nulls, never zeros', () => {
    const s = toSeries([sample(1000), sample(2000)]);
    expect(s.cpu).toEqual([42.5, 42.5]);
    expect(s.guestMiB).toEqual([256, 256]);
    expect(s.mips).toEqual([2.5, 2.5]);
    expect(s.hasDisk).toBe(false);
    expect(s.diskReadKiBs).toEqual([null, null]);
    expect(s.netTxKiBs).toEqual([null, null]);
    expect(figures(sample(2000), sample(1000))).toMatchObject({ cpu: '42.5 %', disk: null, net: null, mips: '2.50 MIPS' });
    expect(figures(null)).toBeNull();
  });

  it('turn cumulative disk and network counters into rates per second', () => {
    const io = (r: number, w: number) => ({ readBytes: r, writeBytes: w, readOps: 0, writeOps: 0 });
    const s = toSeries([sample(1000, { disk: io(0, 0), net: { rxBytes: 0, txBytes: 0, rxPackets: 0, txPackets: 0 } }), sample(3000, { disk: io(4096, 2048), net: { rxBytes: 20480, txBytes: 0, rxPackets: 14, txPackets: 0 } })]);
    expect(s.hasDisk && s.hasNet).toBe(true);
    expect(s.diskReadKiBs).toEqual([null, 2]);
    expect(s.diskWriteKiBs).toEqual([null, 1]);
    expect(s.netRxKiBs).toEqual([null, 10]);
    expect(s.t).toEqual([1, 3]);
  });

  it('append live samples in order, drop replays and keep only the window', () => {
    let list: StatsSample[] = [];
    for (const t of [1000, 2000, 3000]) list = appendSample(list, sample(t), 3600);
    expect(appendSample(list, sample(2000), 3600)).toBe(list);
    const windowed = appendSample(list, sample(5000), 2);
    expect(windowed.map((x) => x.t)).toEqual([3000, 5000]);
  });
});
