// The manager in a browser against `hangar serve`: wizard, inline validation, settings,
// clone and remove, each checked against the library through the CLI.
import { expect, test, type Page } from '@playwright/test';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServe, type Served } from './serve.ts';

let served: Served;
const SHOTS = join(import.meta.dirname, '..', '..', 'test-results', 'screenshots');

test.beforeAll(async () => {
  served = await startServe();
  mkdirSync(SHOTS, { recursive: true });
});
test.afterAll(() => served?.stop());

function showJson(ref: string): { config: { name: string; memoryMiB: number; cpus: number; network: { portForwards: { name: string; hostPort: number; guestPort: number }[] }[]; firmware: Record<string, string>; storage: { name: string; attachments: { path: string; type: string; format?: string }[] }[] } } {
  const r = served.cli(['show', ref, '--json']);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

function listNames(): string[] {
  const r = served.cli(['list', '--json']);
  expect(r.status, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { name: string }[]).map((m) => m.name).sort();
}

async function open(page: Page): Promise<void> {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(served.url);
  await expect(page.getByRole('toolbar', { name: 'Machine actions' })).toBeVisible();
  (page as unknown as { consoleErrors: string[] }).consoleErrors = errors;
}

test.describe.configure({ mode: 'serial' });

test('create a VM through the wizard, with an inline error for invalid memory', async ({ page }) => {
  const bootDir = join(served.home, 'boot');
  mkdirSync(bootDir, { recursive: true });
  writeFileSync(join(bootDir, 'bzImage'), 'kernel');
  writeFileSync(join(bootDir, 'initrd.img'), 'initrd');
  await open(page);
  await page.getByRole('button', { name: 'New', exact: true }).click();
  const wizard = page.getByRole('dialog', { name: 'Create Virtual Machine' });
  await expect(wizard).toBeVisible();
  await wizard.getByLabel('Name', { exact: true }).fill('Debian Web');
  await wizard.getByLabel('Type').selectOption({ label: 'Debian (64-bit)' });
  await page.screenshot({ path: join(SHOTS, 'wizard-name.png') });
  await wizard.getByRole('button', { name: 'Next' }).click();

  const memory = wizard.getByLabel('Base Memory (MiB)', { exact: true });
  await expect(memory).toHaveValue('2048');
  await memory.fill('2');
  const error = wizard.getByText('memoryMiB: 2 is not valid; allowed: a whole number from 4 to 65536 MiB');
  await expect(error).toBeVisible();
  await expect(memory).toHaveAttribute('aria-invalid', 'true');
  await page.screenshot({ path: join(SHOTS, 'wizard-invalid-memory.png') });
  // Next refuses to leave a page with problems.
  await wizard.getByRole('button', { name: 'Next' }).click();
  await expect(wizard.getByRole('heading', { name: 'Hardware' })).toBeVisible();
  await memory.fill('512');
  await expect(error).toBeHidden();
  await wizard.getByLabel('Processors', { exact: true }).fill('1');
  await wizard.getByRole('button', { name: 'Next' }).click();

  await expect(wizard.getByRole('heading', { name: 'Hard Disk' })).toBeVisible();
  await wizard.getByLabel('Create a new virtual hard disk').check();
  await wizard.getByLabel('Disk size (GiB)').fill('1');
  await page.screenshot({ path: join(SHOTS, 'wizard-disk.png') });
  await wizard.getByRole('button', { name: 'Next' }).click();

  await expect(wizard.getByRole('heading', { name: 'Boot Media' })).toBeVisible();
  await wizard.getByLabel('Linux kernel and initrd').check();
  await wizard.getByLabel('Kernel (bzImage)').fill(join(bootDir, 'missing'));
  await expect(wizard.getByText(/firmware\.kernel: .*missing does not exist/)).toBeVisible();
  await wizard.getByLabel('Kernel (bzImage)').fill(join(bootDir, 'bzImage'));
  await wizard.getByLabel('Initrd', { exact: true }).fill(join(bootDir, 'initrd.img'));
  await wizard.getByRole('button', { name: 'Next' }).click();

  await expect(wizard.getByRole('heading', { name: 'Summary' })).toBeVisible();
  await expect(wizard.getByText('New qcow2 image, 1 GiB')).toBeVisible();
  await page.screenshot({ path: join(SHOTS, 'wizard-summary.png') });
  await wizard.getByRole('button', { name: 'Finish' }).click();
  await expect(wizard).toBeHidden();

  const item = page.getByRole('treeitem', { name: 'Debian Web' });
  await expect(item).toBeVisible();
  await expect(item).toHaveAttribute('aria-selected', 'true');
  const details = page.getByRole('region', { name: 'Details' });
  await expect(details.getByText('Debian (64-bit)')).toBeVisible();
  await expect(details.getByText('512 MB')).toBeVisible();

  const cfg = showJson('Debian Web').config;
  expect(cfg.memoryMiB).toBe(512);
  expect(cfg.cpus).toBe(1);
  expect(cfg.firmware).toEqual({ type: 'linux', kernel: join(bootDir, 'bzImage'), initrd: join(bootDir, 'initrd.img'), cmdline: 'console=ttyS0' });
  expect(cfg.storage[0]!.attachments).toEqual([{ port: 0, type: 'disk', path: 'Debian Web.qcow2', format: 'qcow2' }]);
  expect((page as unknown as { consoleErrors: string[] }).consoleErrors).toEqual([]);
});

test('edit settings on several pages; the library has them', async ({ page }) => {
  await open(page);
  await page.getByRole('treeitem', { name: 'Debian Web' }).click();
  await page.getByRole('button', { name: 'Settings', exact: true }).click();
  const dlg = page.getByRole('dialog', { name: 'Debian Web - Settings' });
  await expect(dlg).toBeVisible();
  await dlg.getByLabel('Group').fill('/Servers');
  await dlg.getByRole('tab', { name: 'System' }).click();
  await dlg.getByLabel('Base Memory (MiB)', { exact: true }).fill('1');
  await expect(dlg.getByText('memoryMiB: 1 is not valid; allowed: a whole number from 4 to 65536 MiB').first()).toBeVisible();
  await expect(dlg.getByRole('button', { name: 'OK' })).toBeDisabled();
  await dlg.getByLabel('Base Memory (MiB)', { exact: true }).fill('768');
  await dlg.getByRole('tab', { name: 'Storage' }).click();
  await expect(dlg.getByLabel('SATA medium 1 Image file')).toHaveValue('Debian Web.qcow2');
  await page.screenshot({ path: join(SHOTS, 'settings-storage.png') });
  await dlg.getByRole('tab', { name: 'Network' }).click();
  await dlg.getByRole('button', { name: 'Add rule' }).click();
  await dlg.getByLabel('Adapter 1 rule 1 Name').fill('ssh');
  await dlg.getByLabel('Adapter 1 rule 1 Host Port').fill('2222');
  await dlg.getByLabel('Adapter 1 rule 1 Guest Port').fill('22');
  await dlg.getByRole('tab', { name: 'Serial Ports' }).click();
  await dlg.getByLabel('Enable Serial Port COM1').check();
  await dlg.getByLabel('COM1 Port Mode').selectOption({ label: 'TCP' });
  await dlg.getByLabel('COM1 TCP port').fill('80');
  await expect(dlg.getByText('serial[0].tcpPort: 80 is not valid; allowed: a whole number from 1024 to 65535').first()).toBeVisible();
  await page.screenshot({ path: join(SHOTS, 'settings-invalid.png') });
  await dlg.getByLabel('COM1 TCP port').fill('4555');
  await dlg.getByRole('tab', { name: 'Network' }).click();
  await expect(dlg.getByRole('button', { name: 'OK' })).toBeEnabled();
  await page.screenshot({ path: join(SHOTS, 'settings-network.png') });
  await dlg.getByRole('button', { name: 'OK' }).click();
  await expect(dlg).toBeHidden();

  const cfg = showJson('Debian Web').config as unknown as { memoryMiB: number; group: string; network: { portForwards: unknown[] }[]; serial: unknown[] };
  expect(cfg.memoryMiB).toBe(768);
  expect(cfg.group).toBe('/Servers');
  expect(cfg.network[0]!.portForwards).toEqual([{ name: 'ssh', protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 2222, guestPort: 22 }]);
  expect(cfg.serial).toEqual([{ port: 'COM1', mode: 'tcp', tcpPort: 4555 }]);
  // The list now shows the machine inside its group.
  await expect(page.getByRole('treeitem', { name: 'Servers (1)' })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Details' }).getByText('768 MB')).toBeVisible();
});

test('clone, then remove both through the toolbar and keyboard', async ({ page }) => {
  await open(page);
  await page.getByRole('treeitem', { name: 'Debian Web' }).click();
  await page.getByRole('button', { name: 'Clone', exact: true }).click();
  const dlg = page.getByRole('dialog', { name: 'Clone Debian Web' });
  await expect(dlg.getByLabel('Name of the clone')).toHaveValue('Debian Web Clone');
  await dlg.getByLabel('Name of the clone').fill('Debian Web');
  await dlg.getByRole('button', { name: 'Clone' }).click();
  await expect(dlg.getByText('a VM named "Debian Web" is already registered; pick another name')).toBeVisible();
  await dlg.getByLabel('Name of the clone').fill('Debian Copy');
  await dlg.getByRole('button', { name: 'Clone' }).click();
  await expect(dlg).toBeHidden();
  await expect(page.getByRole('treeitem', { name: 'Debian Copy' })).toBeVisible();
  expect(listNames()).toEqual(['Debian Copy', 'Debian Web']);
  expect(showJson('Debian Copy').config.storage[0]!.attachments[0]!.path).toBe('Debian Web.qcow2');

  // Seed more machines from the CLI.
  expect(served.cli(['create', '--name', 'win11', '--ostype', 'Windows11_64', '--group', '/Desktops']).status).toBe(0);
  expect(served.cli(['create', '--name', 'dos', '--ostype', 'FreeDOS']).status).toBe(0);
  await page.reload();
  await expect(page.getByRole('treeitem', { name: 'win11' })).toBeVisible();
  await page.getByRole('treeitem', { name: 'win11' }).click();
  await page.screenshot({ path: join(SHOTS, 'manager.png') });
  // The theme follows the OS.
  const bg = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const light = await bg();
  await page.emulateMedia({ colorScheme: 'dark' });
  expect(await bg()).not.toBe(light);
  await page.screenshot({ path: join(SHOTS, 'manager-dark.png') });
  await page.emulateMedia({ colorScheme: 'light' });

  // Search filter, then multi-select both Debian machines and remove them with Delete.
  await page.getByRole('searchbox', { name: 'Search' }).fill('debian');
  await expect(page.getByRole('treeitem', { name: 'win11' })).toBeHidden();
  await page.getByRole('treeitem', { name: 'Debian Copy' }).click();
  await page.getByRole('treeitem', { name: 'Debian Web' }).click({ modifiers: ['Control'] });
  await expect(page.getByRole('region', { name: 'Details' }).getByText('2 virtual machines selected.')).toBeVisible();
  await page.getByRole('treeitem', { name: 'Debian Web' }).press('Delete');
  const rm = page.getByRole('dialog', { name: 'Remove Virtual Machines' });
  await expect(rm).toBeVisible();
  await rm.getByRole('button', { name: 'Delete all files' }).click();
  await expect(page.getByRole('treeitem', { name: 'Debian Web' })).toBeHidden();
  expect(listNames()).toEqual(['dos', 'win11']);

  // Context menu: Remove only keeps the files.
  await page.getByRole('searchbox', { name: 'Search' }).fill('');
  await page.getByRole('treeitem', { name: 'dos' }).click({ button: 'right' });
  await page.getByRole('menuitem', { name: /Remove/ }).click();
  await page.getByRole('dialog', { name: 'Remove Virtual Machines' }).getByRole('button', { name: 'Remove only' }).click();
  await expect(page.getByRole('treeitem', { name: 'dos' })).toBeHidden();
  expect(listNames()).toEqual(['win11']);
});

test('changes from the CLI appear live; a failed save shows a notification saying what failed and what to do', async ({ page }) => {
  await open(page);
  // Keyboard shortcuts: Ctrl+N opens the wizard; Escape closes it.
  await page.keyboard.press('Control+N');
  await expect(page.getByRole('dialog', { name: 'Create Virtual Machine' })).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page.getByRole('dialog', { name: 'Create Virtual Machine' })).toBeHidden();

  // Another process changes the library: the open page follows without a reload.
  expect(served.cli(['create', '--name', 'live1', '--ostype', 'Ubuntu_64']).status).toBe(0);
  await expect(page.getByRole('treeitem', { name: 'live1' })).toBeVisible();

  await page.getByRole('treeitem', { name: 'win11' }).click();
  await page.keyboard.press('Control+S');
  const dlg = page.getByRole('dialog', { name: 'win11 - Settings' });
  await expect(dlg).toBeVisible();
  // The VM's file disappears behind the dialog's back.
  const file = JSON.parse(served.cli(['show', 'win11', '--json']).stdout).path as string;
  rmSync(file);
  await dlg.getByRole('tab', { name: 'System' }).click();
  await dlg.getByLabel('Base Memory (MiB)', { exact: true }).fill('1024');
  await dlg.getByRole('button', { name: 'OK' }).click();
  const alert = page.getByRole('alert').first();
  await expect(alert).toContainText('Could not save the settings');
  await expect(alert).toContainText('does not exist');
  await expect(alert).toContainText('Check that the machine\'s folder exists and is readable, or remove it from the list.');
  await expect(page.getByRole('alert')).toHaveCount(1);
  await page.screenshot({ path: join(SHOTS, 'notification.png') });
  await page.getByRole('button', { name: /^Dismiss/ }).first().click();
  await expect(page.getByRole('alert')).toHaveCount(0);
  // The list now knows the machine is inaccessible.
  await dlg.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByRole('treeitem', { name: 'win11' })).toContainText('Inaccessible');
});

test('without the token the page cannot use the service and says what to do', async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(served.url.replace(/\?token=.*/, ''));
  const alert = page.getByRole('alert');
  await expect(alert).toContainText('Could not reach the Hangar service');
  await expect(alert).toContainText('open the full URL it prints');
  await context.close();
});
