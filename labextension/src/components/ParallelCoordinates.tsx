import { caretDownEmptyIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { formatValue, runLabel } from '../format';
import { IRunSummary } from '../tokens';

/** The most distinct values a text param may have to get an axis. */
export const MAX_CATEGORIES = 8;

/** One vertical axis: a param or the chosen metric, and each run's value on it. */
export interface IAxis {
  key: string;
  kind: 'param' | 'metric';
  /** Each run's value (null: the run has none); numbers on a numeric axis. */
  values: (number | string | null)[];
  /** A numeric axis's range, or a categorical axis's values in order. */
  scale:
    { kind: 'numeric'; min: number; max: number } | { kind: 'categorical'; categories: string[] };
}

function asNumber(text: string): number | null {
  if (text.trim() === '') {
    return null;
  }
  const value = Number(text);
  return isFinite(value) ? value : null;
}

/** A numeric axis over `values`, or a categorical one over their distinct texts. */
function makeAxis(key: string, kind: IAxis['kind'], raw: (string | null)[]): IAxis | null {
  const present = raw.filter((v): v is string => v !== null);
  if (present.length === 0) {
    return null;
  }
  const numbers = present.map(asNumber);
  if (numbers.every(n => n !== null)) {
    const values = raw.map(v => (v === null ? null : Number(v)));
    const finite = numbers as number[];
    return {
      key,
      kind,
      values,
      scale: { kind: 'numeric', min: Math.min(...finite), max: Math.max(...finite) }
    };
  }
  const categories = [...new Set(present)].sort();
  return { key, kind, values: raw, scale: { kind: 'categorical', categories } };
}

/**
 * The params of a sweep: those that vary across `runs` and are numeric, or
 * text with at most `MAX_CATEGORIES` values. Sorted by name.
 */
export function sweepAxes(runs: IRunSummary[]): IAxis[] {
  const keys = [...new Set(runs.flatMap(run => Object.keys(run.params)))].sort();
  const axes: IAxis[] = [];
  for (const key of keys) {
    const raw = runs.map(run => run.params[key] ?? null);
    if (new Set(raw).size < 2) {
      continue; // the same everywhere: not a dimension of the sweep
    }
    const axis = makeAxis(key, 'param', raw);
    if (axis && (axis.scale.kind === 'numeric' || axis.scale.categories.length <= MAX_CATEGORIES)) {
      axes.push(axis);
    }
  }
  return axes;
}

/** The metrics with a finite value in at least two of `runs`, by name. */
export function sweepMetrics(runs: IRunSummary[]): string[] {
  const keys = [...new Set(runs.flatMap(run => Object.keys(run.metrics)))].sort();
  return keys.filter(
    key =>
      runs.filter(run => {
        const value = run.metrics[key];
        return typeof value === 'number' && isFinite(value);
      }).length >= 2
  );
}

/** The axis of metric `key` (non-finite values count as missing). */
export function metricAxis(runs: IRunSummary[], key: string): IAxis | null {
  const raw = runs.map(run => {
    const value = run.metrics[key];
    return typeof value === 'number' && isFinite(value) ? String(value) : null;
  });
  return makeAxis(key, 'metric', raw);
}

/**
 * Where `value` sits on `axis`, from 0 (bottom) to 1 (top); null when the
 * run has no value. A one-value axis puts it in the middle.
 */
export function axisPosition(axis: IAxis, value: number | string | null): number | null {
  if (value === null) {
    return null;
  }
  const { scale } = axis;
  if (scale.kind === 'numeric') {
    const span = scale.max - scale.min;
    return span === 0 ? 0.5 : (Number(value) - scale.min) / span;
  }
  const index = scale.categories.indexOf(String(value));
  if (index < 0) {
    return null;
  }
  return scale.categories.length === 1 ? 0.5 : index / (scale.categories.length - 1);
}

/** The colour of a line whose metric sits at `position` (0 low to 1 high), from theme colours. */
export function lineColour(position: number | null): string {
  if (position === null) {
    return 'var(--jp-ui-font-color3)';
  }
  const high = Math.round(position * 100);
  return `color-mix(in srgb, var(--jp-brand-color1) ${high}%, var(--jp-warn-color1))`;
}

const GAP = 72; // three axes fit the sidebar's default width
const MARGIN_X = 30;
const MARGIN_RIGHT = 40; // the last axis's tick labels sit right of it
const TOP = 30;
const HEIGHT = 150;
const BOTTOM = 22;

function short(text: string, length = 12): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

function tickLabels(axis: IAxis): { label: string; position: number }[] {
  const { scale } = axis;
  if (scale.kind === 'numeric') {
    if (scale.min === scale.max) {
      return [{ label: formatValue(scale.min), position: 0.5 }];
    }
    return [
      { label: formatValue(scale.min), position: 0 },
      { label: formatValue(scale.max), position: 1 }
    ];
  }
  return scale.categories.map(category => ({
    label: short(category, 8),
    position: axisPosition(axis, category) ?? 0
  }));
}

/**
 * A sweep's runs as parallel coordinates: one axis per varying param, the
 * chosen metric last, one line per run coloured by that metric.
 */
export function ParallelCoordinates(props: ParallelCoordinates.IProps): JSX.Element | null {
  const { runs } = props;
  const metrics = sweepMetrics(runs);
  const [chosen, setChosen] = React.useState<string | null>(null);
  const params = sweepAxes(runs);
  if (runs.length < 2 || params.length === 0 || metrics.length === 0) {
    return null;
  }
  const metric = chosen !== null && metrics.includes(chosen) ? chosen : metrics[0];
  const last = metricAxis(runs, metric);
  const axes = last ? [...params, last] : params;
  const width = MARGIN_X + MARGIN_RIGHT + GAP * (axes.length - 1);
  const x = (i: number) => MARGIN_X + GAP * i;
  const y = (position: number) => TOP + (1 - position) * HEIGHT;
  return (
    <div className="jp-mlops-parallel">
      <div className="jp-mlops-heading-row jp-mlops-parallel-head">
        <span className="jp-mlops-heading-inline">Sweep</span>
        <div className="jp-HTMLSelect jp-DefaultStyle jp-mlops-picker">
          <select
            className="jp-mlops-parallel-metric"
            aria-label="Metric of the last axis"
            value={metric}
            onChange={event => setChosen(event.target.value)}
          >
            {metrics.map(key => (
              <option key={key} value={key}>
                {key}
              </option>
            ))}
          </select>
          <caretDownEmptyIcon.react tag="span" stylesheet="select" right="4px" top="4px" />
        </div>
      </div>
      <div className="jp-mlops-parallel-scroll">
        <svg
          className="jp-mlops-parallel-svg"
          width={width}
          height={TOP + HEIGHT + BOTTOM}
          viewBox={`0 0 ${width} ${TOP + HEIGHT + BOTTOM}`}
          role="img"
          aria-label={`Parallel coordinates of ${runs.length} runs by ${metric}`}
        >
          {axes.map((axis, i) => (
            <g
              key={`${axis.kind}:${axis.key}`}
              className="jp-mlops-axis"
              data-axis={axis.key}
              data-kind={axis.kind}
            >
              <line x1={x(i)} x2={x(i)} y1={TOP} y2={TOP + HEIGHT} />
              <text
                className="jp-mlops-axis-title"
                x={i === 0 ? x(i) - 8 : x(i)}
                y={TOP - 14}
                textAnchor={i === 0 ? 'start' : i === axes.length - 1 ? 'end' : 'middle'}
              >
                <title>{axis.key}</title>
                {short(axis.key)}
              </text>
              {tickLabels(axis).map(tick => (
                <text
                  key={tick.label + tick.position}
                  className="jp-mlops-axis-tick"
                  x={x(i) + 4}
                  y={y(tick.position) + 4}
                >
                  {tick.label}
                </text>
              ))}
            </g>
          ))}
          {runs.map((run, r) => {
            const colourAt = last ? axisPosition(last, last.values[r]) : null;
            const points = axes
              .map((axis, i) => {
                const position = axisPosition(axis, axis.values[r]);
                return position === null ? null : `${x(i)},${y(position)}`;
              })
              .filter((p): p is string => p !== null);
            const value = run.metrics[metric];
            return (
              <polyline
                key={run.run_id}
                className="jp-mlops-parallel-line"
                data-run-id={run.run_id}
                points={points.join(' ')}
                style={{ stroke: lineColour(colourAt) }}
              >
                <title>{`${runLabel(run)}: ${metric} ${formatValue(value)}`}</title>
              </polyline>
            );
          })}
        </svg>
      </div>
      <div className="jp-mlops-parallel-legend">
        <span>low {metric}</span>
        <span className="jp-mlops-parallel-ramp" />
        <span>high</span>
      </div>
    </div>
  );
}

/** Props of `ParallelCoordinates`. */
export namespace ParallelCoordinates {
  export interface IProps {
    /** The compared runs (the children of a sweep, usually). */
    runs: IRunSummary[];
  }
}
