/**
 * The shapes the REST API under `<base_url>/mlops/api/` answers
 * (`jupyter_mlops/server/openapi.yaml` is the reference), and the client the
 * models talk through.
 */

/** A metric value: MLflow writes non-finite numbers as strings. */
export type MetricValue = number | 'NaN' | 'Infinity' | '-Infinity';

/** Run statuses as MLflow names them. */
export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';

/** `GET status`: where the panel's data comes from. */
export interface IStatus {
  version: string;
  root_dir: string;
  project_root: string;
  tracking_uri: string;
  tracking_uri_source?: string;
  registry_uri: string;
  experiment?: string | null;
  dvc: { initialized: boolean; remote: string | null };
  git: boolean;
}

/** One row of `GET experiments`. */
export interface IExperiment {
  experiment_id: string;
  name: string;
  lifecycle_stage?: string;
  creation_time?: string | null;
  last_update_time?: string | null;
  tags?: Record<string, string>;
}

/** What `GET runs` is asked: a page, a filter and an order. */
export interface IRunsQuery {
  maxResults?: number;
  pageToken?: string | null;
  /** MLflow's search syntax, or words of a run's name. */
  filter?: string;
  /** MLflow's order clauses (`metrics.\`acc\` DESC`). */
  orderBy?: string[];
}

/** One row of `GET runs`. */
export interface IRunSummary {
  run_id: string;
  name: string | null;
  status: RunStatus;
  start_time: string | null;
  end_time: string | null;
  experiment_id: string;
  /** Who ran it, as the tracking server authenticated them (`mlflow.user`). */
  user?: string | null;
  metrics: Record<string, MetricValue>;
  params: Record<string, string>;
  tags: Record<string, string>;
}

/** A data input of a run (an MLflow dataset). */
export interface IRunInput {
  name: string;
  digest: string;
  source_type: string;
  source: string;
  context: string | null;
}

/** `GET runs/<run_id>`: a run with every tag, inputs and top-level artifacts. */
export interface IRunDetails extends IRunSummary {
  lifecycle_stage?: string;
  artifact_uri?: string;
  inputs: IRunInput[];
  artifacts: { path: string; is_dir: boolean; file_size: number | null }[] | null;
  artifacts_error?: string | null;
}

/** `GET runs`: one page of runs and the token of the next. */
export interface IRunsPage {
  runs: IRunSummary[];
  next_page_token: string | null;
}

/** One point of a metric's history. */
export interface IMetricPoint {
  step: number;
  value: MetricValue;
  timestamp: number;
}

/** `GET runs/<run_id>/metrics/<key>`. */
export interface IMetricHistory {
  run_id: string;
  key: string;
  history: IMetricPoint[];
}

/** One row of `GET models`. */
export interface IRegisteredModel {
  name: string;
  description?: string | null;
  latest_version: number | null;
  aliases: Record<string, number>;
  versions: number;
  created?: string | null;
  last_updated?: string | null;
  tags?: Record<string, string>;
}

/** One row of `GET models/<name>`. */
export interface IModelVersion {
  name: string;
  version: number;
  aliases: string[];
  run_id?: string | null;
  /** The name of the run that made it. */
  run_name?: string | null;
  /** That run's latest metrics (at most 20, by name). */
  metrics?: Record<string, MetricValue>;
  status?: string;
  /** Who promoted it, as the tracking server authenticated them. */
  user?: string | null;
  created?: string | null;
  last_updated?: string | null;
  source?: string | null;
  description?: string | null;
  tags?: Record<string, string>;
}

/** `GET models` (rows are models) or `GET models/<name>` (rows are versions). */
export interface IModelsTable<T> {
  kind: 'models' | 'versions';
  name: string | null;
  registry_uri: string | null;
  rows: T[];
}

/** `GET models/<name>/versions/<version>/card`. */
export interface IModelCard {
  name: string;
  version: number;
  markdown: string;
  /** The card as HTML that loads nothing from elsewhere (raw HTML and images as text). */
  html: string;
  /**
   * The run that made the version as it is now (the card was written at
   * promotion, perhaps while it was still running); null when unreadable.
   */
  run?: {
    id: string;
    name: string | null;
    status: string;
    end_time: number | null;
    /** An older card says this run is running, and it is not any more. */
    card_says_running?: boolean;
  } | null;
}

/** How a value or a column of version b differs from version a. */
export type Change = 'same' | 'changed' | 'added' | 'removed';

/** One param or metric of the two versions' runs. */
export interface IComparedValue {
  key: string;
  a?: MetricValue | string | null;
  b?: MetricValue | string | null;
  change: Change;
}

/** One difference of a contract column (dtype, range, categories, ...). */
export interface IColumnDifference {
  what: 'dtype' | 'range' | 'categories' | 'free_text' | 'required';
  text: string;
}

/** One column of either version's data contract. */
export interface IComparedColumn {
  name: string;
  change: Change;
  a?: Record<string, unknown> | null;
  b?: Record<string, unknown> | null;
  differences: IColumnDifference[];
}

/** One side of `GET models/<name>/compare`. */
export interface IComparedVersion {
  version: number;
  run_id?: string | null;
  run_name?: string | null;
  run_status?: string | null;
  user?: string | null;
  columns?: number | null;
  rows?: number | null;
}

/** `GET models/<name>/compare?a=&b=`: two versions and their contracts' differences. */
export interface IVersionComparison {
  name: string;
  a: IComparedVersion;
  b: IComparedVersion;
  params: IComparedValue[];
  metrics: IComparedValue[];
  contract: {
    compared: boolean;
    columns: IComparedColumn[];
    added: string[];
    removed: string[];
    changed: string[];
    /** Why a version's contract was not read (null when it was). */
    problems: { a: string | null; b: string | null };
  };
}

/** What `monitor` concluded about a window. */
export type MonitorVerdict = 'drifted' | 'stable' | 'inconclusive' | 'empty';

/**
 * One window `monitor` recorded. Read from a store others may write: a
 * field that could not be read is null and named in `problems`.
 */
export interface IMonitoringWindow {
  run_id: string;
  /** UTC ISO times, start inclusive, end exclusive. */
  start: string | null;
  end: string | null;
  verdict: MonitorVerdict | null;
  rows: number | null;
  /** Share of rows out of contract in the worst column, 0 to 1. */
  violation_rate: number | null;
  /** Names of the input columns that drifted (at most 50 kept): text only. */
  drifted: string[];
  /** How many drifted (may exceed `drifted.length`). */
  drifted_count: number | null;
  prediction_drifted: boolean | null;
  problems: string[];
}

/** `GET models/<name>/versions/<version>/monitoring`: a version's health. */
export interface IModelMonitoring {
  name: string;
  version: number;
  /** The experiment `monitoring/<name>`; null when never monitored. */
  experiment_id: string | null;
  /** Oldest first. */
  windows: IMonitoringWindow[];
  last: IMonitoringWindow | null;
  truncated: boolean;
}

/** How an alias was moved (empty when the store holds something else). */
export type AliasVia =
  'api' | 'magic' | 'cli' | 'rest' | 'promote' | 'gate' | 'retrain' | 'sweep' | '';

/**
 * One row of the alias history (`GET models/<name>/history`). Read from a
 * store others may write: every value is text to show as text.
 */
export interface IAliasMove {
  /** ISO 8601 UTC; null for a move made outside jupyter-mlops (time unknown). */
  time: string | null;
  alias: string;
  /** The version before and after (null: none). */
  previous: number | null;
  version: number | null;
  /** False for a gate that refused: the alias stayed. */
  moved: boolean;
  user: string;
  reason: string;
  /** The gate's decision (result, scorer, both scores), when a gate judged. */
  gate: Record<string, unknown> | null;
  forced: boolean;
  via: AliasVia | string;
  /** A move made outside jupyter-mlops, here or between two rows; else empty. */
  note: string;
  /** The history run; null for a note row. */
  run_id: string | null;
}

/** `GET models/<name>/history`: the recorded moves, oldest first. */
export interface IAliasHistory {
  name: string;
  rows: IAliasMove[];
  /** More moves were recorded than read (the oldest are left out). */
  truncated: boolean;
}

/** States `GET data` reports for a tracked path. */
export type DataState =
  'in sync' | 'modified' | 'missing' | 'not in cache' | 'not pushed' | 'not committed';

/** `GET data`: DVC-tracked paths of the project. */
export interface IDataStatus {
  root: string;
  remote: string | null;
  ok: boolean;
  initialized: boolean;
  paths: Record<string, DataState>;
}

/** A version DVC recorded (`POST data`). */
export interface IDataVersion {
  path: string;
  md5: string;
  dvc_file: string;
  size?: number | null;
  rows?: number | null;
}

/** `POST data`: what was versioned and what to do next. */
export interface IDataAdded {
  versions: IDataVersion[];
  notes: string[];
}

/** One entry of `GET runs/<run_id>/artifacts`: a file or a folder of the run. */
export interface IArtifactEntry {
  name: string;
  /** From the run's artifact root, `/`-separated. */
  path: string;
  is_dir: boolean;
  /** Bytes; null for a folder. */
  size: number | null;
}

/** `GET runs/<run_id>/artifacts?path=`: one level of a run's artifacts. */
export interface IArtifactListing {
  run_id: string;
  path: string;
  artifacts: IArtifactEntry[];
  /** More entries than one listing holds. */
  truncated: boolean;
}

/**
 * `GET runs/<a>/notebook-diff/<b>`: run a's notebook snapshot and nbdime's
 * diff from it to run b's, as nbdime's own client renders them. Both come
 * from the store: untrusted, rendered as text or sanitized, never run.
 */
export interface INotebookDiff {
  base_run_id: string;
  remote_run_id: string;
  /** The base notebook (nbformat 4). */
  base: Record<string, unknown>;
  /** nbdime's diff entries. */
  diff: Record<string, unknown>[];
}

/**
 * The REST API as the models use it; `MlopsApi` is the real one, tests pass
 * their own.
 */
export interface IMlopsApi {
  status(): Promise<IStatus>;
  experiments(): Promise<IExperiment[]>;
  runs(experimentId: string, options?: IRunsQuery): Promise<IRunsPage>;
  run(runId: string): Promise<IRunDetails>;
  metricHistory(runId: string, key: string): Promise<IMetricHistory>;
  notebookDiff(baseRunId: string, otherRunId: string): Promise<INotebookDiff>;
  models(): Promise<IRegisteredModel[]>;
  versions(name: string): Promise<IModelVersion[]>;
  modelCard(name: string, version: number): Promise<IModelCard>;
  compare(name: string, a: number, b: number): Promise<IVersionComparison>;
  setAlias(name: string, alias: string, version: number, reason?: string): Promise<IModelVersion>;
  history(name: string): Promise<IAliasHistory>;
  monitoring(name: string, version: number): Promise<IModelMonitoring>;
  data(): Promise<IDataStatus>;
  addData(path: string): Promise<IDataAdded>;
  /** One level of a run's artifacts ("" for the top). */
  artifacts(runId: string, path: string): Promise<IArtifactListing>;
  /** A JSON artifact (a notebook snapshot), parsed: untrusted content. */
  artifactJson(runId: string, path: string): Promise<unknown>;
  /** The URL that serves a run's artifact (for an iframe or a download link). */
  artifactUrl(runId: string, path: string): string;
}

/** Statuses of runs that are still going (the poll speeds up while any is). */
export const LIVE_STATUSES: ReadonlySet<string> = new Set(['RUNNING', 'SCHEDULED']);
