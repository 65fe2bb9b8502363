import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Button, refreshIcon, VDomRenderer } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import * as React from 'react';

import { IArtifactOpenRequest } from '../artifacts';
import { mlopsIcon } from '../icons';
import { MlopsModel, Section, SECTIONS } from '../model';
import { DataView } from './DataView';
import { ModelsView } from './ModelsView';
import { RunsView } from './RunsView';

/** The sidebar widget's id (JupyterLab puts it on the tab as `data-id`). */
export const PANEL_ID = 'jupyter-mlops-panel';

const LABELS: Record<Section, string> = { runs: 'Runs', data: 'Data', models: 'Models' };

/**
 * The MLOps side panel: one renderer over `MlopsModel`, re-rendered when any
 * section changes. Sections load when first shown; the runs poll refreshes
 * as soon as the panel is shown again.
 */
export class MlopsPanel extends VDomRenderer<MlopsModel> {
  constructor(options: MlopsPanel.IOptions) {
    super(options.model);
    this._rendermime = options.rendermime ?? null;
    this._openArtifact = options.openArtifact;
    this.id = PANEL_ID;
    this.addClass('jp-mlops-panel');
    this.title.icon = mlopsIcon;
    this.title.caption = 'MLOps';
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._wake();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    if (this.isVisible) {
      this._wake();
    }
  }

  protected render(): JSX.Element {
    const model = this.model;
    return (
      <div className="jp-mlops">
        <header className="jp-mlops-header">
          <h2 className="jp-mlops-title">MLOps</h2>
          <Button
            minimal
            small
            className="jp-mlops-refresh"
            title="Refresh"
            aria-label="Refresh"
            onClick={() => void model.refresh()}
          >
            <refreshIcon.react tag="span" />
          </Button>
        </header>
        <nav className="jp-mlops-sections" aria-label="MLOps sections">
          {SECTIONS.map(section => (
            <button
              key={section}
              type="button"
              className={`jp-mlops-section-button${model.section === section ? ' jp-mod-active' : ''}`}
              data-mlops-section={section}
              aria-pressed={model.section === section}
              onClick={() => void model.show(section)}
            >
              {LABELS[section]}
            </button>
          ))}
        </nav>
        <div className="jp-mlops-body">
          {model.section === 'runs' && (
            <RunsView model={model.runs} onOpenArtifact={this._openArtifact} />
          )}
          {model.section === 'data' && <DataView model={model.data} />}
          {model.section === 'models' && (
            <ModelsView model={model.registry} rendermime={this._rendermime} />
          )}
        </div>
      </div>
    );
  }

  /** Load the shown section the first time; afterwards refresh runs at once. */
  private _wake(): void {
    const model = this.model;
    if (!model.isLoaded(model.section)) {
      void model.show(model.section);
    } else if (model.section === 'runs') {
      void model.runs.poll.refresh();
    }
  }

  private _rendermime: IRenderMimeRegistry | null;
  private _openArtifact: ((request: IArtifactOpenRequest) => void) | undefined;
}

/** Options of `MlopsPanel`. */
export namespace MlopsPanel {
  export interface IOptions {
    model: MlopsModel;
    /** Renders model cards as Markdown; without it they show as text. */
    rendermime?: IRenderMimeRegistry | null;
    /** Opens a run's report or notebook snapshot in the main area. */
    openArtifact?: (request: IArtifactOpenRequest) => void;
  }
}
