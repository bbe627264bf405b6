// Matching validation issues (field paths such as "network[0].portForwards[1].hostPort") to
// the controls and pages that show them. Pure, no DOM.
import type { SettingIssue } from '../../../src-core/api/machine.ts';

export function issueFor(issues: readonly SettingIssue[], field: string): string | undefined {
  return issues.find((i) => i.field === field)?.message;
}

/** Issues whose field starts with any of the prefixes (a page's share of them). */
export function issuesUnder(issues: readonly SettingIssue[], prefixes: readonly string[]): SettingIssue[] {
  return issues.filter((i) => prefixes.some((p) => i.field === p || i.field.startsWith(p + '.') || i.field.startsWith(p + '[')));
}

/** Settings page of an issue's field, for the dialog's page list. */
export function pageOf(field: string): 'general' | 'system' | 'storage' | 'network' | 'serial' | 'display' {
  if (/^(name|osType|description|group)\b/.test(field)) return 'general';
  if (/^(storage|attach)\b/.test(field)) return 'storage';
  if (/^network\b/.test(field)) return 'network';
  if (/^serial\b/.test(field)) return 'serial';
  if (/^display\b/.test(field)) return 'display';
  return 'system';
}
