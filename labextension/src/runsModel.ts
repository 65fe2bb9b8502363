import { IPoll, Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { PAGE_SIZE } from './api';
import { RunDetailsModel } from './detailsModel';
import { keyMetrics } from './format';
import { ApiError, messageOf } from './request';
import { IRunsOrder, NEWEST_FIRST, nextOrder, orderClause, SortColumn } from './runsLayout';
import { IRunsColumns, RunsSettings } from './runsSettings';
import { SectionModel } from './sectionModel';
import { IExperiment, IMlopsApi, IRunSummary, LIVE_STATUSES } from './tokens';

/** What the Runs section shows. */
export type RunsView = 'list' | 'details' | 'compare';

/** The tag MLflow gives a child run: its parent's id. */
const PARENT_TAG = 'mlflow.parentRunId';
/** Experiments probed for runs when choosing the default one. */
const PROBE_LIMIT = 20;
/** The largest page the API gives (a refresh re-reads every loaded row). */
const MAX_PAGE = 1000;

/**
 * The Runs section: experiments, one experiment's runs page by page, the runs
 * selected for comparison and the run opened in details.
 *
 * A `Poll` re-reads the loaded runs (and the opened run) every few seconds
 * while any is RUNNING, slowly otherwise, backs off when the server fails, and
 * stands by as its `standby` option says (the panel passes "hidden").
 */
export class RunsModel extends SectionModel {
  constructor(options: RunsModel.IOptions) {
    super();
    this._api = options.api;
    this._live = { ...RunsModel.LIVE, ...options.live };
    this._idle = { ...RunsModel.IDLE, ...options.idle };
    this._poll = new Poll({
      auto: false,
      factory: () => this._tick(),
      frequency: this._idle,
      name: 'jupyter-mlops:runs',
      standby: options.standby ?? 'when-hidden'
    });
    this.settings = options.settings ?? new RunsSettings();
    this.settings.changed.connect(() => this.stateChanged.emit());
  }

  /** What the view remembers (columns per experiment, the name column's width). */
  readonly settings: RunsSettings;

  /** The poll that refreshes runs (its frequency says live or idle). */
  get poll(): Poll<void, unknown, 'standby'> {
    return this._poll;
  }

  get experiments(): IExperiment[] {
    return this._experiments;
  }

  get experimentId(): string | null {
    return this._experimentId;
  }

  get runs(): IRunSummary[] {
    return this._runs;
  }

  /** The experiment shown's name (columns are remembered by it). */
  get experimentName(): string | null {
    const found = this._experiments.find(e => e.experiment_id === this._experimentId);
    return found?.name ?? null;
  }

  /** The filter applied (MLflow's search syntax, or words of a run's name). */
  get filter(): string {
    return this._filter;
  }

  /** The server's one line for the last filter or order it refused, if it did. */
  get filterError(): string | null {
    return this._filterError;
  }

  /** The order of the runs (newest first until a header is clicked). */
  get order(): IRunsOrder {
    return this._order;
  }

  /** The metric and param columns shown: the ones chosen, else the key metrics. */
  get columns(): IRunsColumns {
    const name = this.experimentName;
    const chosen = name === null ? null : this.settings.columns(name);
    return chosen ?? { metrics: keyMetrics(this._runs), params: [] };
  }

  /** Ids of the parents whose children are shown. */
  get expanded(): ReadonlySet<string> {
    return this._expanded;
  }

  /** Whether the API has more runs than the loaded ones. */
  get hasMore(): boolean {
    return this._nextPageToken !== null;
  }

  get view(): RunsView {
    return this._view;
  }

  /** The run opened in details, if any. */
  get details(): RunDetailsModel | null {
    return this._details;
  }

  /** Ids of the runs ticked for comparison. */
  get selected(): ReadonlySet<string> {
    return this._selected;
  }

  /** The ticked runs, in table order. */
  get selectedRuns(): IRunSummary[] {
    return this._runs.filter(run => this._selected.has(run.run_id));
  }

  /** The loaded runs whose parent is run `id` (a sweep's points), in table order. */
  childrenOf(id: string): IRunSummary[] {
    return this._runs.filter(run => run.tags[PARENT_TAG] === id);
  }

  /** Compare the loaded children of run `id` (at least two), e.g. a sweep's points. */
  compareChildren(id: string): void {
    const children = this.childrenOf(id);
    if (children.length < 2) {
      return;
    }
    this._selected = new Set(children.map(run => run.run_id));
    this.show('compare');
  }

  /** Fires when the notebook diff of two compared runs is asked for (base, then other). */
  get notebookDiffRequested(): ISignal<this, [IRunSummary, IRunSummary]> {
    return this._notebookDiffRequested;
  }

  /**
   * Ask for the notebook diff of the two compared runs, from the one that
   * started first to the other (the one who listens opens it).
   */
  requestNotebookDiff(): void {
    const runs = this.selectedRuns;
    if (runs.length === 2) {
      const [a, b] = runs;
      const older = (b.start_time ?? '') < (a.start_time ?? '');
      this._notebookDiffRequested.emit(older ? [b, a] : [a, b]);
    }
  }

  /** Whether a loaded run (or the opened one) is still going. */
  get hasLive(): boolean {
    return (
      this._runs.some(run => LIVE_STATUSES.has(run.status)) || (this._details?.isLive ?? false)
    );
  }

  /**
   * Load the experiments, choose one (the newest that has runs, else the
   * first) unless one is chosen already, load its runs (and the opened run)
   * and start polling.
   */
  async load(): Promise<void> {
    await this.guard(async () => {
      this._experiments = await this._api.experiments();
      const known = this._experiments.some(e => e.experiment_id === this._experimentId);
      if (!known) {
        this._experimentId = await this._defaultExperiment();
      }
      await this._fetch();
      if (this._view === 'details' && this._details) {
        await this._details.load();
      }
    });
    void this._poll.schedule({
      interval: this._poll.frequency.interval,
      phase: 'started'
    });
  }

  /** Show the runs of experiment `id` (selection and details are reset). */
  async selectExperiment(id: string): Promise<void> {
    this._experimentId = id;
    this._runs = [];
    this._nextPageToken = null;
    this._selected.clear();
    this._expanded.clear();
    this._order = NEWEST_FIRST; // its columns are another experiment's
    this._filterError = null;
    this._view = 'list';
    await this.reload();
  }

  /** Re-read the loaded runs now (and the opened run). */
  async reload(): Promise<void> {
    await this.guard(async () => {
      await this._fetch();
      if (this._view === 'details' && this._details) {
        await this._details.load();
      }
    });
  }

  /** Append the next page of runs. */
  async loadMore(): Promise<void> {
    const id = this._experimentId;
    const token = this._nextPageToken;
    if (id === null || token === null) {
      return;
    }
    await this.guard(async () => {
      const page = await this._api.runs(id, {
        maxResults: PAGE_SIZE,
        pageToken: token,
        ...this._query()
      });
      if (id === this._experimentId) {
        const seen = new Set(this._runs.map(run => run.run_id));
        this._runs = [...this._runs, ...page.runs.filter(run => !seen.has(run.run_id))];
        this._nextPageToken = page.next_page_token;
      }
    });
  }

  /**
   * Show the runs `text` finds (blank: all). A filter the server refuses
   * leaves the list as it was and its one line in `filterError`.
   */
  async search(text: string): Promise<void> {
    const previous = this._filter;
    this._filter = text.trim();
    await this._refetch(() => (this._filter = previous));
  }

  /** Sort by `column` on the server; the same column again reverses. */
  async sortBy(column: SortColumn): Promise<void> {
    const previous = this._order;
    this._order = nextOrder(this._order, column);
    await this._refetch(() => (this._order = previous));
  }

  /** Show or hide the children of run `id`. */
  toggleExpanded(id: string): void {
    if (!this._expanded.delete(id)) {
      this._expanded.add(id);
    }
    this.stateChanged.emit();
  }

  /** Show or hide a metric or param column (remembered for this experiment). */
  async toggleColumn(kind: 'metrics' | 'params', key: string): Promise<void> {
    const name = this.experimentName;
    if (name === null) {
      return;
    }
    const columns = this.columns;
    const list = columns[kind];
    const next = list.includes(key) ? list.filter(k => k !== key) : [...list, key];
    await this.settings.setColumns(name, { ...columns, [kind]: next });
  }

  /** Tick or untick run `id` for comparison. */
  toggleSelected(id: string): void {
    if (!this._selected.delete(id)) {
      this._selected.add(id);
    }
    this.stateChanged.emit();
  }

  /** Open run `id` in details. */
  async openRun(id: string): Promise<void> {
    this._details?.dispose();
    this._details = new RunDetailsModel(this._api, id);
    this._details.stateChanged.connect(() => this.stateChanged.emit());
    this._view = 'details';
    this.stateChanged.emit();
    await this._details.load();
  }

  /** Show `view` (`compare` needs two ticked runs). */
  show(view: RunsView): void {
    if (view === 'compare' && this._selected.size < 2) {
      return;
    }
    this._view = view;
    this.stateChanged.emit();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._poll.dispose();
    this._details?.dispose();
    super.dispose();
  }

  /** One poll tick: re-read, then poll fast while something is live. */
  private async _tick(): Promise<void> {
    if (this._experimentId === null) {
      return;
    }
    try {
      await this._fetch();
      if (this._details?.isLive && this._view === 'details') {
        await this._details.load();
      }
      this.failure = null;
    } catch (error) {
      this.failure = messageOf(error);
      this.stateChanged.emit();
      throw error; // a rejected tick makes the poll back off
    }
    this._poll.frequency = this.hasLive ? this._live : this._idle;
    this.stateChanged.emit();
  }

  /** Read the first page for a new search or order; `undo` it if the server refuses it. */
  private async _refetch(undo: () => void): Promise<void> {
    this._filterError = null;
    await this.guard(async () => {
      try {
        await this._fetch(PAGE_SIZE);
      } catch (error) {
        if (error instanceof ApiError && error.code === 'bad_filter') {
          undo(); // the poll goes on with the last search the server took
          this._filterError = error.message;
          return;
        }
        throw error;
      }
    });
  }

  /** The filter and order the server searches with. */
  private _query(): { filter?: string; orderBy?: string[] } {
    const clause = orderClause(this._order);
    return {
      filter: this._filter || undefined,
      orderBy: clause && this._order !== NEWEST_FIRST ? [clause] : undefined
    };
  }

  /** Re-read the first page, as large as the rows already loaded (or `size`). */
  private async _fetch(size?: number): Promise<void> {
    const id = this._experimentId;
    if (id === null) {
      return;
    }
    size = size ?? Math.min(MAX_PAGE, Math.max(PAGE_SIZE, this._runs.length));
    const page = await this._api.runs(id, { maxResults: size, ...this._query() });
    if (id !== this._experimentId) {
      return; // another experiment was chosen meanwhile
    }
    this._runs = page.runs;
    this._nextPageToken = page.next_page_token;
    const ids = new Set(page.runs.map(run => run.run_id));
    for (const selected of [...this._selected]) {
      if (!ids.has(selected)) {
        this._selected.delete(selected);
      }
    }
    this._poll.frequency = this.hasLive ? this._live : this._idle;
  }

  private async _defaultExperiment(): Promise<string | null> {
    for (const experiment of this._experiments.slice(0, PROBE_LIMIT)) {
      const page = await this._api.runs(experiment.experiment_id, { maxResults: 1 });
      if (page.runs.length) {
        return experiment.experiment_id;
      }
    }
    return this._experiments[0]?.experiment_id ?? null;
  }

  private _api: IMlopsApi;
  private _poll: Poll<void, unknown, 'standby'>;
  private _live: IPoll.Frequency;
  private _idle: IPoll.Frequency;
  private _experiments: IExperiment[] = [];
  private _experimentId: string | null = null;
  private _runs: IRunSummary[] = [];
  private _nextPageToken: string | null = null;
  private _view: RunsView = 'list';
  private _details: RunDetailsModel | null = null;
  private _selected = new Set<string>();
  private _expanded = new Set<string>();
  private _filter = '';
  private _filterError: string | null = null;
  private _order: IRunsOrder = NEWEST_FIRST;
  private _notebookDiffRequested = new Signal<this, [IRunSummary, IRunSummary]>(this);
}

/** Options and defaults of `RunsModel`. */
export namespace RunsModel {
  /** Polling while a run is live: every 3 s, backing off to 1 min on errors. */
  export const LIVE: IPoll.Frequency = { interval: 3000, backoff: true, max: 60000 };
  /** Polling while nothing is live: every 30 s (new runs show up), up to 5 min. */
  export const IDLE: IPoll.Frequency = { interval: 30000, backoff: true, max: 300000 };

  export interface IOptions {
    /** The REST API. */
    api: IMlopsApi;
    /** When the poll stands by, e.g. `() => !panel.isVisible || 'when-hidden'`. */
    standby?: Poll.Standby | (() => boolean | Poll.Standby);
    /** Frequency while a run is live (default `LIVE`). */
    live?: Partial<IPoll.Frequency>;
    /** Frequency while nothing is live (default `IDLE`). */
    idle?: Partial<IPoll.Frequency>;
    /** What the view remembers (default: for this page only). */
    settings?: RunsSettings;
  }
}
