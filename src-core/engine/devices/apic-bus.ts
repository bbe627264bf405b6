// The APIC "bus": how interrupt messages travel from IOAPIC pins and ICR writes to local APICs,
// and how EOIs for level-triggered vectors travel back to the IOAPIC. Destination decoding
// (physical, flat and cluster logical, shorthands) lives here so both senders agree on it.

export const enum DeliveryMode {
  Fixed = 0,
  LowestPriority = 1,
  Smi = 2,
  Nmi = 4,
  Init = 5,
  Startup = 6,
  ExtInt = 7,
}

export interface ApicMessage {
  vector: number;
  deliveryMode: number;
  /** true: logical destination mode. */
  logical: boolean;
  destination: number;
  level: boolean; // trigger mode: true = level
  /** 0 none, 1 self, 2 all including self, 3 all excluding self. */
  shorthand: number;
  /** APIC id of the sender for shorthands (-1 from the IOAPIC). */
  sourceId: number;
}

/** What the bus needs from a local APIC. */
export interface ApicTarget {
  readonly apicId: number;
  matchesLogical(dest: number): boolean;
  /** Task priority for lowest-priority arbitration. */
  arbitrationPriority(): number;
  receive(msg: ApicMessage): void;
}

export class ApicBus {
  readonly targets: ApicTarget[] = [];
  /** Level-triggered EOI listeners (the IOAPIC). */
  private eoiListeners: ((vector: number) => void)[] = [];

  attach(t: ApicTarget): void {
    this.targets.push(t);
  }

  onEoi(cb: (vector: number) => void): void {
    this.eoiListeners.push(cb);
  }

  broadcastEoi(vector: number): void {
    for (const cb of this.eoiListeners) cb(vector);
  }

  /** Local APICs a message is addressed to. */
  resolve(msg: ApicMessage): ApicTarget[] {
    switch (msg.shorthand) {
      case 1:
        return this.targets.filter((t) => t.apicId === msg.sourceId);
      case 2:
        return this.targets.slice();
      case 3:
        return this.targets.filter((t) => t.apicId !== msg.sourceId);
    }
    if (msg.logical) return this.targets.filter((t) => t.matchesLogical(msg.destination));
    if (msg.destination === 0xff) return this.targets.slice(); // physical broadcast
    return this.targets.filter((t) => t.apicId === msg.destination);
  }

  deliver(msg: ApicMessage): void {
    let dests = this.resolve(msg);
    if (msg.deliveryMode === DeliveryMode.LowestPriority && dests.length > 1) {
      // Pick the APIC with the lowest arbitration priority (ties: lowest id).
      let best = dests[0]!;
      for (const d of dests) if (d.arbitrationPriority() < best.arbitrationPriority()) best = d;
      dests = [best];
    }
    for (const d of dests) d.receive(msg);
  }
}
