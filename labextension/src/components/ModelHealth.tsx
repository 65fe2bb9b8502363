import * as React from 'react';

import { IModelMonitoring, IMonitoringWindow, MonitorVerdict } from '../tokens';

/** The drawing area of the drift strip, in SVG user units. */
export const STRIP_WIDTH = 240;
export const STRIP_HEIGHT = 28;
const PAD = 2;
const GAP = 2;
const MAX_BAR = 16; // a few windows stay narrow bars, not wide blocks
const MIN_BAR_HEIGHT = 3; // a window with nothing drifted is a baseline tick

/** How each verdict reads: an icon and words, so colour is never the only cue. */
const VERDICTS: Record<MonitorVerdict | 'unknown', { icon: string; text: string }> = {
  drifted: { icon: '▲', text: 'drifted' },
  stable: { icon: '✓', text: 'stable' },
  inconclusive: { icon: '?', text: 'inconclusive' },
  empty: { icon: '∅', text: 'no rows logged' },
  unknown: { icon: '?', text: 'verdict unreadable' }
};

/** One bar of the drift strip: where it is drawn and what its title says. */
export interface IHealthBar {
  x: number;
  y: number;
  width: number;
  height: number;
  verdict: MonitorVerdict | 'unknown';
  drifted: number | null;
  title: string;
}

/**
 * One bar per window, oldest on the left: its height is the number of
 * drifted columns (against the most in any window), its title says when,
 * what was concluded, how many drifted and how many rows.
 */
export function healthBars(
  windows: IMonitoringWindow[],
  width = STRIP_WIDTH,
  height = STRIP_HEIGHT
): IHealthBar[] {
  if (windows.length === 0) {
    return [];
  }
  const counts = windows.map(w => w.drifted_count ?? 0);
  const most = Math.max(1, ...counts);
  // packed from the left, oldest first; many windows share the width
  const slot = Math.min(MAX_BAR + GAP, (width - 2 * PAD) / windows.length);
  const barWidth = Math.max(1, Math.min(MAX_BAR, slot - GAP));
  const room = height - 2 * PAD;
  return windows.map((w, index) => {
    const barHeight = Math.max(MIN_BAR_HEIGHT, (counts[index] / most) * room);
    const drifted = w.drifted_count;
    const parts = [
      verdictOf(w).text,
      drifted === null ? 'drifted columns unreadable' : plural(drifted, 'drifted column'),
      w.rows === null ? 'rows unreadable' : plural(w.rows, 'row')
    ];
    return {
      x: round(PAD + index * slot),
      y: round(height - PAD - barHeight),
      width: round(barWidth),
      height: round(barHeight),
      verdict: verdictOf(w).key,
      drifted,
      title: `${windowText(w)}: ${parts.join(', ')}`
    };
  });
}

/** The verdict of a window, `unknown` when the store held something else. */
function verdictOf(w: IMonitoringWindow): {
  key: MonitorVerdict | 'unknown';
  icon: string;
  text: string;
} {
  const known = w.verdict !== null && Object.prototype.hasOwnProperty.call(VERDICTS, w.verdict);
  const key = known ? (w.verdict as MonitorVerdict) : 'unknown';
  return { key, ...VERDICTS[key] };
}

/** A window's span in UTC: dates alone when both ends are at midnight. */
export function windowText(w: IMonitoringWindow): string {
  const start = utc(w.start);
  const end = utc(w.end);
  const midnight = [start, end].every(t => t === null || t.endsWith(' 00:00'));
  const show = (t: string | null) => (t === null ? '?' : midnight ? t.slice(0, 10) : t);
  return `${show(start)} → ${show(end)} UTC`;
}

/** An ISO time as "YYYY-MM-DD HH:MM" in UTC; null when it is none. */
function utc(iso: string | null): string | null {
  if (!iso) {
    return null;
  }
  const time = new Date(iso);
  if (Number.isNaN(time.getTime())) {
    return null;
  }
  return time.toISOString().slice(0, 16).replace('T', ' ');
}

/** A share (0 to 1) as a percentage with one decimal ("<0.1%" for a trace). */
export function formatRate(rate: number): string {
  if (rate > 0 && rate < 0.0005) {
    return '<0.1%';
  }
  return `${(rate * 100).toFixed(1)}%`;
}

function plural(count: number, noun: string): string {
  return `${count.toLocaleString()} ${noun}${count === 1 ? '' : 's'}`;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/** The drifted columns of the last window, each a text node of its own. */
function DriftedColumns(props: { window: IMonitoringWindow }): JSX.Element | null {
  const { drifted, drifted_count: count } = props.window;
  if (drifted.length === 0 && !count) {
    return null;
  }
  const more = count !== null && count > drifted.length ? count - drifted.length : 0;
  return (
    <div className="jp-mlops-health-drifted">
      <span className="jp-mlops-dim">{count === 1 ? 'column: ' : 'columns: '}</span>
      {drifted.map((name, index) => (
        <React.Fragment key={index}>
          {index > 0 && ', '}
          <code className="jp-mlops-health-column">{name}</code>
        </React.Fragment>
      ))}
      {more > 0 && <span className="jp-mlops-dim">{` and ${more} more`}</span>}
    </div>
  );
}

/** Drifted columns per window as a strip of bars, a title on each. */
function DriftStrip(props: { health: IModelMonitoring }): JSX.Element {
  const { windows, truncated } = props.health;
  const bars = healthBars(windows);
  const label =
    `Drifted columns per monitoring window: ${plural(windows.length, 'window')}` +
    (truncated ? ' (the newest)' : '') +
    ', oldest on the left';
  return (
    <svg
      className="jp-mlops-health-chart"
      data-windows={windows.length}
      viewBox={`0 0 ${STRIP_WIDTH} ${STRIP_HEIGHT}`}
      role="img"
      aria-label={label}
    >
      <title>{label}</title>
      <line
        className="jp-mlops-health-axis"
        x1={0}
        x2={STRIP_WIDTH}
        y1={STRIP_HEIGHT - PAD}
        y2={STRIP_HEIGHT - PAD}
      />
      {bars.map((bar, index) => (
        <rect
          key={windows[index].run_id}
          className="jp-mlops-health-bar"
          data-verdict={bar.verdict}
          data-drifted={bar.drifted ?? ''}
          x={bar.x}
          y={bar.y}
          width={bar.width}
          height={bar.height}
        >
          <title>{bar.title}</title>
        </rect>
      ))}
    </svg>
  );
}

/**
 * A version's health under its row in the Models section: the last
 * window's verdict, drifted columns, violation rate, rows and dates, and a
 * strip of drift over the windows. Everything from the store is text.
 */
export function ModelHealth(props: ModelHealth.IProps): JSX.Element {
  const { health, error } = props;
  if (error) {
    return <div className="jp-mlops-health jp-mlops-dim">{`health unreadable: ${error}`}</div>;
  }
  if (health === null) {
    return <div className="jp-mlops-health jp-mlops-dim">reading health…</div>;
  }
  const last = health.last;
  if (last === null) {
    return <div className="jp-mlops-health jp-mod-unmonitored jp-mlops-dim">not monitored yet</div>;
  }
  const verdict = verdictOf(last);
  return (
    <div className="jp-mlops-health" data-verdict={verdict.key}>
      <div className="jp-mlops-health-summary">
        <span className="jp-mlops-health-verdict" data-verdict={verdict.key}>
          <span aria-hidden="true">{verdict.icon}</span> {verdict.text}
        </span>
        {last.violation_rate !== null && (
          <span className="jp-mlops-health-rate" title="rows out of contract, worst column">
            {`${formatRate(last.violation_rate)} out of contract`}
          </span>
        )}
        {last.rows !== null && (
          <span className="jp-mlops-health-rows">{plural(last.rows, 'row')}</span>
        )}
        {last.prediction_drifted && (
          <span className="jp-mlops-health-predictions">predictions drifted</span>
        )}
      </div>
      <DriftedColumns window={last} />
      <div
        className="jp-mlops-health-window jp-mlops-dim"
        title="last window: start inclusive, end exclusive"
      >
        last window <span className="jp-mlops-health-dates">{windowText(last)}</span>
        {last.problems.length > 0 && (
          <span className="jp-mlops-health-problems" title={last.problems.join('\n')}>
            {` · ${plural(last.problems.length, 'value')} unreadable`}
          </span>
        )}
      </div>
      <DriftStrip health={health} />
    </div>
  );
}

/** Props of `ModelHealth`. */
export namespace ModelHealth {
  export interface IProps {
    /** What the monitoring route answered; null while it is read. */
    health: IModelMonitoring | null;
    /** Why it could not be read. */
    error: string | null;
  }
}
