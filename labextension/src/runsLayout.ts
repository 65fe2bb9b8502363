import { IRunSummary } from './tokens';

/** MLflow's tag naming a child run's parent. */
export const PARENT_TAG = 'mlflow.parentRunId';

/** Pixels a child's name sits right of its parent's (past the parent's twisty). */
export const INDENT = 26;

/** The elision mark of a shortened name. */
export const ELLIPSIS = '…';

/** A row of the runs table: a run and, for a parent, its children on the page. */
export interface IRunNode {
  run: IRunSummary;
  /** Loaded runs whose parent is this run, in the page's order. */
  children: IRunSummary[];
  /** The parent's id when this run is a child whose parent is not on the page. */
  orphanOf: string | null;
}

/**
 * Loaded runs as the table shows them: each child under its parent (in the
 * page's order, so a sort applies within a parent too), a child whose parent
 * is not loaded at top level and marked as such. Why: a sweep's points, a
 * model's candidates and a segment's runs would otherwise drown the list.
 */
export function runTree(runs: IRunSummary[]): IRunNode[] {
  const ids = new Set(runs.map(run => run.run_id));
  const children = new Map<string, IRunSummary[]>();
  const top: IRunSummary[] = [];
  for (const run of runs) {
    const parent = run.tags[PARENT_TAG];
    if (parent && parent !== run.run_id && ids.has(parent)) {
      const list = children.get(parent) ?? [];
      list.push(run);
      children.set(parent, list);
    } else {
      top.push(run);
    }
  }
  return top.map(run => {
    const parent = run.tags[PARENT_TAG];
    return {
      run,
      children: children.get(run.run_id) ?? [],
      orphanOf: parent && parent !== run.run_id ? parent : null
    };
  });
}

/** Whether `text` fits the room a label has (`measure` says how wide it is). */
export type Fits = (text: string) => boolean;

/**
 * `text` kept whole when it fits, else shortened in the MIDDLE (its start and
 * its end kept, `…` between): run names often differ only at their end
 * (`…-max_depth=4`, `…-max_depth=5`), which an end ellipsis would hide.
 * `around`, when given, is an index the label must show as well (the first
 * character where `text` differs from another name).
 */
export function middleTruncate(text: string, fits: Fits, around?: number): string {
  if (fits(text)) {
    return text;
  }
  const chars = [...text]; // code points: never split a surrogate pair
  let low = 0;
  let high = chars.length - 1;
  let best = shorten(chars, 0, around);
  while (low <= high) {
    const keep = Math.floor((low + high) / 2);
    const label = shorten(chars, keep, around);
    if (fits(label)) {
      best = label;
      low = keep + 1;
    } else {
      high = keep - 1;
    }
  }
  return best;
}

/** `chars` with `keep` of them kept: start and end, and a window at `around` if given. */
function shorten(chars: string[], keep: number, around?: number): string {
  if (keep >= chars.length) {
    return chars.join('');
  }
  if (around === undefined || keep < 3) {
    const head = Math.ceil(keep / 2);
    const tail = keep - head;
    return chars.slice(0, head).join('') + ELLIPSIS + chars.slice(chars.length - tail).join('');
  }
  // a quarter for the start, half for the difference, a quarter for the end
  const head = Math.max(1, Math.floor(keep / 4));
  const tail = Math.max(1, Math.floor(keep / 4));
  const window = keep - head - tail;
  const start = Math.max(head, Math.min(around, chars.length - tail - window));
  const middle = chars.slice(start, start + window).join('');
  const before = start > head ? ELLIPSIS : '';
  const after = start + window < chars.length - tail ? ELLIPSIS : '';
  return (
    chars.slice(0, head).join('') +
    before +
    middle +
    after +
    chars.slice(chars.length - tail).join('')
  );
}

/**
 * One label per name such that two different names never read the same:
 * each shortened in the middle (`middleTruncate`); names whose labels still
 * collide show, in the middle, where they first differ from each other.
 * `fitsFor(name)` gives the room of that name's row (a child is indented).
 */
export function distinctLabels(names: string[], fitsFor: (name: string) => Fits): string[] {
  const labels = names.map(name => middleTruncate(name, fitsFor(name)));
  const byLabel = new Map<string, Set<string>>();
  names.forEach((name, i) => {
    const same = byLabel.get(labels[i]) ?? new Set<string>();
    same.add(name);
    byLabel.set(labels[i], same);
  });
  return names.map((name, i) => {
    const same = byLabel.get(labels[i])!;
    if (same.size < 2) {
      return labels[i];
    }
    const others = [...same].filter(other => other !== name);
    const at = Math.min(...others.map(other => firstDifference(name, other)));
    const label = middleTruncate(name, fitsFor(name), at);
    return label === labels[i] ? name : label; // too narrow to show the difference: all of it
  });
}

/** The index (in code points) of the first character where `a` and `b` differ. */
function firstDifference(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  let i = 0;
  while (i < x.length && i < y.length && x[i] === y[i]) {
    i++;
  }
  return i;
}

/** A column of the runs table that sorts on the server. */
export type SortColumn =
  { kind: 'name' | 'status' | 'user' | 'start' } | { kind: 'metric' | 'param'; key: string };

/** A sort: the column and its direction. */
export interface IRunsOrder {
  column: SortColumn;
  descending: boolean;
}

/** The id of a column (`metric:acc`, `name`), to compare columns. */
export function columnId(column: SortColumn): string {
  return 'key' in column ? `${column.kind}:${column.key}` : column.kind;
}

/**
 * MLflow's order clause for a sort (`metrics.\`acc\` DESC`), or null for a
 * key MLflow's syntax cannot quote (a backtick in it).
 */
export function orderClause(order: IRunsOrder): string | null {
  const direction = order.descending ? 'DESC' : 'ASC';
  const { column } = order;
  switch (column.kind) {
    case 'name':
      return `attributes.run_name ${direction}`;
    case 'status':
      return `attributes.status ${direction}`;
    case 'user':
      return `tags.\`mlflow.user\` ${direction}`;
    case 'start':
      return `attributes.start_time ${direction}`;
    default: {
      if (column.key.includes('`')) {
        return null;
      }
      const entity = column.kind === 'metric' ? 'metrics' : 'params';
      return `${entity}.\`${column.key}\` ${direction}`;
    }
  }
}

/** The server's order when none is chosen: newest first. */
export const NEWEST_FIRST: IRunsOrder = { column: { kind: 'start' }, descending: true };

/**
 * The order after a click on `column`'s header: the same column reversed, or
 * a new column ascending (a time newest first, as the list starts).
 */
export function nextOrder(current: IRunsOrder, column: SortColumn): IRunsOrder {
  if (columnId(current.column) === columnId(column)) {
    return { column, descending: !current.descending };
  }
  return { column, descending: column.kind === 'start' };
}

/** Whether a column can be sorted on the server. */
export function isSortable(column: SortColumn): boolean {
  return orderClause({ column, descending: false }) !== null;
}

/** Metric and param keys the loaded runs have, each sorted by name. */
export function columnKeys(runs: IRunSummary[]): { metrics: string[]; params: string[] } {
  const metrics = new Set<string>();
  const params = new Set<string>();
  for (const run of runs) {
    Object.keys(run.metrics).forEach(key => metrics.add(key));
    Object.keys(run.params).forEach(key => params.add(key));
  }
  const byName = (a: string, b: string) => a.localeCompare(b);
  return { metrics: [...metrics].sort(byName), params: [...params].sort(byName) };
}
