import * as React from 'react';

import { formatAgo, formatTime, formatValue, runLabel } from '../format';
import { IRunSummary } from '../tokens';

/**
 * The runs of an experiment: a checkbox to pick runs for comparison, status
 * (a coloured dot, so the sidebar's default width still shows the metrics),
 * name, who ran it, a column per key metric and the start time. A click on a
 * row opens it.
 * Names and values are React text, never HTML.
 */
export function RunsTable(props: RunsTable.IProps): JSX.Element {
  const { runs, metricKeys, selected, onToggle, onOpen } = props;
  return (
    <table className="jp-mlops-table jp-mlops-runs">
      <thead>
        <tr>
          <th className="jp-mlops-select-column">
            <span className="jp-mlops-visually-hidden">Compare</span>
          </th>
          <th className="jp-mlops-status-column">
            <span className="jp-mlops-visually-hidden">Status</span>
          </th>
          <th>Name</th>
          <th className="jp-mlops-user-column">By</th>
          {metricKeys.map(key => (
            <th key={key} className="jp-mlops-metric-column" title={key}>
              {key}
            </th>
          ))}
          <th>Started</th>
        </tr>
      </thead>
      <tbody>
        {runs.map(run => (
          <tr
            key={run.run_id}
            className="jp-mlops-run"
            data-run-id={run.run_id}
            data-status={run.status}
            onClick={() => onOpen(run.run_id)}
          >
            <td onClick={event => event.stopPropagation()}>
              <input
                type="checkbox"
                className="jp-mlops-select"
                aria-label={`Compare ${runLabel(run)}`}
                checked={selected.has(run.run_id)}
                onChange={() => onToggle(run.run_id)}
              />
            </td>
            <td className="jp-mlops-run-status" title={run.status}>
              <span className="jp-mlops-status-dot" data-status={run.status} aria-hidden="true" />
              <span className="jp-mlops-visually-hidden">{run.status}</span>
            </td>
            <td className="jp-mlops-run-name" title={run.run_id}>
              <button type="button" className="jp-mlops-link">
                {runLabel(run)}
              </button>
            </td>
            <td
              className="jp-mlops-run-user jp-mlops-dim"
              title={run.user ? `Run by ${run.user}` : ''}
            >
              {run.user ?? ''}
            </td>
            {metricKeys.map(key => (
              <td key={key} className="jp-mlops-metric" data-key={key}>
                {formatValue(run.metrics[key])}
              </td>
            ))}
            <td className="jp-mlops-run-start" title={formatTime(run.start_time)}>
              {formatAgo(run.start_time)}
            </td>
          </tr>
        ))}
        {runs.length === 0 && (
          <tr className="jp-mlops-empty">
            <td colSpan={5 + metricKeys.length}>{props.empty}</td>
          </tr>
        )}
      </tbody>
    </table>
  );
}

/** Props of `RunsTable`. */
export namespace RunsTable {
  export interface IProps {
    runs: IRunSummary[];
    /** Metric keys shown as columns. */
    metricKeys: string[];
    /** Ids of the runs ticked for comparison. */
    selected: ReadonlySet<string>;
    onToggle: (runId: string) => void;
    onOpen: (runId: string) => void;
    /** What to say when there are no runs. */
    empty: string;
  }
}
