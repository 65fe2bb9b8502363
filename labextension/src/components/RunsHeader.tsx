import * as React from 'react';

import { columnId, IRunsOrder, isSortable, SortColumn } from '../runsLayout';
import { MAX_NAME_WIDTH, MIN_NAME_WIDTH } from '../runsSettings';

/** Pixels one arrow key press moves the name column's edge. */
const KEY_STEP = 16;

/**
 * The runs table's header: each column sorts on the server when clicked (the
 * same one again reverses; an arrow and `aria-sort` say which), and the name
 * column's right edge can be dragged (or moved with the arrow keys).
 */
export function RunsHeader(props: RunsHeader.IProps): JSX.Element {
  const { metricKeys, paramKeys, nameWidth } = props;
  const head = (column: SortColumn, label: React.ReactNode, extra: IHeadExtra = {}) => (
    <SortHeader key={columnId(column)} column={column} label={label} {...props} {...extra} />
  );
  return (
    <thead>
      <tr>
        <th className="jp-mlops-select-column">
          <span className="jp-mlops-visually-hidden">Compare</span>
        </th>
        {head({ kind: 'status' }, <span className="jp-mlops-status-head">●</span>, {
          className: 'jp-mlops-status-column',
          title: 'Status'
        })}
        {head({ kind: 'name' }, 'Name', {
          className: 'jp-mlops-name-column',
          style: { width: nameWidth, minWidth: nameWidth, maxWidth: nameWidth },
          after: <NameResizer width={nameWidth} onResize={props.onResize} />
        })}
        {head({ kind: 'user' }, 'By', { className: 'jp-mlops-user-column' })}
        {metricKeys.map(key =>
          head({ kind: 'metric', key }, key, { className: 'jp-mlops-metric-column', title: key })
        )}
        {paramKeys.map(key =>
          head({ kind: 'param', key }, key, {
            className: 'jp-mlops-param-column',
            title: `param ${key}`
          })
        )}
        {head({ kind: 'start' }, 'Started', { className: 'jp-mlops-start-column' })}
      </tr>
    </thead>
  );
}

interface IHeadExtra {
  className?: string;
  title?: string;
  style?: React.CSSProperties;
  after?: React.ReactNode;
}

function SortHeader(
  props: RunsHeader.IProps & IHeadExtra & { column: SortColumn; label: React.ReactNode }
): JSX.Element {
  const { column, label, order, onSort } = props;
  const sorted = onSort && columnId(order.column) === columnId(column);
  const direction = order.descending ? 'descending' : 'ascending';
  const sortable = onSort && isSortable(column);
  return (
    <th
      className={props.className}
      style={props.style}
      data-sort-key={columnId(column)}
      aria-sort={sorted ? direction : undefined}
    >
      {sortable ? (
        <button
          type="button"
          className="jp-mlops-sort"
          title={`Sort by ${props.title ?? (typeof label === 'string' ? label : columnId(column))}`}
          onClick={() => onSort(column)}
        >
          <span className="jp-mlops-sort-label">{label}</span>
          {sorted && (
            <span className="jp-mlops-sort-arrow" aria-hidden="true">
              {order.descending ? '↓' : '↑'}
            </span>
          )}
        </button>
      ) : (
        <span title={props.title}>{label}</span>
      )}
      {props.after}
    </th>
  );
}

/** The name column's draggable right edge. */
function NameResizer(props: {
  width: number;
  onResize?: (width: number, done: boolean) => void;
}): JSX.Element {
  const { width, onResize } = props;
  const [dragged, setDragged] = React.useState<number | null>(null);
  const clamp = (value: number) => Math.min(MAX_NAME_WIDTH, Math.max(MIN_NAME_WIDTH, value));
  const start = (event: React.PointerEvent) => {
    event.preventDefault();
    event.stopPropagation();
    const x0 = event.clientX;
    let last = width;
    const move = (e: PointerEvent) => {
      last = clamp(width + e.clientX - x0);
      setDragged(last);
      onResize?.(last, false); // the table follows the pointer
    };
    const end = () => {
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', end);
      setDragged(null);
      onResize?.(last, true);
    };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', end);
  };
  const key = (event: React.KeyboardEvent) => {
    const step = { ArrowLeft: -KEY_STEP, ArrowRight: KEY_STEP }[event.key];
    if (step) {
      event.preventDefault();
      onResize?.(clamp(width + step), true);
    }
  };
  return (
    <span
      className={`jp-mlops-resize${dragged !== null ? ' jp-mod-active' : ''}`}
      role="separator"
      aria-orientation="vertical"
      aria-label="Width of the name column"
      aria-valuenow={width}
      aria-valuemin={MIN_NAME_WIDTH}
      aria-valuemax={MAX_NAME_WIDTH}
      tabIndex={0}
      title="Drag to resize the name column"
      onPointerDown={start}
      onClick={event => event.stopPropagation()}
      onKeyDown={key}
    />
  );
}

/** Props of `RunsHeader`. */
export namespace RunsHeader {
  export interface IProps {
    metricKeys: string[];
    paramKeys: string[];
    order: IRunsOrder;
    /** Sort by a column (none: the headers do not sort). */
    onSort?: (column: SortColumn) => void;
    /** The name column's width in pixels. */
    nameWidth: number;
    /** The name column's new width: while dragging, then once `done`. */
    onResize?: (width: number, done: boolean) => void;
  }
}
