import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ISignal, Signal } from '@lumino/signaling';

/** The metric and param columns the runs table shows for one experiment. */
export interface IRunsColumns {
  metrics: string[];
  params: string[];
}

/** The name column's width when none was chosen (px). */
export const DEFAULT_NAME_WIDTH = 120;
/** The narrowest and widest name column a drag may make (px), as the schema says. */
export const MIN_NAME_WIDTH = 48;
export const MAX_NAME_WIDTH = 1200;

/**
 * What the Runs view remembers between sessions: the columns chosen per
 * experiment name and the name column's width. Kept in JupyterLab's settings
 * registry once `attach` gives it the plugin's settings; without them (no
 * registry) only for this page, so the panel works either way.
 */
export class RunsSettings {
  /** Emitted when a value changes (here or in the Settings editor). */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Read and follow the plugin's settings; later changes are written there. */
  attach(settings: ISettingRegistry.ISettings): void {
    this._settings = settings;
    const read = () => {
      this._columns = validColumns(settings.composite.runsColumns);
      this._nameWidth = clampWidth(settings.composite.runsNameWidth);
      this._changed.emit();
    };
    settings.changed.connect(read);
    read();
  }

  /** The columns chosen for `experiment`, or null when none were. */
  columns(experiment: string): IRunsColumns | null {
    return Object.prototype.hasOwnProperty.call(this._columns, experiment)
      ? this._columns[experiment]
      : null;
  }

  /** Remember the columns of `experiment`. */
  async setColumns(experiment: string, columns: IRunsColumns): Promise<void> {
    this._columns = { ...this._columns, [experiment]: columns };
    this._changed.emit();
    await this._settings?.set('runsColumns', this._columns as any);
  }

  get nameWidth(): number {
    return this._nameWidth;
  }

  /** Remember the name column's width (clamped to the schema's range). */
  async setNameWidth(width: number): Promise<void> {
    this._nameWidth = clampWidth(width);
    this._changed.emit();
    await this._settings?.set('runsNameWidth', this._nameWidth);
  }

  private _settings: ISettingRegistry.ISettings | null = null;
  private _columns: Record<string, IRunsColumns> = {};
  private _nameWidth = DEFAULT_NAME_WIDTH;
  private _changed = new Signal<this, void>(this);
}

/** A width in the schema's range (a stored value is input too). */
export function clampWidth(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return DEFAULT_NAME_WIDTH;
  }
  return Math.round(Math.min(MAX_NAME_WIDTH, Math.max(MIN_NAME_WIDTH, value)));
}

/** The well-formed entries of a stored `runsColumns` (others are left out). */
function validColumns(value: unknown): Record<string, IRunsColumns> {
  const found: Record<string, IRunsColumns> = {};
  if (!value || typeof value !== 'object') {
    return found;
  }
  const strings = (list: unknown): list is string[] =>
    Array.isArray(list) && list.every(item => typeof item === 'string');
  for (const [name, entry] of Object.entries(value as Record<string, any>)) {
    if (entry && strings(entry.metrics) && strings(entry.params)) {
      found[name] = { metrics: [...entry.metrics], params: [...entry.params] };
    }
  }
  return found;
}
