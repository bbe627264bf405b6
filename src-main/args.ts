// What the desktop app was asked to open: `.hangar` and `.ova` files given on the command line
// (double-click on Linux and Windows, or a second launch). Chromium/Electron switches and
// the app path Electron puts in argv are not files to open.

export interface LaunchRequest {
  /** VM configuration files to register (and, with the VMM, start). */
  machines: string[];
  /** Appliances for the import flow. */
  appliances: string[];
  /** Arguments that are neither switches nor files Hangar opens. */
  ignored: string[];
}

/**
 * Parse argv as Electron gives it. `skip` is how many leading entries are the executable and,
 * when not packaged, the app folder (Electron: 1 packaged, 2 in development).
 */
export function parseLaunchArgs(argv: readonly string[], skip: number): LaunchRequest {
  const out: LaunchRequest = { machines: [], appliances: [], ignored: [] };
  let afterDashes = false;
  for (const arg of argv.slice(skip)) {
    if (!afterDashes && arg === '--') {
      afterDashes = true;
      continue;
    }
    if (!afterDashes && arg.startsWith('-')) continue; // --no-sandbox, --enable-logging, -psn_0_1 (macOS)
    const lower = arg.toLowerCase();
    if (lower.endsWith('.hangar')) out.machines.push(arg);
    else if (lower.endsWith('.ova')) out.appliances.push(arg);
    else out.ignored.push(arg);
  }
  return out;
}

/** How many argv entries precede the user's arguments. */
export function argvSkip(isPackaged: boolean): number {
  return isPackaged ? 1 : 2;
}
