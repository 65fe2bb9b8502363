import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IDefaultFileBrowser, IFileBrowserFactory } from '@jupyterlab/filebrowser';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import type { ReadonlyJSONObject } from '@lumino/coreutils';

import { MlopsApi } from './api';
import { openArtifact } from './artifactViews';
import { addCommands, CommandIDs } from './commands';
import { MlopsPanel, PANEL_ID } from './components/Panel';
import { MlopsModel } from './model';
import { IRunSummary } from './tokens';

/** The plugin's id, which names its settings (`schema/plugin.json`). */
const PLUGIN_ID = 'jupyter-mlops:plugin';

/** Where the panel sits among the left sidebar's tabs (after the built-in ones). */
const RANK = 650;

/**
 * The MLOps side panel: runs, DVC-tracked data and registered models of the
 * project served by the `jupyter_mlops` server extension.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'A side panel for runs, DVC-tracked data and registered models.',
  autoStart: true,
  optional: [
    ICommandPalette,
    IFileBrowserFactory,
    IDefaultFileBrowser,
    IRenderMimeRegistry,
    ILayoutRestorer,
    ISettingRegistry
  ],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    browsers: IFileBrowserFactory | null,
    defaultBrowser: IDefaultFileBrowser | null,
    rendermime: IRenderMimeRegistry | null,
    restorer: ILayoutRestorer | null,
    settingRegistry: ISettingRegistry | null
  ): void => {
    // the runs poll stands by while the panel is hidden (and while the tab is)
    const model: MlopsModel = new MlopsModel({
      standby: () => !panel.isVisible || 'when-hidden'
    });
    const api = new MlopsApi();
    const panel = new MlopsPanel({
      model,
      rendermime,
      openArtifact: request => void openArtifact(app, api, rendermime, request)
    });
    app.shell.add(panel, 'left', { rank: RANK });
    // the Runs view's columns and name width are remembered there when it is available
    settingRegistry
      ?.load(PLUGIN_ID)
      .then(settings => model.runs.settings.attach(settings))
      .catch(reason => console.warn('jupyter-mlops: settings not loaded:', reason));
    restorer?.add(panel, PANEL_ID);
    addCommands({
      app,
      model,
      panelId: PANEL_ID,
      palette,
      fileBrowser: () => browsers?.tracker.currentWidget ?? defaultBrowser
    });
    // Compare's "Notebook diff": nbdime's diff of two runs' snapshots in a main-area tab
    app.commands.addCommand(CommandIDs.notebookDiff, {
      label: 'Notebook Diff of Two Runs',
      isEnabled: () => rendermime !== null,
      execute: async args => {
        const { base, other } = args as unknown as { base: IRunSummary; other: IRunSummary };
        if (rendermime) {
          const { openNotebookDiff } = await import('./notebookDiff'); // nbdime, on first use
          await openNotebookDiff(app, model.api, rendermime, base, other);
        }
      }
    });
    model.runs.notebookDiffRequested.connect((_, [base, other]) => {
      void app.commands.execute(CommandIDs.notebookDiff, {
        base: base as unknown as ReadonlyJSONObject,
        other: other as unknown as ReadonlyJSONObject
      });
    });
  }
};

export default plugin;
