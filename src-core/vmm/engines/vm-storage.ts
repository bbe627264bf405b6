// A VM's configured storage, opened and attached to the engine's IDE controller (PIIX3,
// four positions). IDE controller port n is position n (0 primary master ... 3 secondary
// slave). The engine has no AHCI, SCSI or virtio-blk controller yet, so media on controllers
// of those types are placed on the IDE positions left free, in configuration order, and a
// warning says so; media that do not fit are left out, with a warning.
//
// Also here: changing the optical medium of a running VM (attach-media / detach-media on the
// control socket), the disk counters for statistics, draining I/O before a save, and closing
// (flushing) every image when the VM stops.
import { stat } from 'node:fs/promises';
import { HangarError } from '../../api/errors.ts';
import type { Machine } from '../../engine/machine.ts';
import { POSITION_NAMES, type IdePosition } from '../../engine/devices/ide-controller.ts';
import type { AtapiCdrom } from '../../engine/devices/atapi-cdrom.ts';
import type { BlockDevice } from '../../storage/block-device.ts';
import { openImage } from '../../storage/open.ts';
import type { MachineConfig } from '../../library/config.ts';
import { resolveMachinePath } from '../../library/library.ts';
import type { IoCounters } from '../stats.ts';

export interface AttachedDrive {
  controller: string;
  port: number;
  position: IdePosition;
  type: 'disk' | 'optical';
  /** Image path as configured (resolved to absolute), '' for an empty optical drive. */
  path: string;
}

export class VmStorage {
  readonly drives: AttachedDrive[] = [];
  readonly warnings: string[] = [];
  private readonly open = new Set<BlockDevice>();

  private constructor(private readonly machine: Machine, private readonly configPath: string) {}

  /** Open every configured image and attach it. On failure, images opened so far are closed. */
  static async open(machine: Machine, cfg: MachineConfig, configPath: string): Promise<VmStorage> {
    const s = new VmStorage(machine, configPath);
    try {
      await s.attachConfigured(cfg);
    } catch (err) {
      await s.close();
      throw err;
    }
    return s;
  }

  private async attachConfigured(cfg: MachineConfig): Promise<void> {
    const free = new Set<IdePosition>([0, 1, 2, 3]);
    const ide = cfg.storage.filter((c) => c.type === 'ide');
    const others = cfg.storage.filter((c) => c.type !== 'ide');
    const wanted: { ctl: string; type: string; port: number; a: MachineConfig['storage'][number]['attachments'][number]; pos?: IdePosition }[] = [];
    for (const c of ide) {
      for (const a of c.attachments) {
        const pos = a.port as IdePosition;
        if (!free.has(pos)) throw new HangarError('invalid-config', `storage ${c.name} port ${a.port}: the IDE position ${POSITION_NAMES[pos] ?? a.port} is taken twice`);
        free.delete(pos);
        wanted.push({ ctl: c.name, type: c.type, port: a.port, a, pos });
      }
    }
    for (const c of others) {
      for (const a of c.attachments) {
        const pos = [...free][0];
        if (pos === undefined) {
          this.warnings.push(`storage ${c.name} port ${a.port} (${a.type} ${a.path || 'empty'}): the engine has no ${c.type} controller and every IDE position is taken; the guest will not see this medium`);
          continue;
        }
        free.delete(pos);
        this.warnings.push(`storage ${c.name} port ${a.port} (${a.type} ${a.path || 'empty'}): the engine has no ${c.type} controller yet; attached to the IDE ${POSITION_NAMES[pos]} instead`);
        wanted.push({ ctl: c.name, type: c.type, port: a.port, a, pos });
      }
    }
    for (const w of wanted) {
      const pos = w.pos!;
      const path = w.a.path ? resolveMachinePath(this.configPath, w.a.path) : '';
      if (w.a.type === 'disk') {
        const img = await openImage(path, w.a.format ?? 'raw', { readOnly: w.a.readOnly === true }).catch((err: Error) => {
          throw new HangarError('io', `storage ${w.ctl} port ${w.port}: cannot open disk ${path}: ${err.message}`);
        });
        this.open.add(img);
        this.machine.ide.attachDisk(pos, img);
      } else {
        const img = path ? await this.openOptical(path, `storage ${w.ctl} port ${w.port}`) : undefined;
        this.machine.ide.attachCdrom(pos, img, path);
      }
      this.drives.push({ controller: w.ctl, port: w.port, position: pos, type: w.a.type, path });
    }
  }

  private async openOptical(path: string, what: string): Promise<BlockDevice> {
    const size = await stat(path).then((st) => (st.isFile() ? st.size : -1), (err: Error) => {
      throw new HangarError('io', `${what}: cannot open ${path}: ${err.message}`);
    });
    if (size < 0) throw new HangarError('usage', `${what}: ${path} is not a file; give the path of an ISO image`);
    if (size % 2048 !== 0) {
      throw new HangarError('usage', `${what}: ${path} is ${size} bytes, not a whole number of 2048-byte CD sectors; is it an ISO image?`);
    }
    const img = await openImage(path, 'raw', { readOnly: true }).catch((err: Error) => {
      throw new HangarError('io', `${what}: cannot open ${path}: ${err.message}`);
    });
    this.open.add(img);
    return img;
  }

  /** One log line per attached drive. */
  describe(): string[] {
    return this.drives.map((d) => `storage ${d.controller} port ${d.port}: ${d.type} ${d.path || '(empty drive)'} on the IDE ${POSITION_NAMES[d.position]}`);
  }

  /** Wake-up hook for the run loop: an image operation finished. */
  set onActivity(cb: (() => void) | undefined) {
    this.machine.ide.onActivity = cb;
  }

  private optical(cmd: string, controller: string, port: number): { drive: AttachedDrive; cd: AtapiCdrom } {
    const drive = this.drives.find((d) => d.controller === controller && d.port === port);
    if (!drive) {
      const known = this.drives.map((d) => `${d.controller} port ${d.port} (${d.type})`).join(', ') || 'none';
      throw new HangarError('usage', `${cmd}: no drive at controller "${controller}" port ${port}; attached drives: ${known}`);
    }
    if (drive.type !== 'optical') {
      throw new HangarError('unsupported', `${cmd}: ${controller} port ${port} is a hard disk; only optical drives can change media while the VM runs`);
    }
    return { drive, cd: this.machine.ide.drive(drive.position) as AtapiCdrom };
  }

  /** Insert an ISO into a running VM's optical drive (replacing any disc in it). */
  async attachMedia(controller: string, port: number, path: string): Promise<{ controller: string; port: number; path: string; replaced: string }> {
    const { drive, cd } = this.optical('attach-media', controller, port);
    const abs = resolveMachinePath(this.configPath, path);
    const img = await this.openOptical(abs, 'attach-media');
    const replaced = drive.path;
    await this.release(cd.eject());
    cd.insert(img, abs);
    drive.path = abs;
    return { controller, port, path: abs, replaced };
  }

  /** Take the disc out of a running VM's optical drive. */
  async detachMedia(controller: string, port: number): Promise<{ controller: string; port: number; removed: string }> {
    const { drive, cd } = this.optical('detach-media', controller, port);
    const removed = drive.path;
    await this.release(cd.eject());
    drive.path = '';
    return { controller, port, removed };
  }

  private async release(img: BlockDevice | undefined): Promise<void> {
    for (const ej of this.ejectedByGuest()) await this.closeOne(ej);
    if (img) {
      await this.machine.ide.drain();
      await this.closeOne(img);
    }
  }

  /** Discs the guest ejected itself (START STOP UNIT) are closed here. */
  private ejectedByGuest(): BlockDevice[] {
    const out: BlockDevice[] = [];
    for (const d of this.drives) {
      if (d.type !== 'optical') continue;
      const cd = this.machine.ide.drive(d.position) as AtapiCdrom;
      if (!cd.medium) d.path = '';
      out.push(...cd.ejected.splice(0));
    }
    return out;
  }

  private async closeOne(img: BlockDevice): Promise<void> {
    if (!this.open.delete(img)) return;
    await img.close().catch(() => {});
  }

  /** Sum of every drive's counters, or null when the VM has no drives (statistics). */
  counters(): IoCounters | null {
    if (this.drives.length === 0) return null;
    return this.machine.ide.counters();
  }

  /** Resolves when no image operation is in flight. */
  drain(): Promise<void> {
    return this.machine.ide.drain();
  }

  /**
   * Before restoring a saved state: put back the discs that were in the optical drives when it
   * was saved (they may differ from the configuration after attach-media).
   */
  async restoreMedia(savedMachine: Record<string, unknown>): Promise<void> {
    const ide = (savedMachine.devices as Record<string, Record<string, unknown>> | undefined)?.ide;
    const channels = ide?.channels as { drives: ({ kind: string; state: { mediumPath?: string } } | null)[] }[] | undefined;
    if (!channels) return;
    for (const d of this.drives) {
      if (d.type !== 'optical') continue;
      const saved = channels[d.position >> 1]?.drives[d.position & 1];
      const want = saved?.kind === 'cdrom' ? saved.state.mediumPath ?? '' : d.path;
      if (want === d.path) continue;
      const cd = this.machine.ide.drive(d.position) as AtapiCdrom;
      await this.release(cd.eject());
      if (want) cd.insert(await this.openOptical(want, 'restore'), want);
      d.path = want;
    }
  }

  /** Let in-flight I/O finish, flush and close every image. */
  async close(): Promise<void> {
    await this.machine.ide.drain().catch(() => {});
    for (const img of [...this.open]) await this.closeOne(img);
  }
}
