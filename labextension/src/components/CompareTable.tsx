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

/** Selected runs side by side; rows where they differ are marked. */
export function CompareTable(props: CompareTable.IProps): JSX.Element {
  const { runs } = props;
  const { params, metrics } = compareRows(runs);
  const group = (title: string, rows: ICompareRow[]) => (
    <>
      <tr className="jp-mlops-group">
        <th colSpan={runs.length + 1}>{title}</th>
      </tr>
      {rows.map(row => (
        <tr
          key={`${title}:${row.key}`}
          className={row.differs ? 'jp-mlops-differs' : undefined}
          data-key={row.key}
        >
          <th scope="row" title={row.key}>
            {row.key}
          </th>
          {row.values.map((value, i) => (
            <td key={runs[i].run_id}>{value}</td>
          ))}
        </tr>
      ))}
    </>
  );
  return (
    <table className="jp-mlops-table jp-mlops-compare-table">
      <thead>
        <tr>
          <th />
          {runs.map(run => (
            <th key={run.run_id} data-run-id={run.run_id} title={run.run_id}>
              {runLabel(run)}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {group('Params', params)}
        {group('Metrics', metrics)}
      </tbody>
    </table>
  );
}

/** Props of `CompareTable`. */
export namespace CompareTable {
  export interface IProps {
    /** The runs to compare, in column order. */
    runs: IRunSummary[];
  }
}
