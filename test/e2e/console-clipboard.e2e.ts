// A VM started outside the manager (detached, as `hangar start --headless` does) shows up as
// running in the browser; its serial console takes a paste and copies a selection. The guest
// is the engine's hand-assembled program (prints a marker, echoes what it receives), so this
// runs in seconds.
import { expect, test } from '@playwright/test';
import { join } from 'node:path';
import { Library } from '../../src-core/library/library.ts';
import { PROGRAM_READY_MARKER } from '../../src-core/vmm/engines/boot-program.ts';
import { VmManager } from '../../src-core/vmm/vm-manager.ts';
import { pidAlive } from '../../src-core/vmm/vm-files.ts';
import { createProgramVm, PROGRAM_BOOT } from '../unit/vmm/helpers.ts';
import { startServe, type Served } from './serve.ts';

const SHOTS = join(import.meta.dirname, '..', '..', 'test-results', 'screenshots');
let served: Served;
let pid = 0;

test.beforeAll(async () => {
  served = await startServe();
});
test.afterAll(() => {
  if (pid && pidAlive(pid)) process.kill(pid, 'SIGKILL');
  served?.stop();
});

test('a headless VM appears as running; its console pastes and copies', async ({ page, context }) => {
  const origin = new URL(served.url).origin;
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
  await page.goto(served.url);
  const lib = new Library(served.home);
  await createProgramVm(lib, 'Echo');
  const row = page.getByRole('treeitem', { name: 'Echo', exact: true });
  await expect(row.locator('.state')).toHaveText('Powered Off');

  const started = await new VmManager(lib).start('Echo', { boot: PROGRAM_BOOT, detached: true, timeoutMs: 120_000 });
  pid = started.pid;
  await expect(row.locator('.state')).toHaveText('Running', { timeout: 30_000 });

  await row.click();
  await page.getByRole('tab', { name: 'Console' }).click();
  const region = page.getByRole('region', { name: 'Serial console' });
  const rows = region.locator('.xterm-rows');
  await expect(rows).toContainText(PROGRAM_READY_MARKER, { timeout: 60_000 });

  // Paste: the clipboard goes to the guest, which echoes it.
  await page.evaluate(() => navigator.clipboard.writeText('pasted-from-clipboard'));
  await region.getByRole('button', { name: 'Paste' }).click();
  await expect(rows).toContainText('pasted-from-clipboard', { timeout: 30_000 });

  // Copy: select the first line (triple click) and copy it with the button.
  await page.evaluate(() => navigator.clipboard.writeText(''));
  const line = (await rows.locator('div').first().boundingBox())!;
  await page.mouse.click(line.x + 20, line.y + line.height / 2, { clickCount: 3 });
  await region.getByRole('button', { name: 'Copy' }).click();
  await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toContain(PROGRAM_READY_MARKER);
  await page.screenshot({ path: join(SHOTS, 'console-clipboard.png') });

  // Power off from the toolbar ends the detached process too.
  await page.getByRole('toolbar', { name: 'Machine actions' }).getByRole('button', { name: 'Power Off', exact: true }).click();
  await expect(row.locator('.state')).toHaveText('Powered Off', { timeout: 30_000 });
  await expect.poll(() => pidAlive(pid), { timeout: 20_000 }).toBe(false);
});
