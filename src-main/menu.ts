// The application menu as data. Machine actions are forwarded to the window (the same code
// the toolbar runs); everything else uses Electron's standard roles.
import type { UiCommand } from '../src-core/api/service.ts';

export interface MenuItemSpec {
  label?: string;
  role?: string;
  accelerator?: string;
  type?: 'separator';
  command?: UiCommand;
  submenu?: MenuItemSpec[];
}

export function menuTemplate(platform: string, appName = 'Hangar'): MenuItemSpec[] {
  const mac = platform === 'darwin';
  const machine: MenuItemSpec = {
    label: '&Machine',
    submenu: [
      { label: 'New…', accelerator: 'CmdOrCtrl+N', command: 'new-machine' },
      { label: 'Settings…', accelerator: 'CmdOrCtrl+S', command: 'settings' },
      { label: 'Clone…', accelerator: 'CmdOrCtrl+O', command: 'clone' },
      { label: 'Remove…', command: 'remove' },
      { type: 'separator' },
      { label: 'Import Appliance…', accelerator: 'CmdOrCtrl+I', command: 'import-appliance' },
    ],
  };
  const template: MenuItemSpec[] = [];
  if (mac) {
    template.push({ label: appName, submenu: [{ role: 'about' }, { type: 'separator' }, { role: 'hide' }, { role: 'hideOthers' }, { role: 'unhide' }, { type: 'separator' }, { role: 'quit' }] });
  } else {
    template.push({ label: '&File', submenu: [{ role: 'quit' }] });
  }
  template.push(machine);
  template.push({ label: '&Edit', submenu: [{ role: 'undo' }, { role: 'redo' }, { type: 'separator' }, { role: 'cut' }, { role: 'copy' }, { role: 'paste' }, { role: 'selectAll' }] });
  template.push({ label: '&View', submenu: [{ role: 'resetZoom' }, { role: 'zoomIn' }, { role: 'zoomOut' }, { type: 'separator' }, { role: 'togglefullscreen' }] });
  template.push({ label: '&Window', submenu: mac ? [{ role: 'minimize' }, { role: 'zoom' }, { role: 'front' }] : [{ role: 'minimize' }, { role: 'close' }] });
  return template;
}
