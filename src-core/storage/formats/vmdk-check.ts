// `disk check` for VMDK: the image must open (header, descriptor, footer, grain directory and
// extent files all valid), then every sparse extent audits its grain tables.
import { HangarError } from '../../api/errors.ts';
import type { CheckOptions, CheckResult } from '../format.ts';
import { SparseExtent } from './vmdk-sparse.ts';
import type { VmdkImage } from './vmdk.ts';

export async function checkVmdk(open: () => Promise<VmdkImage>, opts: CheckOptions = {}): Promise<CheckResult> {
  const res: CheckResult = { corruptions: 0, leaks: 0, messages: [] };
  let img: VmdkImage;
  try {
    img = await open();
  } catch (err) {
    if (err instanceof HangarError && err.code === 'corrupt') return { corruptions: 1, leaks: 0, messages: [err.message] };
    throw err;
  }
  try {
    for (const e of img.extentList()) {
      if (!(e instanceof SparseExtent)) continue;
      try {
        const r = await e.audit();
        res.corruptions += r.corruptions;
        res.leaks += r.leaks;
        res.messages.push(...r.messages);
      } catch (err) {
        if (!(err instanceof HangarError && err.code === 'corrupt')) throw err;
        res.corruptions++;
        res.messages.push(err.message);
      }
    }
    if (opts.repair && res.leaks > 0) res.messages.push('leaked space in a VMDK is not reclaimed (convert the image to compact it)');
    return res;
  } finally {
    await img.close();
  }
}
