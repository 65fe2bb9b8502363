import * as React from 'react';

import { runLabel } from '../format';
import { textWidth } from '../measure';
import {
  distinctLabels,
  INDENT,
  IRunsOrder,
  NEWEST_FIRST,
  runTree,
  SortColumn
} from '../runsLayout';
import { DEFAULT_NAME_WIDTH } from '../runsSettings';
import { IRunSummary } from '../tokens';
import { RunRow } from './RunRow';
import { RunsHeader } from './RunsHeader';

/** Pixels of the name cell that are not its label (padding, a twisty or a mark). */
const CELL_PADDING = 10;
const TWISTY = 16;
const COUNT_GAP = 4;

/**
 * The runs of an experiment: a checkbox to pick runs for comparison, status
 * (an icon and a colour per status, its word for screen readers and on hover),
 * name, who ran it, the chosen metric and param columns and the start time.
 * Children sit under their parent, collapsed; a click on a row opens it, on a
 * header sorts by it. Names that do not fit are shortened in the middle, and
 * two different names never read the same.
 * Names and values are React text, never HTML.
 */
export function RunsTable(props: RunsTable.IProps): JSX.Element {
  const { runs, metricKeys, selected, onToggle, onOpen } = props;
  const paramKeys = props.paramKeys ?? [];
  const expanded = props.expanded ?? new Set<string>();
  const [dragWidth, setDragWidth] = React.useState<number | null>(null);
  const width = dragWidth ?? props.nameWidth ?? DEFAULT_NAME_WIDTH;
  const table = React.useRef<HTMLTableElement>(null);
  const font = useNameFont(table);

  const tree = runTree(runs);
  const rows: { run: IRunSummary; depth: number; children: number; orphanOf: string | null }[] = [];
  for (const node of tree) {
    rows.push({ ...node, depth: 0, children: node.children.length });
    if (expanded.has(node.run.run_id)) {
      node.children.forEach(run => rows.push({ run, depth: 1, children: 0, orphanOf: null }));
    }
  }
  const room = (row: (typeof rows)[number]) => {
    let used = CELL_PADDING + row.depth * INDENT;
    if (row.children) {
      used += TWISTY + COUNT_GAP + textWidth(`(${row.children})`, font);
    } else if (row.orphanOf) {
      used += TWISTY;
    }
    return width - used;
  };
  const names = rows.map(row => runLabel(row.run));
  const roomOf = new Map<string, number>(); // a name may repeat: its narrowest row counts
  rows.forEach((row, i) => roomOf.set(names[i], Math.min(room(row), roomOf.get(names[i]) ?? 1e9)));
  const labels = distinctLabels(names, name => {
    const space = roomOf.get(name) ?? width;
    return text => textWidth(text, font) <= space;
  });

  const onResize = (next: number, done: boolean) => {
    setDragWidth(done ? null : next);
    if (done) {
      props.onResize?.(next);
    }
  };
  return (
    <table
      ref={table}
      className="jp-mlops-table jp-mlops-runs"
      style={{ ['--jp-mlops-name-width' as any]: `${width}px` }}
    >
      <RunsHeader
        metricKeys={metricKeys}
        paramKeys={paramKeys}
        order={props.order ?? NEWEST_FIRST}
        onSort={props.onSort}
        nameWidth={width}
        onResize={onResize}
      />
      <tbody>
        {rows.map((row, i) => (
          <RunRow
            key={row.run.run_id}
            run={row.run}
            label={labels[i]}
            depth={row.depth}
            childCount={row.children}
            expanded={expanded.has(row.run.run_id)}
            orphanOf={row.orphanOf}
            metricKeys={metricKeys}
            paramKeys={paramKeys}
            nameWidth={width}
            selected={selected.has(row.run.run_id)}
            onToggle={onToggle}
            onOpen={onOpen}
            onExpand={props.onExpand}
          />
        ))}
        {runs.length === 0 && (
          <tr className="jp-mlops-empty">
            <td colSpan={5 + metricKeys.length + paramKeys.length}>{props.empty}</td>
          </tr>
        )}
      </tbody>
    </table>
  );
}

/** The font a name cell is drawn in, read once the table is on the page. */
function useNameFont(table: React.RefObject<HTMLTableElement>): string {
  const [font, setFont] = React.useState('');
  React.useLayoutEffect(() => {
    const cell = table.current?.querySelector('.jp-mlops-name-shown') ?? table.current;
    if (cell) {
      const found = getComputedStyle(cell).font;
      if (found && found !== font) {
        setFont(found);
      }
    }
  });
  return font;
}

/** Props of `RunsTable`. */
export namespace RunsTable {
  export interface IProps {
    runs: IRunSummary[];
    /** Metric keys shown as columns. */
    metricKeys: string[];
    /** Param keys shown as columns (default none). */
    paramKeys?: string[];
    /** Ids of the runs ticked for comparison. */
    selected: ReadonlySet<string>;
    onToggle: (runId: string) => void;
    onOpen: (runId: string) => void;
    /** What to say when there are no runs. */
    empty: string;
    /** The order the runs are in (default newest first). */
    order?: IRunsOrder;
    /** Sort by a column's header (none: headers do not sort). */
    onSort?: (column: SortColumn) => void;
    /** Ids of the parents whose children are shown. */
    expanded?: ReadonlySet<string>;
    onExpand?: (runId: string) => void;
    /** The name column's width in pixels, and its new width once dragged. */
    nameWidth?: number;
    onResize?: (width: number) => void;
  }
}
