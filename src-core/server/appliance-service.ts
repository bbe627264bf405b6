// Appliance import for the GUI's import dialog: the same import as `hangar import`, its
// mapping report returned as data (dry run first, then the import itself).
import { resolve } from 'node:path';
import type { ApplianceImport } from '../api/runtime.ts';
import type { ServiceParams } from '../api/service.ts';
import { importAppliance } from '../appliance/import.ts';
import type { Library } from '../library/library.ts';

export async function importApplianceFile(library: Library, p: ServiceParams['importAppliance']): Promise<ApplianceImport> {
  const res = await importAppliance({
    file: resolve(p.path),
    library,
    dryRun: p.dryRun,
    ...(p.name !== undefined ? { name: p.name } : {}),
    ...(p.newUuid ? { newUuid: true } : {}),
  });
  return {
    systems: res.plans.map((x) => ({
      vsys: x.vsys,
      name: x.plan.config.name,
      entries: x.plan.report.entries.map((e) => ({ ...e })),
      eulas: [...x.eulas],
    })),
    registered: [...res.registered],
    notes: [...res.notes],
  };
}
