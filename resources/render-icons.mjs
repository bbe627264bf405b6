// Renders resources/icon.svg to the PNG sizes the packages need (Linux icon set, and the
// 512/1024 masters electron-builder turns into .ico and .icns). Run after editing the SVG:
//   node resources/render-icons.mjs
import { chromium } from 'playwright-core';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const here = import.meta.dirname;
const svg = readFileSync(join(here, 'icon.svg'), 'utf8');
const sizes = [16, 24, 32, 48, 64, 128, 256, 512, 1024];
mkdirSync(join(here, 'icons'), { recursive: true });
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage();
  for (const size of sizes) {
    await page.setViewportSize({ width: size, height: size });
    await page.setContent(`<html><body style="margin:0;background:transparent">${svg.replace('width="512" height="512"', `width="${size}" height="${size}"`)}</body></html>`);
    const out = size === 1024 ? join(here, 'icon.png') : join(here, 'icons', `${size}x${size}.png`);
    await page.screenshot({ path: out, omitBackground: true, clip: { x: 0, y: 0, width: size, height: size } });
  }
} finally {
  await browser.close();
}

// icon.ico for Windows: an ICONDIR whose entries are the PNGs themselves (allowed since Vista).
const icoSizes = [16, 24, 32, 48, 64, 128, 256];
const pngs = icoSizes.map((s) => readFileSync(join(here, 'icons', `${s}x${s}.png`)));
const head = Buffer.alloc(6 + 16 * pngs.length);
head.writeUInt16LE(0, 0);
head.writeUInt16LE(1, 2);
head.writeUInt16LE(pngs.length, 4);
let offset = head.length;
pngs.forEach((png, i) => {
  const e = 6 + 16 * i;
  head.writeUInt8(icoSizes[i] >= 256 ? 0 : icoSizes[i], e);
  head.writeUInt8(icoSizes[i] >= 256 ? 0 : icoSizes[i], e + 1);
  head.writeUInt16LE(1, e + 4);
  head.writeUInt16LE(32, e + 6);
  head.writeUInt32LE(png.length, e + 8);
  head.writeUInt32LE(offset, e + 12);
  offset += png.length;
});
writeFileSync(join(here, 'icon.ico'), Buffer.concat([head, ...pngs]));
