import { messageOf } from './request';
import { SectionModel } from './sectionModel';
import { IMetricPoint, IMlopsApi, IRunDetails, LIVE_STATUSES } from './tokens';

/** The history of one metric, or why it could not be read. */
export interface IHistoryState {
  points: IMetricPoint[] | null;
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

  /** Load (or reload) the run and the history of each of its metrics. */
  async load(): Promise<void> {
    await this.guard(async () => {
      const run = await this._api.run(this.runId);
      await Promise.all(Object.keys(run.metrics).map(key => this._loadHistory(key)));
      this._run = run;
    });
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
}
