import { describe, expect, it } from 'vitest';
import { bridgeTransport, BRIDGE_EVENTS_MESSAGE, type BridgeResult, type EventPortSource } from '../../../src-core/api/bridge.ts';
import { createClient } from '../../../src-core/api/client.ts';
import { HangarError } from '../../../src-core/api/errors.ts';
import type { HangarEvent } from '../../../src-core/api/service.ts';

describe('desktop bridge transport', () => {
  it('unwraps results, rebuilds HangarErrors with their codes and delivers events from the port', async () => {
    const calls: [string, unknown][] = [];
    const bridge = {
      async call(method: string, params: unknown): Promise<BridgeResult> {
        calls.push([method, params]);
        if (method === 'getMachine') return { ok: false, error: { code: 'not-found', message: 'no VM named or with UUID "x" (see hangar list)' } };
        if (method === 'hostInfo') return { ok: false, error: { code: 'bogus' as 'io', message: 'x' } };
        return { ok: true, result: [] };
      },
    };
    let onMessage: Parameters<EventPortSource['addEventListener']>[1] | undefined;
    const win: EventPortSource = { addEventListener: (_t, l) => (onMessage = l) };
    const client = createClient(bridgeTransport(bridge, win));
    expect(await client.listMachines({})).toEqual([]);
    const err = await client.getMachine({ ref: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HangarError);
    expect(err).toMatchObject({ code: 'not-found', message: 'no VM named or with UUID "x" (see hangar list)' });
    expect(await client.hostInfo({}).catch((e: unknown) => e)).toMatchObject({ code: 'internal' });
    expect(calls.map((c) => c[0])).toEqual(['listMachines', 'getMachine', 'hostInfo']);

    const seen: HangarEvent[] = [];
    client.onEvent((e) => seen.push(e));
    const port = { onmessage: null as ((e: { data: unknown }) => void) | null, started: false, start() { this.started = true; } };
    onMessage!({ data: 'something else', ports: [port] });
    expect(port.onmessage).toBeNull();
    onMessage!({ data: BRIDGE_EVENTS_MESSAGE, ports: [port] });
    expect(port.started).toBe(true);
    port.onmessage!({ data: { type: 'machines-changed', uuid: 'u' } });
    expect(seen).toEqual([{ type: 'machines-changed', uuid: 'u' }]);
  });
});
