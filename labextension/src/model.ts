import { VDomModel } from '@jupyterlab/ui-components';
import { Poll } from '@lumino/polling';

import { MlopsApi } from './api';
import { DataModel } from './dataModel';
import { RegistryModel } from './registryModel';
import { RunsModel } from './runsModel';
import { IMlopsApi } from './tokens';

/** The panel's sections. */
export type Section = 'runs' | 'data' | 'models';

/** Every section, in the order the panel shows their buttons. */
export const SECTIONS: ReadonlyArray<Section> = ['runs', 'data', 'models'];

/**
 * The state of the MLOps panel: the section shown and one model per section.
 * A section loads when it is first shown; `stateChanged` fires when any of
 * them changes, so one renderer can follow them all.
 */
export class MlopsModel extends VDomModel {
  constructor(options: MlopsModel.IOptions = {}) {
    super();
    this.api = options.api ?? new MlopsApi();
    const standby = options.standby ?? 'when-hidden';
    this.runs = new RunsModel({
      api: this.api,
      // the runs poll also stands by while another section is shown
      standby: () =>
        this._section !== 'runs' || (typeof standby === 'function' ? standby() : standby)
    });
    this.data = new DataModel(this.api);
    this.registry = new RegistryModel(this.api);
    for (const child of [this.runs, this.data, this.registry]) {
      child.stateChanged.connect(this._forward, this);
    }
  }

  /** The REST API the sections read. */
  readonly api: IMlopsApi;
  /** The Runs section. */
  readonly runs: RunsModel;
  /** The Data section. */
  readonly data: DataModel;
  /** The Models section. */
  readonly registry: RegistryModel;

  /** The section shown. */
  get section(): Section {
    return this._section;
  }

  /** Show `section`, loading it the first time. */
  async show(section: Section): Promise<void> {
    this._section = section;
    this.stateChanged.emit();
    if (!this._loaded.has(section)) {
      await this.refresh(section);
    } else if (section === 'runs') {
      await this.runs.poll.refresh();
    }
  }

  /** Re-read `section` (default: the one shown) from the server. */
  async refresh(section: Section = this._section): Promise<void> {
    this._loaded.add(section);
    switch (section) {
      case 'runs':
        await this.runs.load();
        break;
      case 'data':
        await this.data.load();
        break;
      case 'models':
        await this.registry.load();
        break;
    }
  }

  /** Whether `section` has been loaded at least once. */
  isLoaded(section: Section): boolean {
    return this._loaded.has(section);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.runs.dispose();
    this.data.dispose();
    this.registry.dispose();
    super.dispose();
  }

  private _forward(): void {
    this.stateChanged.emit();
  }

  private _section: Section = 'runs';
  private _loaded = new Set<Section>();
}

/** Options of `MlopsModel`. */
export namespace MlopsModel {
  export interface IOptions {
    /** The REST API (default: the page's own Jupyter server). */
    api?: IMlopsApi;
    /** When the runs poll stands by (the panel passes "hidden"). */
    standby?: Poll.Standby | (() => boolean | Poll.Standby);
  }
}
