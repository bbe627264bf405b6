// A running VM in the browser against `hangar serve`: the demo VM (the guest kit's Debian
// kernel and busybox initramfs) started from the toolbar, its serial console showing the
// guest's marker and answering a typed command, the monitor showing CPU use, pause and
// resume, power off and remove. Our interpreter takes minutes to boot Linux under load, so
// this is the one long test, with generous timeouts.
import { expect, test, type Locator, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServe, type Served } from './serve.ts';

const MIN = 60_000;
const SHOTS = join(import.meta.dirname, '..', '..', 'test-results', 'screenshots');
let served: Served;

test.beforeAll(async () => {
  served = await startServe();
  mkdirSync(SHOTS, { recursive: true });
});
test.afterAll(() => served?.stop());

function stateOf(page: Page, name: string): Locator {
  return page.getByRole('treeitem', { name, exact: true }).locator('.state');
}

test('start the demo VM, use its serial console and monitor, pause, resume, power off, remove', async ({ page }) => {
  test.setTimeout(90 * MIN);
  const demo = served.cli(['demo']);
  expect(demo.status, demo.stderr).toBe(0);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(served.url);
  const toolbar = page.getByRole('toolbar', { name: 'Machine actions' });
  const button = (name: string): Locator => toolbar.getByRole('button', { name, exact: true });
  await page.getByRole('treeitem', { name: 'Demo Linux', exact: true }).click();
  await expect(stateOf(page, 'Demo Linux')).toHaveText('Powered Off');
  // Powered off: only Start (and the library actions) make sense.
  await expect(button('Start')).toBeEnabled();
  for (const n of ['Pause', 'Resume', 'Reset', 'Save State', 'Shut Down', 'Power Off', 'Discard Saved State']) await expect(button(n)).toBeDisabled();

  await button('Start').click();
  await expect(stateOf(page, 'Demo Linux')).toHaveText('Running', { timeout: 3 * MIN });
  await expect(button('Start')).toBeDisabled();
  await expect(button('Pause')).toBeEnabled();
  await expect(button('Power Off')).toBeEnabled();
  await page.screenshot({ path: join(SHOTS, 'manager-running.png') });

  // The monitor: the interpreter keeps a host core busy while Linux boots.
  await page.getByRole('tab', { name: 'Monitor' }).click();
  const monitor = page.getByRole('region', { name: 'Resource monitor' });
  const cpu = monitor.locator('output[data-metric="cpu"]');
  await expect(cpu).toHaveText(/\d+\.\d %/, { timeout: MIN });
  await expect.poll(async () => parseFloat((await cpu.textContent()) ?? '0'), { timeout: MIN }).toBeGreaterThan(0);
  // No disk or network device: said so, not drawn as zero.
  await expect(monitor.locator('output[data-metric="disk"]')).toHaveText('not available');
  await expect(monitor.locator('output[data-metric="network"]')).toHaveText('not available');
  await expect(monitor.getByRole('img', { name: 'CPU Demo Linux' })).toBeVisible();
  await page.waitForTimeout(3000); // a few live points on the chart
  await page.screenshot({ path: join(SHOTS, 'monitor.png') });
  await page.getByRole('tab', { name: 'Overview' }).click();
  await expect(page.getByRole('region', { name: 'Running machines' }).getByRole('row')).toHaveCount(2);
  await page.screenshot({ path: join(SHOTS, 'overview.png') });

  // The serial console: output since power-on, then the guest's shell.
  await page.getByRole('tab', { name: 'Console' }).click();
  const consoleRegion = page.getByRole('region', { name: 'Serial console' });
  const rows = consoleRegion.locator('.xterm-rows');
  // The rows hold only what is on screen; by the time the tab opens the boot may have
  // scrolled past its first lines, so wait for any kernel log line here.
  await expect(rows).toContainText(/\[\s*\d+\.\d{6}\]/, { timeout: 5 * MIN });
  await page.screenshot({ path: join(SHOTS, 'console-booting.png') });
  // ~90 s on a quiet machine; on the shared one, under load, much longer.
  await expect(rows).toContainText('HANGAR-GUEST-READY', { timeout: 75 * MIN });
  await expect(rows).toContainText('hangar-guest#', { timeout: 5 * MIN });
  // Output since power-on: scrolled back to the top, the console shows the kernel's banner.
  // Shift+PageUp pages back through the scrollback, as in a terminal; typing scrolls down again.
  await consoleRegion.locator('.xterm').click();
  for (let i = 0; i < 200 && !(await rows.textContent())?.includes('Linux version'); i++) await page.keyboard.press('Shift+PageUp');
  await expect(rows).toContainText('Linux version');
  await page.screenshot({ path: join(SHOTS, 'console-scrollback.png') });
  await page.keyboard.type('echo answer-$((40+2))');
  await page.keyboard.press('Enter');
  await expect(rows).toContainText('answer-42', { timeout: 3 * MIN });
  await page.screenshot({ path: join(SHOTS, 'console.png') });

  // Pause and resume from the keyboard and the toolbar; the guest still answers afterwards.
  await page.getByRole('treeitem', { name: 'Demo Linux', exact: true }).click();
  await page.keyboard.press('Control+Shift+P');
  await expect(stateOf(page, 'Demo Linux')).toHaveText('Paused', { timeout: MIN });
  await expect(button('Resume')).toBeEnabled();
  await expect(button('Pause')).toBeDisabled();
  await button('Resume').click();
  await expect(stateOf(page, 'Demo Linux')).toHaveText('Running', { timeout: MIN });
  await consoleRegion.locator('.xterm').click();
  await page.keyboard.type('echo again-$((50+8))');
  await page.keyboard.press('Enter');
  await expect(rows).toContainText('again-58', { timeout: 3 * MIN });

  // Power off through the context menu; then the VM can be removed.
  await page.getByRole('treeitem', { name: 'Demo Linux', exact: true }).click({ button: 'right' });
  await page.getByRole('menuitem', { name: /^Power Off/ }).click();
  await expect(stateOf(page, 'Demo Linux')).toHaveText('Powered Off', { timeout: 2 * MIN });
  await expect(consoleRegion).toBeHidden();
  await expect(button('Start')).toBeEnabled();
  await button('Remove').click();
  await page.getByRole('dialog', { name: 'Remove Virtual Machines' }).getByRole('button', { name: 'Delete all files' }).click();
  await expect(page.getByRole('treeitem', { name: 'Demo Linux', exact: true })).toHaveCount(0);
  const list = served.cli(['list', '--json']);
  expect(JSON.parse(list.stdout)).toEqual([]);
  expect(errors).toEqual([]);
});
