// `hangar disk …`: offline image tools (create, info, convert, resize, check, compare).
// Exit codes: 0 ok, 1 operational error, 2 usage; check adds 2 corrupt / 3 leaks only;
// compare exits 1 when the images differ.
import type { Command } from 'commander';
import { usageError } from '../../api/errors.ts';
import type { FormatName } from '../../storage/format.ts';
import { requireFormat } from '../../storage/open.ts';
import { parseSize } from '../../storage/size.ts';
import { createImage } from '../../storage/tools/create.ts';
import { formatInfo, imageInfo } from '../../storage/tools/info.ts';
import { convertImage } from '../../storage/tools/convert.ts';
import { resizeImage } from '../../storage/tools/resize.ts';
import { checkExitCode, checkImage } from '../../storage/tools/check.ts';
import { compareImages } from '../../storage/tools/compare.ts';

function fmt(name: string | undefined): FormatName | undefined {
  return name === undefined ? undefined : requireFormat(name).name;
}

function out(s: string): void {
  process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
}

export function registerDiskCommands(program: Command): void {
  const disk = program.command('disk').description('create, inspect, convert and repair disk images');

  disk
    .command('create')
    .description('create an empty image, or an overlay over a base image')
    .requiredOption('-f, --format <fmt>', 'image format (raw, qcow2, vdi, vmdk, vhd)')
    .option('-b, --backing <base>', 'base image for a copy-on-write overlay')
    .option('-F, --backing-format <fmt>', 'format of the base image (probed when left out)')
    .option('-o, --subformat <variant>', 'format variant, e.g. streamOptimized (vmdk), fixed (vdi/vhd)')
    .option('--cluster-size <size>', 'cluster size (qcow2), e.g. 64K')
    .option('--allow-unsafe-paths', 'allow a base image outside the overlay folder')
    .argument('<path>', 'image to create')
    .argument('[size]', 'virtual size, e.g. 10G, 512M (default with --backing: the base size)')
    .action(async (path: string, size: string | undefined, o: Record<string, string | boolean | undefined>) => {
      if (size === undefined && !o.backing) throw usageError('a size is required (e.g. 10G) unless --backing is given');
      const r = await createImage({
        format: requireFormat(o.format as string).name,
        path,
        size: size === undefined ? undefined : parseSize(size),
        backing: o.backing as string | undefined,
        backingFormat: fmt(o.backingFormat as string | undefined),
        subformat: o.subformat as string | undefined,
        cluster: o.clusterSize ? parseSize(o.clusterSize as string) : undefined,
        allowUnsafePaths: !!o.allowUnsafePaths,
      });
      out(`Formatting '${path}', fmt=${o.format} size=${r.size}${o.backing ? ` backing=${o.backing}` : ''}`);
    });

  disk
    .command('info')
    .description('show format, sizes, backing chain, snapshots and dirty flag')
    .option('-f, --format <fmt>', 'image format (probed when left out)')
    .option('--json', 'machine-readable output')
    .option('--allow-unsafe-paths', 'follow backing files outside the image folder')
    .argument('<path>')
    .action(async (path: string, o: { format?: string; json?: boolean; allowUnsafePaths?: boolean }) => {
      const r = await imageInfo(path, { format: fmt(o.format), allowUnsafePaths: !!o.allowUnsafePaths });
      out(o.json ? JSON.stringify(r, null, 2) : formatInfo(r));
    });

  disk
    .command('convert')
    .description('copy an image into a new image of any format (zeros stay unallocated)')
    .option('-f, --format <fmt>', 'source format (probed when left out)')
    .requiredOption('-O, --output-format <fmt>', 'destination format')
    .option('-o, --subformat <variant>', 'destination variant, e.g. streamOptimized')
    .option('--cluster-size <size>', 'destination cluster size (qcow2)')
    .option('-p, --progress', 'show progress on stderr (default when stderr is a terminal)')
    .option('--allow-unsafe-paths', 'follow backing files outside the image folder')
    .argument('<src>')
    .argument('<dst>')
    .action(async (src: string, dst: string, o: Record<string, string | boolean | undefined>) => {
      const show = !!o.progress || process.stderr.isTTY === true;
      let lastPct = -1;
      await convertImage({
        src,
        srcFormat: fmt(o.format as string | undefined),
        dst,
        dstFormat: requireFormat(o.outputFormat as string).name,
        subformat: o.subformat as string | undefined,
        cluster: o.clusterSize ? parseSize(o.clusterSize as string) : undefined,
        allowUnsafePaths: !!o.allowUnsafePaths,
        onProgress: show
          ? (done, total) => {
              const pct = Math.floor((done / total) * 10000) / 100;
              if (pct !== lastPct) process.stderr.write(`\r    (${pct.toFixed(2)}/100%)`);
              lastPct = pct;
            }
          : undefined,
      });
      if (show) process.stderr.write('\n');
    });

  disk
    .command('resize')
    .description('change the virtual size (SIZE, +SIZE or -SIZE)')
    .option('-f, --format <fmt>', 'image format (probed when left out)')
    .option('--shrink', 'allow making the disk smaller (data past the new end is lost)')
    .argument('<path>')
    .argument('<size>')
    .action(async (path: string, size: string, o: { format?: string; shrink?: boolean }) => {
      let newSize: number;
      if (size.startsWith('+') || size.startsWith('-')) {
        const cur = (await imageInfo(path, { format: fmt(o.format) })).virtualSize;
        const delta = parseSize(size.slice(1));
        newSize = size.startsWith('+') ? cur + delta : cur - delta;
        if (newSize <= 0) throw usageError(`resize would leave ${newSize} bytes`);
      } else newSize = parseSize(size);
      await resizeImage(path, newSize, { format: fmt(o.format), shrink: !!o.shrink });
      out('Image resized.');
    });

  disk
    .command('check')
    .description('check metadata consistency (exit 0 clean, 2 corrupt, 3 leaks only)')
    .option('-f, --format <fmt>', 'image format (probed when left out)')
    .option('-r, --repair', 'fix leaks and refcount errors')
    .option('--json', 'machine-readable output')
    .argument('<path>')
    .action(async (path: string, o: { format?: string; repair?: boolean; json?: boolean }) => {
      const r = await checkImage(path, { format: fmt(o.format), repair: !!o.repair });
      if (o.json) out(JSON.stringify(r, null, 2));
      else {
        for (const m of r.messages) out(m);
        if (!r.supported) out(`${path}: nothing to check.`);
        else if (r.corruptions === 0 && r.leaks === 0) out('No errors were found on the image.');
        else {
          if (r.corruptions > 0) out(`${r.corruptions} errors were found on the image; data may be corrupted.`);
          if (r.leaks > 0) out(`${r.leaks} leaked clusters were found on the image; this wastes space but loses no data.`);
        }
        if (r.repaired !== undefined) out(`Repaired ${r.repaired} problem(s).`);
      }
      process.exitCode = checkExitCode(r);
    });

  disk
    .command('compare')
    .description('compare the guest-visible content of two images (exit 0 identical, 1 different)')
    .option('-f, --format <fmt>', 'format of the first image (probed when left out)')
    .option('-F, --format2 <fmt>', 'format of the second image (probed when left out)')
    .option('-s, --strict', 'images of different sizes are different')
    .option('--allow-unsafe-paths', 'follow backing files outside the image folder')
    .argument('<a>')
    .argument('<b>')
    .action(async (a: string, b: string, o: { format?: string; format2?: string; strict?: boolean; allowUnsafePaths?: boolean }) => {
      const r = await compareImages(a, b, { formatA: fmt(o.format), formatB: fmt(o.format2), strict: !!o.strict, allowUnsafePaths: !!o.allowUnsafePaths });
      if (r.identical) out('Images are identical.');
      else out(`Images differ: ${r.reason}`);
      process.exitCode = r.identical ? 0 : 1;
    });
}
