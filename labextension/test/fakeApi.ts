import {
  IAliasHistory,
  IAliasMove,
  IArtifactEntry,
  IArtifactListing,
  IMlopsApi,
  IModelVersion,
  IRegisteredModel,
  IRunSummary,
  IRunsPage,
  IRunsQuery,
  RunStatus
} from '../src/tokens';

/** A run row as `GET runs` answers it. */
export function runRow(
  id: string,
  status: RunStatus,
  extra: Partial<IRunSummary> = {}
): IRunSummary {
  return {
    run_id: id,
    name: `run-${id}`,
    status,
    start_time: '2024-01-01T00:00:00.000+00:00',
    end_time: null,
    experiment_id: '1',
    metrics: {},
    params: {},
    tags: {},
    ...extra
  };
}

/** An API whose answers the test sets; every call is counted. */
export class FakeApi implements IMlopsApi {
  pages: Record<string, IRunsPage> = {};
  calls: string[] = [];
  moves: IAliasMove[] = [];

  async status(): Promise<any> {
    this.calls.push('status');
    return {};
  }
  async experiments() {
    this.calls.push('experiments');
    return [
      { experiment_id: '2', name: 'empty' },
      { experiment_id: '1', name: 'churn' }
    ];
  }
  /** What each `runs` call asked (filter, order, page). */
  queries: IRunsQuery[] = [];
  async runs(experimentId: string, options: IRunsQuery = {}) {
    this.calls.push(`runs:${experimentId}`);
    this.queries.push(options);
    const page = this.pages[experimentId] ?? { runs: [], next_page_token: null };
    return { ...page, runs: page.runs.slice(0, options.maxResults ?? 1000) };
  }
  async run(runId: string): Promise<any> {
    this.calls.push(`run:${runId}`);
    return { ...runRow(runId, 'FINISHED'), inputs: [], artifacts: [] };
  }
  async metricHistory(runId: string, key: string) {
    return { run_id: runId, key, history: [] };
  }
  async notebookDiff(base: string, other: string) {
    this.calls.push(`notebookDiff:${base}/${other}`);
    return { base_run_id: base, remote_run_id: other, base: {}, diff: [] };
  }
  async models(): Promise<IRegisteredModel[]> {
    return [];
  }
  async versions(): Promise<IModelVersion[]> {
    return [];
  }
  async modelCard(name: string, version: number) {
    return { name, version, markdown: '', html: '' };
  }
  async compare(name: string, a: number, b: number): Promise<any> {
    this.calls.push(`compare:${name}/${a}/${b}`);
    return this.comparison;
  }
  comparison: any = null;
  async setAlias(name: string, alias: string, version: number, reason?: string) {
    this.calls.push(`setAlias:${name}/${alias}/${version}/${reason ?? ''}`);
    return { name, version, aliases: [alias] };
  }
  async history(name: string): Promise<IAliasHistory> {
    this.calls.push(`history:${name}`);
    return { name, rows: this.moves, truncated: false };
  }
  async monitoring(name: string, version: number) {
    this.calls.push(`monitoring:${name}/${version}`);
    return {
      name,
      version,
      experiment_id: null,
      windows: [],
      last: null,
      truncated: false
    };
  }
  async data(): Promise<any> {
    return { root: '/', remote: null, ok: true, initialized: false, paths: {} };
  }
  async addData() {
    return { versions: [], notes: [] };
  }
  /** Artifact folders by path ("" for the top). */
  folders: Record<string, IArtifactEntry[]> = {};
  async artifacts(runId: string, path: string): Promise<IArtifactListing> {
    this.calls.push(`artifacts:${runId}/${path}`);
    return { run_id: runId, path, artifacts: this.folders[path] ?? [], truncated: false };
  }
  async artifactJson(runId: string, path: string): Promise<unknown> {
    this.calls.push(`artifactJson:${runId}/${path}`);
    return { cells: [] };
  }
  artifactUrl(runId: string, path: string): string {
    return `/mlops/api/runs/${runId}/artifacts/${path}`;
  }
}
