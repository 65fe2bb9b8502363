import * as React from 'react';

import { formatValue, runLabel } from '../format';
import { IRunSummary } from '../tokens';

/** One row of a comparison: a key and each run's value (empty when unset). */
export interface ICompareRow {
  key: string;
  values: string[];
  /** Whether the runs disagree (a run without the key counts as different). */
  differs: boolean;
}

/** Params and metrics of `runs` side by side, keys sorted by name. */
export function compareRows(runs: IRunSummary[]): {
  params: ICompareRow[];
  metrics: ICompareRow[];
} {
  const rows = (pick: (run: IRunSummary) => Record<string, string>) => {
    const keys = new Set(runs.flatMap(run => Object.keys(pick(run))));
    return [...keys].sort().map(key => {
      const values = runs.map(run => pick(run)[key] ?? '');
      return { key, values, differs: new Set(values).size > 1 };
    });
  };
  const metrics = (run: IRunSummary) =>
    Object.fromEntries(
      Object.entries(run.metrics).map(([key, value]) => [key, formatValue(value)])
    );
  return { params: rows(run => run.params), metrics: rows(metrics) };
}

/** The rows a "differences only" view keeps. */
export function visibleRows(rows: ICompareRow[], differencesOnly: boolean): ICompareRow[] {
  return differencesOnly ? rows.filter(row => row.differs) : rows;
}

/**
 * Which columns hold the lowest and the highest value of metric `key`
 * (finite numbers only), or null when fewer than two distinct values exist.
 * Both ends are marked: whether higher is better depends on the metric.
 */
export function metricExtremes(
  runs: IRunSummary[],
  key: string
): { min: number[]; max: number[] } | null {
  const values = runs.map(run => run.metrics[key]);
  const finite = values.filter((v): v is number => typeof v === 'number' && isFinite(v));
  if (new Set(finite).size < 2) {
    return null;
  }
  const low = Math.min(...finite);
  const high = Math.max(...finite);
  const where = (target: number) => values.flatMap((value, i) => (value === target ? [i] : []));
  return { min: where(low), max: where(high) };
}

/**
 * Selected runs side by side: metrics first, then params; rows where they
 * differ are marked, and a switch hides the rows where they agree.
 */
export function CompareTable(props: CompareTable.IProps): JSX.Element {
  const { runs } = props;
  const [differencesOnly, setDifferencesOnly] = React.useState(false);
  const { params, metrics } = compareRows(runs);
  const hidden = differencesOnly ? [...params, ...metrics].filter(row => !row.differs).length : 0;
  const cell = (title: string, row: ICompareRow, i: number) => {
    const extremes = title === 'Metrics' ? metricExtremes(runs, row.key) : null;
    const isMin = extremes?.min.includes(i) ?? false;
    const isMax = extremes?.max.includes(i) ?? false;
    const mark = isMin ? 'jp-mlops-min' : isMax ? 'jp-mlops-max' : undefined;
    return (
      <td key={runs[i].run_id} className={mark} title={row.values[i]}>
        {row.values[i]}
        {isMin && (
          <span className="jp-mlops-extreme" title="lowest of these runs">
            {' '}
            ▼
          </span>
        )}
        {isMax && (
          <span className="jp-mlops-extreme" title="highest of these runs">
            {' '}
            ▲
          </span>
        )}
      </td>
    );
  };
  const group = (title: string, rows: ICompareRow[]) => (
    <>
      <tr className="jp-mlops-group" data-group={title.toLowerCase()}>
        <th colSpan={runs.length + 1}>{title}</th>
      </tr>
      {visibleRows(rows, differencesOnly).map(row => (
        <tr
          key={`${title}:${row.key}`}
          className={row.differs ? 'jp-mlops-differs' : undefined}
          data-key={row.key}
        >
          <th scope="row" title={row.key}>
            {row.key}
          </th>
          {row.values.map((_, i) => cell(title, row, i))}
        </tr>
      ))}
    </>
  );
  return (
    <>
      <div className="jp-mlops-compare-options">
        <label title="Hide the rows where every run has the same value">
          <input
            type="checkbox"
            className="jp-mlops-differences-only"
            checked={differencesOnly}
            onChange={event => setDifferencesOnly(event.target.checked)}
          />{' '}
          Differences only
        </label>
        {hidden > 0 && (
          <span className="jp-mlops-note jp-mlops-hidden-rows">
            {hidden} equal {hidden === 1 ? 'row' : 'rows'} hidden
          </span>
        )}
      </div>
      <table className="jp-mlops-table jp-mlops-compare-table">
        <thead>
          <tr>
            <th />
            {runs.map(run => (
              <th
                key={run.run_id}
                data-run-id={run.run_id}
                title={`${run.name ?? ''} (${run.run_id})`.trim()}
              >
                {runLabel(run)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {group('Metrics', metrics)}
          {group('Params', params)}
        </tbody>
      </table>
    </>
  );
}

/** Props of `CompareTable`. */
export namespace CompareTable {
  export interface IProps {
    /** The runs to compare, in column order. */
    runs: IRunSummary[];
  }
}
