import { JupyterFrontEnd } from '@jupyterlab/application';
import { ICommandPalette, Notification, showErrorMessage } from '@jupyterlab/apputils';
import { FileBrowser } from '@jupyterlab/filebrowser';
import { Contents } from '@jupyterlab/services';
import { refreshIcon } from '@jupyterlab/ui-components';

import { mlopsIcon } from './icons';
import { MlopsModel } from './model';
import { ApiError, messageOf } from './request';
import { IDataAdded } from './tokens';

/** Command ids. */
export namespace CommandIDs {
  export const open = 'jupyter-mlops:open';
  export const refresh = 'jupyter-mlops:refresh';
  export const versionWithDvc = 'jupyter-mlops:version-with-dvc';
  /** Compare's "Notebook diff": two runs' notebook snapshots in a main-area tab. */
  export const notebookDiff = 'jupyter-mlops:notebook-diff';
}

/** The palette category of the commands. */
export const CATEGORY = 'MLOps';

/** File browser items the context menu command applies to. */
export const FILE_ITEM_SELECTOR = '.jp-DirListing-item[data-isdir]';

/**
 * Register the panel's commands, their palette entries and "Version with DVC"
 * in the file browser's context menu.
 */
export function addCommands(options: addCommands.IOptions): void {
  const { app, model, panelId, palette } = options;
  const { commands, serviceManager } = app;

  commands.addCommand(CommandIDs.open, {
    label: 'Open MLOps Panel',
    caption: 'Runs, DVC-tracked data and registered models',
    icon: args => (args.isPalette ? undefined : mlopsIcon),
    execute: () => app.shell.activateById(panelId)
  });

  commands.addCommand(CommandIDs.refresh, {
    label: 'Refresh MLOps Panel',
    icon: args => (args.isPalette ? undefined : refreshIcon),
    execute: () => model.refresh()
  });

  /** The selected files and folders, as paths relative to the server's root. */
  const selectedPaths = (): string[] => {
    const browser = options.fileBrowser();
    if (!browser) {
      return [];
    }
    const contents = serviceManager.contents;
    return [...browser.selectedItems()]
      .filter(item => contents.driveName(item.path) === '')
      .map((item: Contents.IModel) => contents.localPath(item.path));
  };

  commands.addCommand(CommandIDs.versionWithDvc, {
    label: args => (args.isPalette ? 'Version Selected File with DVC' : 'Version with DVC'),
    caption: 'Track the selected files or folders with DVC (dvc add)',
    icon: args => (args.isPalette ? undefined : mlopsIcon),
    isEnabled: () => selectedPaths().length > 0,
    execute: async () => {
      for (const path of selectedPaths()) {
        await versionWithDvc(model, path);
      }
    }
  });

  app.contextMenu.addItem({
    command: CommandIDs.versionWithDvc,
    selector: FILE_ITEM_SELECTOR,
    rank: 60
  });

  for (const command of [CommandIDs.open, CommandIDs.refresh, CommandIDs.versionWithDvc]) {
    palette?.addItem({ command, category: CATEGORY, args: { isPalette: true } });
  }
}

/** Version one path; say how it went in a notification. */
async function versionWithDvc(model: MlopsModel, path: string): Promise<void> {
  const id = Notification.emit(`Versioning ${path} with DVC…`, 'in-progress', {
    autoClose: false
  });
  try {
    const added: IDataAdded = await model.data.add(path);
    const next = added.notes.find(note => note.includes('git commit')) ?? '';
    Notification.update({
      id,
      message: `Versioned ${path} with DVC. ${next}`.trim(),
      type: 'success',
      autoClose: 8000
    });
  } catch (error) {
    Notification.dismiss(id);
    if (error instanceof ApiError && error.status > 0) {
      Notification.error(`Cannot version ${path}: ${error.message}`, { autoClose: false });
    } else {
      await showErrorMessage('Version with DVC', messageOf(error));
    }
  }
}

/** Options of `addCommands`. */
export namespace addCommands {
  export interface IOptions {
    app: JupyterFrontEnd;
    model: MlopsModel;
    /** The panel's widget id. */
    panelId: string;
    palette: ICommandPalette | null;
    /** The file browser whose selection "Version with DVC" uses. */
    fileBrowser: () => FileBrowser | null;
  }
}
