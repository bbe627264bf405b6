// Register map and bit definitions of the Intel 82540EM (e1000) that Hangar emulates, as the
// PCI/PCI-X Family of Gigabit Ethernet Controllers Software Developer's Manual (8254x SDM)
// lays them out. Offsets are byte offsets into BAR0; the register file is dword-indexed, so
// `R.X >> 2` indexes it.

export const E1000_VENDOR = 0x8086;
export const E1000_DEVICE = 0x100e; // 82540EM, "Intel PRO/1000 MT Desktop"
export const E1000_SUBSYSTEM = 0x001e;
export const E1000_MMIO_SIZE = 0x20000;
export const E1000_IO_SIZE = 8;

/** Register byte offsets. */
export const R = {
  CTRL: 0x0000,
  STATUS: 0x0008,
  EECD: 0x0010,
  EERD: 0x0014,
  CTRL_EXT: 0x0018,
  MDIC: 0x0020,
  FCAL: 0x0028,
  FCAH: 0x002c,
  FCT: 0x0030,
  VET: 0x0038,
  ICR: 0x00c0,
  ITR: 0x00c4,
  ICS: 0x00c8,
  IMS: 0x00d0,
  IMC: 0x00d8,
  RCTL: 0x0100,
  FCTTV: 0x0170,
  TXCW: 0x0178,
  RXCW: 0x0180,
  TCTL: 0x0400,
  TIPG: 0x0410,
  LEDCTL: 0x0e00,
  PBA: 0x1000,
  RDBAL: 0x2800,
  RDBAH: 0x2804,
  RDLEN: 0x2808,
  RDH: 0x2810,
  RDT: 0x2818,
  RDTR: 0x2820,
  RXDCTL: 0x2828,
  RADV: 0x282c,
  TDBAL: 0x3800,
  TDBAH: 0x3804,
  TDLEN: 0x3808,
  TDH: 0x3810,
  TDT: 0x3818,
  TIDV: 0x3820,
  TXDCTL: 0x3828,
  TADV: 0x382c,
  STATS_START: 0x4000,
  STATS_END: 0x4100, // exclusive
  RXCSUM: 0x5000,
  MTA: 0x5200, // 128 dwords
  RAL0: 0x5400, // RAL n at 0x5400 + 8n, RAH n at 0x5404 + 8n, 16 entries
  RAH0: 0x5404,
  VFTA: 0x5600, // 128 dwords
  WUC: 0x5800,
  MANC: 0x5820,
} as const;

/** Statistics registers (all read-to-clear). Only those the device counts are named. */
export const S = {
  CRCERRS: 0x4000,
  MPC: 0x4010,
  RLEC: 0x4040,
  PRC64: 0x405c,
  PRC127: 0x4060,
  PRC255: 0x4064,
  PRC511: 0x4068,
  PRC1023: 0x406c,
  PRC1522: 0x4070,
  GPRC: 0x4074,
  BPRC: 0x4078,
  MPRC: 0x407c,
  GPTC: 0x4080,
  GORCL: 0x4088,
  GORCH: 0x408c,
  GOTCL: 0x4090,
  GOTCH: 0x4094,
  RNBC: 0x40a0,
  RUC: 0x40a4,
  ROC: 0x40ac,
  TORL: 0x40c0,
  TORH: 0x40c4,
  TOTL: 0x40c8,
  TOTH: 0x40cc,
  TPR: 0x40d0,
  TPT: 0x40d4,
  PTC64: 0x40d8,
  PTC127: 0x40dc,
  PTC255: 0x40e0,
  PTC511: 0x40e4,
  PTC1023: 0x40e8,
  PTC1522: 0x40ec,
  MPTC: 0x40f0,
  BPTC: 0x40f4,
  TSCTC: 0x40f8,
} as const;

/** Low halves of the 64-bit counters: reading the high half clears both (SDM 13.7). */
export const STATS_64_LOW = new Set<number>([S.GORCL, S.GOTCL, S.TORL, S.TOTL]);

export const CTRL_FD = 1 << 0;
export const CTRL_SLU = 1 << 6;
export const CTRL_SPD_1000 = 2 << 8;
export const CTRL_RST = 1 << 26;
export const CTRL_VME = 1 << 30;
export const CTRL_PHY_RST = 1 << 31;

export const STATUS_FD = 1 << 0;
export const STATUS_LU = 1 << 1;
export const STATUS_SPEED_1000 = 2 << 6;
export const STATUS_ASDV_1000 = 2 << 8;

/** Interrupt cause bits (ICR, ICS, IMS, IMC). */
export const ICR_TXDW = 1 << 0;
export const ICR_TXQE = 1 << 1;
export const ICR_LSC = 1 << 2;
export const ICR_RXSEQ = 1 << 3;
export const ICR_RXDMT0 = 1 << 4;
export const ICR_RXO = 1 << 6;
export const ICR_RXT0 = 1 << 7;
export const ICR_MDAC = 1 << 9;
/** Every cause the 82540EM defines (bits 0-16 less reserved ones). */
export const ICR_VALID = 0x1f6df;

export const RCTL_EN = 1 << 1;
export const RCTL_SBP = 1 << 2;
export const RCTL_UPE = 1 << 3;
export const RCTL_MPE = 1 << 4;
export const RCTL_LPE = 1 << 5;
export const RCTL_RDMTS_SHIFT = 8;
export const RCTL_MO_SHIFT = 12;
export const RCTL_BAM = 1 << 15;
export const RCTL_BSIZE_SHIFT = 16;
export const RCTL_VFE = 1 << 18;
export const RCTL_BSEX = 1 << 25;
export const RCTL_SECRC = 1 << 26;

export const TCTL_EN = 1 << 1;
export const TCTL_PSP = 1 << 3;

export const RAH_AV = 1 << 31;

export const MDIC_DATA_MASK = 0xffff;
export const MDIC_REG_SHIFT = 16;
export const MDIC_PHY_SHIFT = 21;
export const MDIC_OP_WRITE = 1 << 26;
export const MDIC_OP_READ = 2 << 26;
export const MDIC_READY = 1 << 28;
export const MDIC_INT_EN = 1 << 29;
export const MDIC_ERROR = 1 << 30;

/** Legacy receive descriptor status bits. */
export const RXD_STAT_DD = 0x01;
export const RXD_STAT_EOP = 0x02;
export const RXD_STAT_IXSM = 0x04;
export const RXD_STAT_VP = 0x08;

/** Transmit descriptor command bits (legacy CMD, data DCMD, context TUCMD share positions). */
export const TXD_CMD_EOP = 0x01;
export const TXD_CMD_IFCS = 0x02;
export const TXD_CMD_IC = 0x04; // legacy: insert checksum
export const TXD_CMD_TSE = 0x04; // data/context: TCP segmentation enable
export const TXD_CMD_RS = 0x08;
export const TXD_CMD_DEXT = 0x20;
export const TXD_CMD_VLE = 0x40;
export const TXD_CTX_TCP = 0x01; // context TUCMD: TCP (else UDP)
export const TXD_CTX_IP = 0x02; // context TUCMD: IPv4 (else IPv6)
export const TXD_STAT_DD = 0x01;
export const TXD_POPTS_IXSM = 0x01;
export const TXD_POPTS_TXSM = 0x02;
export const TXD_DTYP_CONTEXT = 0;
export const TXD_DTYP_DATA = 1;

/** Ethernet frame check sequence length: the 82540EM always stores it in receive buffers. */
export const FCS_LEN = 4;
