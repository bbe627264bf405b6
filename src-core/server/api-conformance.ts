// Compile-time proof that the service API's copies of the configuration model and the edit
// list are the library's, field for field. If either side changes alone, typecheck fails here.
import type * as Api from '../api/machine.ts';
import type { MachineEdit as ApiEdit } from '../api/edits.ts';
import type * as Lib from '../library/config.ts';
import type { MachineEdit as LibEdit } from '../library/edits.ts';
import type { OsPreset } from '../library/presets.ts';
import type { MachineListing as LibListing } from '../library/library.ts';

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
function same<T extends true>(): T | undefined {
  return undefined;
}

same<Same<Api.MachineConfig, Lib.MachineConfig>>();
same<Same<ApiEdit, LibEdit>>();
same<Same<Api.OsType, OsPreset>>();
same<Same<Api.MachineListing, LibListing>>();
same<Same<Api.FirmwareType, Lib.FirmwareType>>();
same<Same<Api.SerialPortName, Lib.SerialPortName>>();
