import * as React from 'react';

import { formatValue } from '../format';
import {
  Change,
  IComparedColumn,
  IComparedValue,
  IComparedVersion,
  IVersionComparison,
  MetricValue
} from '../tokens';

/** How a change is marked: a class (coloured edge), a symbol and words. */
export interface IChangeMark {
  className: string;
  symbol: string;
  label: string;
}

const MARKS: Record<Change, IChangeMark> = {
  added: { className: 'jp-mlops-diff-added', symbol: '+', label: 'added' },
  removed: { className: 'jp-mlops-diff-removed', symbol: '−', label: 'removed' },
  changed: { className: 'jp-mlops-diff-changed', symbol: '~', label: 'changed' },
  same: { className: 'jp-mlops-diff-same', symbol: '', label: 'same' }
};

/** The mark of `change`; anything the server did not promise reads as changed. */
export function changeMark(change: string): IChangeMark {
  return MARKS[change as Change] ?? MARKS.changed;
}

/** Differences first (added, removed, changed, in the server's order), then the same. */
export function ordered<T extends { change: Change }>(rows: T[]): T[] {
  const rank: Record<string, number> = { added: 0, removed: 1, changed: 2, same: 3 };
  return rows
    .map((row, index) => ({ row, index }))
    .sort((x, y) => (rank[x.row.change] ?? 2) - (rank[y.row.change] ?? 2) || x.index - y.index)
    .map(({ row }) => row);
}

function shown(value: MetricValue | string | null | undefined): string {
  if (value === null || value === undefined) {
    return '—';
  }
  return typeof value === 'string' ? value : formatValue(value);
}

function versionLabel(side: IComparedVersion): string {
  return side.run_name ? `v${side.version} (${side.run_name})` : `v${side.version}`;
}

/** One contract column: its name, how it changed and each difference as text. */
function ColumnRow(props: { column: IComparedColumn }): JSX.Element {
  const { column } = props;
  const mark = changeMark(column.change);
  return (
    <li
      className={`jp-mlops-diff-row ${mark.className}`}
      data-column={column.name}
      data-change={column.change}
    >
      <span className="jp-mlops-diff-symbol" aria-hidden="true">
        {mark.symbol}
      </span>
      <span className="jp-mlops-diff-name">{column.name}</span>
      <span className="jp-mlops-diff-label">{mark.label}</span>
      {column.change === 'added' && column.b?.dtype !== undefined && (
        <span className="jp-mlops-diff-detail">{`dtype ${String(column.b.dtype)}`}</span>
      )}
      {column.differences.map(d => (
        <span key={d.what} className="jp-mlops-diff-detail" data-what={d.what}>
          {d.text}
        </span>
      ))}
    </li>
  );
}

/** Params or metrics of the two runs: one row per key, differences marked. */
function ValuesTable(props: {
  title: string;
  rows: IComparedValue[];
  a: number;
  b: number;
}): JSX.Element | null {
  const { rows, a, b } = props;
  if (rows.length === 0) {
    return null;
  }
  return (
    <>
      <h4 className="jp-mlops-subheading">{props.title}</h4>
      <table className="jp-mlops-table jp-mlops-vcompare-values">
        <thead>
          <tr>
            <th>Key</th>
            <th>v{a}</th>
            <th>v{b}</th>
          </tr>
        </thead>
        <tbody>
          {ordered(rows).map(row => (
            <tr
              key={row.key}
              className={changeMark(row.change).className}
              data-key={row.key}
              data-change={row.change}
            >
              <td title={row.key}>{row.key}</td>
              <td>{shown(row.a)}</td>
              <td>{shown(row.b)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/**
 * Two versions compared: how b's data contract differs from a's, column by
 * column, then their runs' metrics and params. Everything is store text,
 * shown as text.
 */
export function VersionCompare(props: { comparison: IVersionComparison }): JSX.Element {
  const { comparison } = props;
  const { a, b, contract } = comparison;
  const problems = [contract.problems.a, contract.problems.b].filter(Boolean) as string[];
  const counts: [Change, number][] = [
    ['added', contract.added.length],
    ['removed', contract.removed.length],
    ['changed', contract.changed.length]
  ];
  return (
    <div className="jp-mlops-vcompare">
      <div className="jp-mlops-vcompare-title">
        {versionLabel(a)} → {versionLabel(b)}
      </div>
      <h4 className="jp-mlops-subheading">Data contract</h4>
      {problems.map(problem => (
        <div key={problem} className="jp-mlops-note jp-mlops-vcompare-problem">
          {problem}
        </div>
      ))}
      {contract.compared && (
        <>
          <div className="jp-mlops-diff-counts">
            {counts.map(([change, count]) => (
              <span key={change} className={`jp-mlops-diff-count ${changeMark(change).className}`}>
                {count} {change}
              </span>
            ))}
          </div>
          <ul className="jp-mlops-diff-list">
            {ordered(contract.columns).map(column => (
              <ColumnRow key={column.name} column={column} />
            ))}
          </ul>
        </>
      )}
      <ValuesTable title="Metrics" rows={comparison.metrics} a={a.version} b={b.version} />
      <ValuesTable title="Params" rows={comparison.params} a={a.version} b={b.version} />
    </div>
  );
}
