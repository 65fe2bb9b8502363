import { messageOf } from './request';
import { SectionModel } from './sectionModel';
import { IArtifactEntry, IMetricPoint, IMlopsApi, IRunDetails, LIVE_STATUSES } from './tokens';

/** The history of one metric, or why it could not be read. */
export interface IHistoryState {
  points: IMetricPoint[] | null;
  error: string | null;
}

/** One folder of the run's artifacts as listed, or why it could not be. */
export interface IFolderState {
  entries: IArtifactEntry[] | null;
  truncated: boolean;
  error: string | null;
}

/**
 * One run opened in the panel: its details and the history of each metric
 * (one request per metric, made when the run is opened or refreshed).
 */
export class RunDetailsModel extends SectionModel {
  /**
   * @param api - the REST API
   * @param runId - the run to show
   */
  constructor(
    private readonly _api: IMlopsApi,
    readonly runId: string
  ) {
    super();
  }

  /** The run, once loaded. */
  get run(): IRunDetails | null {
    return this._run;
  }

  /** Whether the run is still going (so its metrics may still grow). */
  get isLive(): boolean {
    return this._run !== null && LIVE_STATUSES.has(this._run.status);
  }

  /** The history of metric `key` (`undefined` until it is requested). */
  history(key: string): IHistoryState | undefined {
    return this._histories.get(key);
  }

  /** The listing of artifact folder `path` ("" for the top; `undefined` until listed). */
  folder(path: string): IFolderState | undefined {
    return this._folders.get(path);
  }

  /** The URL that serves the run's artifact `path`. */
  artifactUrl(path: string): string {
    return this._api.artifactUrl(this.runId, path);
  }

  /** Whether artifact folder `path` is expanded. */
  isExpanded(path: string): boolean {
    return this._expanded.has(path);
  }

  /** Expand a folder (listing it the first time) or collapse it. */
  async toggleFolder(path: string): Promise<void> {
    if (this._expanded.delete(path)) {
      this.stateChanged.emit();
      return;
    }
    this._expanded.add(path);
    this.stateChanged.emit();
    if (!this._folders.has(path)) {
      await this._loadFolder(path);
      this.stateChanged.emit();
    }
  }

  /**
   * Load (or reload) the run, the history of each of its metrics and the
   * artifact folders shown (the top and every expanded one).
   */
  async load(): Promise<void> {
    await this.guard(async () => {
      const run = await this._api.run(this.runId);
      await Promise.all([
        ...Object.keys(run.metrics).map(key => this._loadHistory(key)),
        ...['', ...this._expanded].map(path => this._loadFolder(path))
      ]);
      this._run = run;
    });
  }

  private async _loadFolder(path: string): Promise<void> {
    try {
      const listing = await this._api.artifacts(this.runId, path);
      this._folders.set(path, {
        entries: listing.artifacts,
        truncated: listing.truncated,
        error: null
      });
    } catch (error) {
      this._folders.set(path, { entries: null, truncated: false, error: messageOf(error) });
    }
  }

  private async _loadHistory(key: string): Promise<void> {
    try {
      const reply = await this._api.metricHistory(this.runId, key);
      this._histories.set(key, { points: reply.history, error: null });
    } catch (error) {
      this._histories.set(key, { points: null, error: messageOf(error) });
    }
  }

  private _run: IRunDetails | null = null;
  private _histories = new Map<string, IHistoryState>();
  private _folders = new Map<string, IFolderState>();
  private _expanded = new Set<string>();
}
