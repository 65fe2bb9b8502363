import * as React from 'react';

import { formatValue } from '../format';
import { IMetricPoint } from '../tokens';

/** The drawing area of a chart, in SVG user units. */
export const CHART_WIDTH = 240;
export const CHART_HEIGHT = 56;
const PAD = 4;

/** What to draw for a history: a line, or a dot for a single point. */
export interface IChartGeometry {
  /** The SVG path of the line (two finite points or more). */
  path: string | null;
  /** The dot for a history of one finite point. */
  dot: { cx: number; cy: number } | null;
  /** The smallest and largest finite values. */
  min: number;
  max: number;
  /** How many points are drawn (non-finite values are left out). */
  count: number;
}

/**
 * Where the points of a metric's history fall in a `width` x `height` box:
 * x by step (by position when every point has the same step), y by value
 * with the largest value at the top. NaN and infinities are left out.
 */
export function chartGeometry(
  points: IMetricPoint[],
  width = CHART_WIDTH,
  height = CHART_HEIGHT
): IChartGeometry {
  const finite = points.filter(
    (p): p is IMetricPoint & { value: number } =>
      typeof p.value === 'number' && Number.isFinite(p.value)
  );
  const values = finite.map(p => p.value);
  const min = values.length ? Math.min(...values) : NaN;
  const max = values.length ? Math.max(...values) : NaN;
  if (finite.length === 0) {
    return { path: null, dot: null, min, max, count: 0 };
  }
  const steps = finite.map(p => p.step);
  const sameStep = steps.every(step => step === steps[0]);
  const xs = sameStep ? finite.map((_, i) => i) : steps;
  const x0 = Math.min(...xs);
  const xSpan = Math.max(...xs) - x0;
  const ySpan = max - min;
  const x = (v: number) => round(xSpan ? PAD + ((v - x0) / xSpan) * (width - 2 * PAD) : width / 2);
  const y = (v: number) =>
    round(ySpan ? PAD + ((max - v) / ySpan) * (height - 2 * PAD) : height / 2);
  if (finite.length === 1) {
    return { path: null, dot: { cx: x(xs[0]), cy: y(values[0]) }, min, max, count: 1 };
  }
  const path = finite.map((p, i) => `${i ? 'L' : 'M'}${x(xs[i])} ${y(p.value)}`).join(' ');
  return { path, dot: null, min, max, count: finite.length };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/**
 * A small line chart of one metric's history.
 *
 * Hand-written SVG: JupyterLab ships no chart component, and a charting
 * library would add a large bundle for what is a sparkline per metric.
 */
export function MetricChart(props: MetricChart.IProps): JSX.Element {
  const { metric, points } = props;
  const geometry = chartGeometry(points);
  const label = geometry.count
    ? `${metric}: ${geometry.count} points from ${formatValue(geometry.min)} to ${formatValue(geometry.max)}`
    : `${metric}: no finite values`;
  return (
    <svg
      className="jp-mlops-chart"
      data-metric={metric}
      viewBox={`0 0 ${CHART_WIDTH} ${CHART_HEIGHT}`}
      role="img"
      aria-label={label}
    >
      <title>{label}</title>
      {geometry.path !== null && (
        <path className="jp-mlops-chart-line" d={geometry.path} vectorEffect="non-scaling-stroke" />
      )}
      {geometry.dot !== null && (
        <circle className="jp-mlops-chart-dot" cx={geometry.dot.cx} cy={geometry.dot.cy} r={3} />
      )}
    </svg>
  );
}

/** Props of `MetricChart`. */
export namespace MetricChart {
  export interface IProps {
    /** The metric key. */
    metric: string;
    /** Its history, by step. */
    points: IMetricPoint[];
  }
}
