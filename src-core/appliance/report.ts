// The mapping report an import prints: for every piece of OVF hardware, whether it mapped
// as is, was adjusted (and why), or was dropped (and why). Tests and the GUI read the entries;
// the CLI prints format().

export type MappingStatus = 'mapped' | 'adjusted' | 'dropped';

export interface MappingEntry {
  status: MappingStatus;
  /** What the entry is about: "CPUs", "memory", "disk vmdisk1", "item 7 (sound)". */
  subject: string;
  /** What it became in Hangar (mapped/adjusted) or what it was (dropped). */
  detail: string;
  /** Why it was adjusted or dropped. */
  reason?: string;
}

export class MappingReport {
  readonly entries: MappingEntry[] = [];

  mapped(subject: string, detail: string): void {
    this.entries.push({ status: 'mapped', subject, detail });
  }

  adjusted(subject: string, detail: string, reason: string): void {
    this.entries.push({ status: 'adjusted', subject, detail, reason });
  }

  dropped(subject: string, detail: string, reason: string): void {
    this.entries.push({ status: 'dropped', subject, detail, reason });
  }

  of(status: MappingStatus): MappingEntry[] {
    return this.entries.filter((e) => e.status === status);
  }

  format(title: string): string {
    const lines = [title];
    for (const status of ['mapped', 'adjusted', 'dropped'] as const) {
      const list = this.of(status);
      if (!list.length) continue;
      lines.push(`  ${status}:`);
      for (const e of list) lines.push(`    ${e.subject}: ${e.detail}${e.reason ? ` (${e.reason})` : ''}`);
    }
    return lines.join('\n') + '\n';
  }
}
