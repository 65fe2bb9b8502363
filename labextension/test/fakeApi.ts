import {
  IAliasHistory,
  IAliasMove,
  IMlopsApi,
  IModelVersion,
  IRegisteredModel,
  IRunSummary,
  IRunsPage,
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
  async runs(experimentId: string, options: { maxResults?: number } = {}) {
    this.calls.push(`runs:${experimentId}`);
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
}
