// The OVF manifest (.mf): one digest line per file of the package. Hangar writes
// `SHA256(file)= hex`; it reads that, VirtualBox's `SHA256 (file) = hex`, SHA1 and any hex case.
import { HangarError } from '../api/errors.ts';

export type DigestAlgorithm = 'sha1' | 'sha256' | 'sha512';

export interface ManifestEntry {
  algorithm: DigestAlgorithm;
  file: string;
  /** Lower-case hex. */
  digest: string;
}

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha1: 40, sha256: 64, sha512: 128 };

export function formatManifest(entries: { file: string; sha256: string }[]): string {
  return entries.map((e) => `SHA256(${e.file})= ${e.sha256.toLowerCase()}\n`).join('');
}

export function parseManifest(text: string, source: string): Map<string, ManifestEntry> {
  const out = new Map<string, ManifestEntry>();
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const m = /^(SHA1|SHA256|SHA512)\s*\((.+)\)\s*=\s*([0-9A-Fa-f]+)$/.exec(line);
    if (!m) throw new HangarError('corrupt', `${source} line ${i + 1}: not a manifest line (expected "SHA256(file)= hex"): ${JSON.stringify(line.slice(0, 120))}`);
    const algorithm = m[1]!.toLowerCase() as DigestAlgorithm;
    const file = m[2]!;
    const digest = m[3]!.toLowerCase();
    if (digest.length !== HEX_LENGTH[algorithm]) throw new HangarError('corrupt', `${source} line ${i + 1}: ${m[1]} digest of ${file} has ${digest.length} hex digits, expected ${HEX_LENGTH[algorithm]}`);
    if (out.has(file)) throw new HangarError('corrupt', `${source} line ${i + 1}: ${file} is listed twice`);
    out.set(file, { algorithm, file, digest });
  });
  return out;
}

/** Refuse a file whose digest differs from the manifest, naming it. */
export function checkDigest(entry: ManifestEntry | undefined, actualHex: string, manifestName: string): void {
  if (!entry) return;
  if (entry.digest !== actualHex.toLowerCase()) {
    throw new HangarError('corrupt', `${entry.file}: ${entry.algorithm.toUpperCase()} digest does not match ${manifestName} (manifest ${entry.digest}, file ${actualHex.toLowerCase()}); the package is damaged or was altered`, { file: entry.file });
  }
}
