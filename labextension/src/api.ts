import { ServerConnection } from '@jupyterlab/services';

import { apiUrl, requestAPI } from './request';
import {
  IAliasHistory,
  IArtifactListing,
  IDataAdded,
  IDataStatus,
  IExperiment,
  IMetricHistory,
  IMlopsApi,
  IModelCard,
  IModelMonitoring,
  IModelsTable,
  IModelVersion,
  INotebookDiff,
  IRegisteredModel,
  IRunDetails,
  IRunsPage,
  IRunsQuery,
  IStatus,
  IVersionComparison
} from './tokens';

/** Rows per page of runs (the API allows 1 to 1000). */
export const PAGE_SIZE = 50;

/** The REST API under `<base_url>/mlops/api/`, one method per route. */
export class MlopsApi implements IMlopsApi {
  /** @param settings - server settings (default: the page's own server) */
  constructor(settings?: ServerConnection.ISettings) {
    this._settings = settings;
  }

  status(): Promise<IStatus> {
    return this._get(['status']);
  }

  async experiments(): Promise<IExperiment[]> {
    const reply = await this._get<{ experiments: IExperiment[] }>(['experiments']);
    return reply.experiments;
  }

  runs(experimentId: string, options: IRunsQuery = {}): Promise<IRunsPage> {
    return this._get(['runs'], {
      experiment_id: experimentId,
      max_results: options.maxResults ?? PAGE_SIZE,
      page_token: options.pageToken || undefined,
      filter: options.filter || undefined,
      order_by: options.orderBy?.length ? options.orderBy : undefined
    });
  }

  run(runId: string): Promise<IRunDetails> {
    return this._get(['runs', runId]);
  }

  metricHistory(runId: string, key: string): Promise<IMetricHistory> {
    return this._get(['runs', runId, 'metrics', key]);
  }

  notebookDiff(baseRunId: string, otherRunId: string): Promise<INotebookDiff> {
    return this._get(['runs', baseRunId, 'notebook-diff', otherRunId]);
  }

  async models(): Promise<IRegisteredModel[]> {
    const table = await this._get<IModelsTable<IRegisteredModel>>(['models']);
    return table.rows;
  }

  async versions(name: string): Promise<IModelVersion[]> {
    const table = await this._get<IModelsTable<IModelVersion>>(['models', name]);
    return table.rows;
  }

  modelCard(name: string, version: number): Promise<IModelCard> {
    return this._get(['models', name, 'versions', String(version), 'card']);
  }

  /** Versions `a` and `b` of model `name` side by side (contracts' differences too). */
  compare(name: string, a: number, b: number): Promise<IVersionComparison> {
    return this._get(['models', name, 'compare'], { a, b });
  }

  monitoring(name: string, version: number): Promise<IModelMonitoring> {
    return this._get(['models', name, 'versions', String(version), 'monitoring']);
  }

  /** A reason, when given, is recorded in the alias history with the move. */
  setAlias(name: string, alias: string, version: number, reason?: string): Promise<IModelVersion> {
    const body = reason ? { alias, version, reason } : { alias, version };
    return requestAPI(['models', name, 'aliases'], {
      method: 'POST',
      body,
      settings: this._settings
    });
  }

  history(name: string): Promise<IAliasHistory> {
    return this._get(['models', name, 'history']);
  }

  data(): Promise<IDataStatus> {
    return this._get(['data']);
  }

  addData(path: string): Promise<IDataAdded> {
    return requestAPI(['data'], {
      method: 'POST',
      body: { path },
      settings: this._settings
    });
  }

  artifacts(runId: string, path: string): Promise<IArtifactListing> {
    return this._get(['runs', runId, 'artifacts'], { path: path || undefined });
  }

  artifactJson(runId: string, path: string): Promise<unknown> {
    return this._get(['runs', runId, 'artifacts', ...artifactSegments(path)]);
  }

  /** Served with the cookie the lab page logged in with; the server's CSP keeps it inert. */
  artifactUrl(runId: string, path: string): string {
    const settings = this._settings ?? ServerConnection.makeSettings();
    return apiUrl(settings.baseUrl, ['runs', runId, 'artifacts', ...artifactSegments(path)]);
  }

  private _get<T>(parts: string[], query?: requestAPI.Query): Promise<T> {
    return requestAPI<T>(parts, { query, settings: this._settings });
  }

  private _settings: ServerConnection.ISettings | undefined;
}

/** An artifact path as URL segments: each `/`-separated part encoded on its own. */
export function artifactSegments(path: string): string[] {
  return path.split('/').filter(part => part !== '');
}
