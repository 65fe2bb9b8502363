import * as React from 'react';

import {
  formatClock,
  formatDuration,
  formatTick,
  IAxis,
  IPlotPoint,
  nearestIndex,
  niceAxis,
  plotPoints,
  timeAxis,
  XMode
} from '../chartScale';
import { formatValue } from '../format';
import { IMetricPoint } from '../tokens';

/** The chart's height and margins, in CSS pixels (its width follows the panel's). */
export const CHART_HEIGHT = 132;
const DEFAULT_WIDTH = 260;
const MARGIN = { top: 8, right: 12, bottom: 20 };
const CHAR_WIDTH = 6; // px of one tick label character at --jp-ui-font-size0
const MAX_DOTS = 40; // a dot per point up to this many

/** The axes and pixel positions of a chart `width` pixels wide. */
export interface IChartLayout {
  points: IPlotPoint[];
  x: IAxis;
  y: IAxis;
  xLabels: string[];
  yLabels: string[];
  /** The plot area. */
  left: number;
  right: number;
  top: number;
  bottom: number;
  /** Pixel position of a data x and of a value. */
  px: (x: number) => number;
  py: (value: number) => number;
}

/**
 * Where everything goes: y ticks on round values, x ticks on round steps or
 * times, the left margin as wide as the longest y label.
 */
export function chartLayout(
  history: IMetricPoint[],
  mode: XMode,
  width = DEFAULT_WIDTH,
  height = CHART_HEIGHT
): IChartLayout {
  const points = plotPoints(history, mode);
  const values = points.map(p => p.value);
  const xs = points.map(p => p.x);
  const y = niceAxis(Math.min(...values), Math.max(...values), 4);
  let x: IAxis;
  let xLabels: string[];
  if (mode === 'step') {
    x = niceAxis(Math.min(...xs), Math.max(...xs), 4, true);
    xLabels = x.ticks.map(t => formatTick(t, x.step));
  } else if (mode === 'relative') {
    x = timeAxis(0, Math.max(...xs), 4);
    xLabels = x.ticks.map(formatDuration);
  } else {
    const offset = -new Date(xs[0] ?? 0).getTimezoneOffset() * 60000;
    x = timeAxis(Math.min(...xs), Math.max(...xs), 3, offset);
    xLabels = x.ticks.map(t => formatClock(t, x.step));
  }
  const yLabels = y.ticks.map(t => formatTick(t, y.step));
  const left = 8 + CHAR_WIDTH * Math.max(...yLabels.map(label => label.length));
  const right = width - MARGIN.right;
  const top = MARGIN.top;
  const bottom = height - MARGIN.bottom;
  const px = (v: number) => round(left + ((v - x.min) / (x.max - x.min || 1)) * (right - left));
  const py = (v: number) => round(bottom - ((v - y.min) / (y.max - y.min || 1)) * (bottom - top));
  return { points, x, y, xLabels, yLabels, left, right, top, bottom, px, py };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/** The time of a point, for the tooltip: local wall clock and since the first point. */
function pointTime(point: IPlotPoint, first: number): string {
  return `${new Date(point.timestamp).toLocaleString()} (+${formatDuration(point.timestamp - first)})`;
}

/**
 * A metric's history as a line chart with axes, ticks and a hover readout
 * (a vertical guide and the step, value and time of the nearest point).
 *
 * Hand-written SVG: JupyterLab ships no chart component, and a charting
 * library would add a large bundle for one line per metric. Colours are
 * JupyterLab's theme variables (see `style/details.css`).
 */
export function MetricChart(props: MetricChart.IProps): JSX.Element {
  const { metric, points, mode = 'step' } = props;
  const host = React.useRef<HTMLDivElement>(null);
  const [width, setWidth] = React.useState(DEFAULT_WIDTH);
  const [hover, setHover] = React.useState<number | null>(null);

  React.useLayoutEffect(() => {
    const node = host.current;
    if (!node || typeof ResizeObserver === 'undefined') {
      return;
    }
    const measure = () => {
      const measured = Math.floor(node.getBoundingClientRect().width);
      if (measured > 0) {
        setWidth(Math.max(160, measured));
      }
    };
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(node);
    return () => observer.disconnect();
  }, []);

  const layout = chartLayout(points, mode, width);
  const drawn = layout.points;
  const first = Math.min(...drawn.map(p => p.timestamp));
  const label = drawn.length
    ? `${metric}: ${drawn.length} points from ${formatValue(Math.min(...drawn.map(p => p.value)))} to ${formatValue(Math.max(...drawn.map(p => p.value)))}`
    : `${metric}: no finite values`;
  const path = drawn
    .map((p, i) => `${i ? 'L' : 'M'}${layout.px(p.x)} ${layout.py(p.value)}`)
    .join(' ');
  const hovered = hover !== null ? drawn[hover] : undefined;

  const onMove = (event: React.MouseEvent<SVGSVGElement>) => {
    const rect = event.currentTarget.getBoundingClientRect();
    const ux = ((event.clientX - rect.left) * width) / (rect.width || width);
    const { x, left, right } = layout;
    const dataX = x.min + ((ux - left) / (right - left || 1)) * (x.max - x.min);
    const index = nearestIndex(drawn, dataX);
    setHover(index >= 0 ? index : null);
  };

  return (
    <div className="jp-mlops-chart-box" ref={host}>
      <svg
        className="jp-mlops-chart"
        data-metric={metric}
        data-mode={mode}
        width={width}
        height={CHART_HEIGHT}
        viewBox={`0 0 ${width} ${CHART_HEIGHT}`}
        role="img"
        aria-label={label}
        onMouseMove={onMove}
        onMouseLeave={() => setHover(null)}
      >
        <title>{label}</title>
        <g className="jp-mlops-chart-y-axis">
          {layout.y.ticks.map((tick, i) => (
            <g key={`y${i}`} className="jp-mlops-chart-tick">
              <line
                className="jp-mlops-chart-grid"
                x1={layout.left}
                x2={layout.right}
                y1={layout.py(tick)}
                y2={layout.py(tick)}
              />
              <text x={layout.left - 4} y={layout.py(tick)} textAnchor="end" dy="0.32em">
                {layout.yLabels[i]}
              </text>
            </g>
          ))}
        </g>
        <g className="jp-mlops-chart-x-axis">
          <line
            className="jp-mlops-chart-axis"
            x1={layout.left}
            x2={layout.right}
            y1={layout.bottom}
            y2={layout.bottom}
          />
          {layout.x.ticks.map((tick, i) => (
            <g key={`x${i}`} className="jp-mlops-chart-tick">
              <line
                className="jp-mlops-chart-axis"
                x1={layout.px(tick)}
                x2={layout.px(tick)}
                y1={layout.bottom}
                y2={layout.bottom + 3}
              />
              <text
                x={layout.px(tick)}
                y={layout.bottom + 5}
                textAnchor={i === 0 ? 'start' : i === layout.x.ticks.length - 1 ? 'end' : 'middle'}
                dy="0.8em"
              >
                {layout.xLabels[i]}
              </text>
            </g>
          ))}
        </g>
        {drawn.length > 1 && <path className="jp-mlops-chart-line" d={path} />}
        {drawn.length <= MAX_DOTS &&
          drawn.map((p, i) => (
            <circle
              key={i}
              className="jp-mlops-chart-dot"
              cx={layout.px(p.x)}
              cy={layout.py(p.value)}
              r={2}
            />
          ))}
        {hovered && (
          <g className="jp-mlops-chart-hover">
            <line
              className="jp-mlops-chart-guide"
              x1={layout.px(hovered.x)}
              x2={layout.px(hovered.x)}
              y1={layout.top}
              y2={layout.bottom}
            />
            <circle
              className="jp-mlops-chart-focus"
              cx={layout.px(hovered.x)}
              cy={layout.py(hovered.value)}
              r={3.5}
            />
          </g>
        )}
        {/* transparent, so the whole plot area takes the pointer */}
        <rect
          className="jp-mlops-chart-hit"
          x={layout.left}
          y={layout.top}
          width={Math.max(0, layout.right - layout.left)}
          height={Math.max(0, layout.bottom - layout.top)}
        />
      </svg>
      {hovered && (
        <div
          className="jp-mlops-chart-tooltip"
          role="tooltip"
          style={
            layout.px(hovered.x) > width / 2
              ? { right: width - layout.px(hovered.x) + 8 }
              : { left: layout.px(hovered.x) + 8 }
          }
        >
          <div>
            <span className="jp-mlops-chart-tooltip-key">step</span> {hovered.step}
          </div>
          <div>
            <span className="jp-mlops-chart-tooltip-key">value</span> {formatValue(hovered.value)}
          </div>
          <div>
            <span className="jp-mlops-chart-tooltip-key">time</span> {pointTime(hovered, first)}
          </div>
        </div>
      )}
    </div>
  );
}

/** Props of `MetricChart`. */
export namespace MetricChart {
  export interface IProps {
    /** The metric key. */
    metric: string;
    /** Its history, by step. */
    points: IMetricPoint[];
    /** What x measures (default: step). */
    mode?: XMode;
  }
}
