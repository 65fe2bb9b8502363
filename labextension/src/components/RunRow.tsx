import * as React from 'react';

import { formatAgo, formatTime, formatValue, runLabel } from '../format';
import { INDENT } from '../runsLayout';
import { IRunSummary } from '../tokens';

/** Words said for each status on hover (the icon and colour come from the stylesheet). */
const STATUS_TITLES: Record<string, string> = {
  RUNNING: 'RUNNING: in progress',
  SCHEDULED: 'SCHEDULED: waiting to start',
  FINISHED: 'FINISHED: ended normally',
  FAILED: 'FAILED: ended by an error',
  KILLED: 'KILLED: stopped (interrupted, or its process died)'
};

/**
 * One run of the runs table. The name shows as `label` (shortened to fit) while
 * the cell's text stays the full name (for screen readers, copying and hover);
 * a parent has a twisty and its children's count, a child whose parent is not
 * on the page a "↳" naming the parent.
 */
export function RunRow(props: RunRow.IProps): JSX.Element {
  const { run, label, depth, childCount, orphanOf, metricKeys, paramKeys } = props;
  const name = runLabel(run);
  const width = props.nameWidth;
  const parentOf = childCount > 0;
  return (
    <tr
      className={`jp-mlops-run${depth ? ' jp-mlops-child-run' : ''}`}
      data-run-id={run.run_id}
      data-status={run.status}
      data-depth={depth}
      onClick={() => props.onOpen(run.run_id)}
    >
      <td onClick={event => event.stopPropagation()}>
        <input
          type="checkbox"
          className="jp-mlops-select"
          aria-label={`Compare ${name}`}
          checked={props.selected}
          onChange={() => props.onToggle(run.run_id)}
        />
      </td>
      <td className="jp-mlops-run-status" title={STATUS_TITLES[run.status] ?? run.status}>
        <span className="jp-mlops-status-icon" data-status={run.status} aria-hidden="true" />
        <span className="jp-mlops-visually-hidden">{run.status}</span>
      </td>
      <td className="jp-mlops-run-name" style={{ width, minWidth: width, maxWidth: width }}>
        <span className="jp-mlops-name-line" style={{ paddingLeft: depth * INDENT }}>
          {parentOf && (
            <button
              type="button"
              className="jp-mlops-twisty"
              aria-expanded={props.expanded}
              aria-label={`${props.expanded ? 'Hide' : 'Show'} the ${childCount} child runs of ${name}`}
              title={`${props.expanded ? 'Hide' : 'Show'} its ${childCount} child runs`}
              onClick={event => {
                event.stopPropagation();
                props.onExpand?.(run.run_id);
              }}
            >
              {props.expanded ? '▾' : '▸'}
            </button>
          )}
          {orphanOf && (
            <span
              className="jp-mlops-orphan"
              title={`A child of run ${orphanOf}, which is not on this page`}
            >
              ↳
            </span>
          )}
          <button type="button" className="jp-mlops-link" title={name}>
            <span className="jp-mlops-name-shown" aria-hidden="true" data-label={label} />
            <span className="jp-mlops-visually-hidden">{name}</span>
          </button>
          {parentOf && <span className="jp-mlops-child-count">({childCount})</span>}
        </span>
      </td>
      <td className="jp-mlops-run-user jp-mlops-dim" title={run.user ? `Run by ${run.user}` : ''}>
        {run.user ?? ''}
      </td>
      {metricKeys.map(key => (
        <td key={key} className="jp-mlops-metric" data-key={key}>
          {formatValue(run.metrics[key])}
        </td>
      ))}
      {paramKeys.map(key => (
        <td key={key} className="jp-mlops-param" data-key={key} title={run.params[key] ?? ''}>
          {run.params[key] ?? ''}
        </td>
      ))}
      <td className="jp-mlops-run-start" title={formatTime(run.start_time)}>
        {formatAgo(run.start_time)}
      </td>
    </tr>
  );
}

/** Props of `RunRow`. */
export namespace RunRow {
  export interface IProps {
    run: IRunSummary;
    /** The name as shown (shortened to fit). */
    label: string;
    /** 0 for a top-level run, 1 for a child shown under its parent. */
    depth: number;
    /** Children on the page (a parent's twisty and count). */
    childCount: number;
    expanded: boolean;
    /** The parent's id when the parent is not on the page. */
    orphanOf: string | null;
    metricKeys: string[];
    paramKeys: string[];
    nameWidth: number;
    selected: boolean;
    onToggle: (runId: string) => void;
    onOpen: (runId: string) => void;
    onExpand?: (runId: string) => void;
  }
}
