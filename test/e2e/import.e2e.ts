// The import dialog against `hangar serve`: an appliance exported with the CLI, checked
// (dry-run mapping report, nothing written) and imported under a new name.
import { expect, test } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServe, type Served } from './serve.ts';

const SHOTS = join(import.meta.dirname, '..', '..', 'test-results', 'screenshots');
let served: Served;

test.beforeAll(async () => {
  served = await startServe();
  mkdirSync(SHOTS, { recursive: true });
});
test.afterAll(() => served?.stop());

function names(): string[] {
  const r = served.cli(['list', '--json']);
  expect(r.status, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { name: string }[]).map((m) => m.name).sort();
}

test('import an appliance: check shows the mapping report, import registers the VM', async ({ page }) => {
  expect(served.cli(['create', '--name', 'appliance-src', '--ostype', 'Debian_64', '--memory', '384']).status).toBe(0);
  const ova = join(served.home, 'src.ova');
  const exp = served.cli(['export', 'appliance-src', '-o', ova]);
  expect(exp.status, exp.stderr).toBe(0);
  await page.goto(served.url);
  await page.getByRole('toolbar', { name: 'Machine actions' }).getByRole('button', { name: 'Import', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Import Virtual Appliance' });
  await expect(dialog.getByRole('button', { name: 'Import', exact: true })).toBeDisabled();

  await dialog.getByLabel('Appliance file').fill(join(served.home, 'missing.ova'));
  await dialog.getByRole('button', { name: 'Check' }).click();
  await expect(page.getByText('Could not import the appliance')).toBeVisible();
  await expect(page.getByText(/missing\.ova/).first()).toBeVisible();

  await dialog.getByLabel('Appliance file').fill(ova);
  await dialog.getByLabel('Name of the imported machine').fill('imported-copy');
  await dialog.getByLabel('Give the machine a new UUID and new MAC addresses').check();
  await dialog.getByRole('button', { name: 'Check' }).click();
  const report = dialog.getByRole('region', { name: 'Mapping report' });
  await expect(report.getByRole('heading', { name: 'Virtual system 0: "imported-copy"' })).toBeVisible();
  await expect(report.getByRole('row', { name: /configuration/ })).toContainText('384 MiB');
  await expect(report.getByRole('row', { name: /UUID/ })).toContainText('Adjusted');
  await page.screenshot({ path: join(SHOTS, 'import-report.png') });
  expect(names()).toEqual(['appliance-src']); // the check wrote nothing

  await dialog.getByRole('button', { name: 'Import', exact: true }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByRole('treeitem', { name: 'imported-copy', exact: true })).toBeVisible();
  expect(names()).toEqual(['appliance-src', 'imported-copy']);
});
