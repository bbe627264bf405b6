// The interpreter CPU backend: `new Cpu(memoryBus, ioBus)` implements CpuCore.
import type { CpuCore } from '../cpu-api.ts';
import type { MemoryBus } from '../bus-memory.ts';
import type { IoBus } from '../bus-io.ts';
import { Cpu } from './cpu.ts';

export { Cpu } from './cpu.ts';
export { cpuid } from './system/cpuid.ts';

export function createInterpreterCpu(bus: MemoryBus, io: IoBus): CpuCore {
  return new Cpu(bus, io);
}
