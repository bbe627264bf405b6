// CIM_OperatingSystem OsType ids (the ovf:id of an OperatingSystemSection) to and from Hangar's OS
// types. Ids are those of the CIM schema as VirtualBox and VMware write them; only the ones that
// lead to a Hangar type are listed, everything else maps to Other / Other_64 with a reason.

/** Export: the CIM id and description written for each Hangar OS type. */
export const OS_TO_CIM: Record<string, { id: number; description: string }> = {
  Linux_64: { id: 101, description: 'Linux (64-bit)' },
  Debian_64: { id: 96, description: 'Debian (64-bit)' },
  Ubuntu_64: { id: 94, description: 'Ubuntu (64-bit)' },
  // CIM has no Fedora id; VirtualBox writes the generic 64-bit Linux one too.
  Fedora_64: { id: 101, description: 'Fedora (64-bit)' },
  Windows10_64: { id: 120, description: 'Microsoft Windows 10 (64-bit)' },
  // No Windows 11 id exists in the CIM schema revisions tools read; 10 (64-bit) is the nearest.
  Windows11_64: { id: 120, description: 'Microsoft Windows 11 (64-bit)' },
  FreeDOS: { id: 14, description: 'MS-DOS compatible (FreeDOS)' },
  Other: { id: 1, description: 'Other' },
  Other_64: { id: 102, description: 'Other (64-bit)' },
};

interface CimEntry {
  osType: string;
  /** Why the mapping is approximate; undefined when exact. */
  note?: string;
}

const LINUX32 = 'Hangar has no 32-bit Linux type; using Linux (64-bit)';
const LINUX_GENERIC = 'this distribution has no Hangar type of its own; using Linux (64-bit)';
const WINDOWS_OLD = 'Hangar\'s only Windows types are 10 and 11; using Windows 10 (64-bit)';

const CIM: Record<number, CimEntry> = {
  0: { osType: 'Other', note: 'the OS is declared unknown' },
  1: { osType: 'Other' },
  14: { osType: 'FreeDOS', note: 'MS-DOS maps to Hangar\'s DOS type, FreeDOS' },
  36: { osType: 'Linux_64', note: 'generic Linux (CIM does not say 32 or 64-bit); using Linux (64-bit)' },
  93: { osType: 'Ubuntu_64', note: LINUX32.replace('Linux (64-bit)', 'Ubuntu (64-bit)') },
  94: { osType: 'Ubuntu_64' },
  95: { osType: 'Debian_64', note: LINUX32.replace('Linux (64-bit)', 'Debian (64-bit)') },
  96: { osType: 'Debian_64' },
  97: { osType: 'Linux_64', note: LINUX32 },
  98: { osType: 'Linux_64' },
  99: { osType: 'Linux_64', note: LINUX32 },
  100: { osType: 'Linux_64' },
  101: { osType: 'Linux_64' },
  102: { osType: 'Other_64' },
  105: { osType: 'Windows10_64', note: WINDOWS_OLD },
  113: { osType: 'Windows10_64', note: WINDOWS_OLD },
  114: { osType: 'Windows10_64', note: WINDOWS_OLD },
  116: { osType: 'Windows10_64', note: WINDOWS_OLD },
  117: { osType: 'Windows10_64', note: WINDOWS_OLD },
  119: { osType: 'Windows10_64', note: 'Hangar has no 32-bit Windows 10 type; using Windows 10 (64-bit)' },
  120: { osType: 'Windows10_64' },
};

// 64-bit Linux distributions without a Hangar type of their own (RHEL, SUSE, SLES, Mandriva,
// TurboLinux, CentOS, Oracle Linux) and their 32-bit siblings.
for (const id of [80, 83, 85, 90, 92, 107, 109]) CIM[id] = { osType: 'Linux_64', note: LINUX_GENERIC };
for (const id of [79, 82, 84, 86, 87, 89, 91, 106, 108]) CIM[id] = { osType: 'Linux_64', note: `${LINUX_GENERIC} (and 32-bit is not available)` };

/** VirtualBox OS type names (vbox:OSType) that name a Hangar type exactly. */
const VBOX: Record<string, string> = {
  Linux_64: 'Linux_64', Debian_64: 'Debian_64', Ubuntu_64: 'Ubuntu_64', Fedora_64: 'Fedora_64',
  Windows10_64: 'Windows10_64', Windows11_64: 'Windows11_64', Other: 'Other', Other_64: 'Other_64',
};

export function osTypeFromOvf(os: { id: number; vboxType?: string; description?: string } | undefined): { osType: string; note?: string; exact: boolean } {
  if (!os) return { osType: 'Other', note: 'the appliance has no OperatingSystemSection', exact: false };
  // A Hangar export writes its own type name as the description; VirtualBox writes its type.
  for (const name of [os.vboxType, os.description]) {
    const direct = name ? Object.keys(VBOX).find((k) => k === name) : undefined;
    if (direct) return { osType: VBOX[direct]!, exact: true };
  }
  const e = CIM[os.id];
  if (!e) return { osType: 'Other', note: `CIM OS id ${os.id} has no Hangar equivalent; using Other`, exact: false };
  return { osType: e.osType, note: e.note, exact: e.note === undefined };
}
