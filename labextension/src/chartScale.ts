/**
 * The axes of a metric chart: round tick values, compact labels, and what a
 * history is drawn against (step, time since the first point, wall clock).
 * Pure functions, so the choices can be tested without a browser.
 */
import { IMetricPoint } from './tokens';

/** What the x axis measures. */
export type XMode = 'step' | 'relative' | 'wall';

/** The x modes in the order the toggle shows them, with their labels. */
export const X_MODES: ReadonlyArray<[XMode, string]> = [
  ['step', 'Step'],
  ['relative', 'Relative'],
  ['wall', 'Time']
];

/** An axis: its domain (from the first tick to the last) and its ticks. */
export interface IAxis {
  min: number;
  max: number;
  ticks: number[];
  /** The distance between two ticks. */
  step: number;
}

/** `span / count` rounded to 1, 2, 2.5 or 5 times a power of ten. */
export function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const fraction = raw / power;
  const nice =
    fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 2.5 ? 2.5 : fraction <= 5 ? 5 : 10;
  return nice * power;
}

/**
 * Round ticks covering `[lo, hi]` (at most about `count + 1` of them), the
 * domain widened to the first and last tick. A flat range is widened around
 * its value; `integer` keeps ticks on whole numbers (steps).
 */
export function niceAxis(lo: number, hi: number, count = 4, integer = false): IAxis {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    return { min: 0, max: 1, ticks: [0, 1], step: 1 };
  }
  if (hi < lo) {
    [lo, hi] = [hi, lo];
  }
  if (hi === lo) {
    const pad = integer ? 1 : lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  let step = niceStep(hi - lo, count);
  if (integer) {
    step = Math.max(1, Math.round(step));
  }
  const min = Math.floor(lo / step + 1e-9) * step;
  const max = Math.ceil(hi / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let i = 0; min + i * step <= max + step * 1e-9; i++) {
    ticks.push(cleanFloat(min + i * step, step));
  }
  return { min: ticks[0], max: ticks[ticks.length - 1], ticks, step };
}

/** Round intervals for a time axis, in milliseconds. */
const TIME_STEPS = [
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 15e3, 3e4, 6e4, 12e4, 3e5, 6e5, 9e5, 18e5,
  36e5, 72e5, 108e5, 216e5, 432e5, 864e5, 1728e5, 6048e5
];

/**
 * Ticks for a span of milliseconds on whole seconds, minutes, hours or days
 * (after `offset`, the time zone's shift, for a wall clock).
 */
export function timeAxis(lo: number, hi: number, count = 4, offset = 0): IAxis {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    return { min: 0, max: 1, ticks: [0, 1], step: 1 };
  }
  if (hi <= lo) {
    hi = lo + 1000;
  }
  const raw = (hi - lo) / Math.max(1, count);
  const step =
    TIME_STEPS.find(s => s >= raw) ?? Math.ceil(raw / TIME_STEPS[TIME_STEPS.length - 1]) * 6048e5;
  const min = Math.floor((lo + offset) / step) * step - offset;
  const max = Math.ceil((hi + offset) / step) * step - offset;
  const ticks: number[] = [];
  for (let t = min; t <= max; t += step) {
    ticks.push(t);
  }
  return { min, max, ticks, step };
}

/** A number without the noise of binary fractions (`0.30000000000000004` → `0.3`). */
function cleanFloat(value: number, step: number): number {
  const digits = Math.max(0, Math.min(15, 1 - Math.floor(Math.log10(step))));
  return Number(value.toFixed(digits));
}

/**
 * A tick label, compact: `1.5k`, `2M`, `0.25`, `1e-5`; as many decimals as
 * the tick step needs, no more.
 */
export function formatTick(value: number, step: number): string {
  if (value === 0) {
    return '0';
  }
  const abs = Math.abs(value);
  if (abs >= 1e3 && abs < 1e15) {
    for (const [scale, suffix] of [
      [1e12, 'T'],
      [1e9, 'G'],
      [1e6, 'M'],
      [1e3, 'k']
    ] as [number, string][]) {
      if (abs >= scale) {
        return trimZeros((value / scale).toFixed(decimals(step / scale))) + suffix;
      }
    }
  }
  if (abs < 1e-3 || abs >= 1e15) {
    return trimZeros(value.toExponential(1)).replace('e+', 'e');
  }
  return trimZeros(value.toFixed(decimals(step)));
}

function decimals(step: number): number {
  return Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
}

function trimZeros(text: string): string {
  return text.includes('.') ? text.replace(/\.?0+(?=$|e)/, '') : text;
}

/** A duration in milliseconds, compact: `0s`, `45s`, `2m 30s`, `1.5h`, `3d`. */
export function formatDuration(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  const abs = Math.abs(ms);
  if (abs < 1000) {
    return abs === 0 ? '0s' : `${sign}${Math.round(abs)}ms`;
  }
  const s = abs / 1000;
  if (s < 60) {
    return `${sign}${trimZeros(s.toFixed(s < 10 ? 1 : 0))}s`;
  }
  if (s < 3600) {
    const m = Math.floor(s / 60);
    const rest = Math.round(s - m * 60);
    return `${sign}${m}m${rest ? ` ${rest}s` : ''}`;
  }
  if (s < 86400) {
    return `${sign}${trimZeros((s / 3600).toFixed(1))}h`;
  }
  return `${sign}${trimZeros((s / 86400).toFixed(1))}d`;
}

/**
 * A wall clock time: `14:05`, with seconds under a minute's ticks and
 * milliseconds under a second's, the date over a day's.
 */
export function formatClock(ms: number, step: number): string {
  const date = new Date(ms);
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}`;
  if (step >= 864e5) {
    return `${date.getMonth() + 1}/${pad(date.getDate())}`;
  }
  if (step < 1000) {
    return `${time}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
  }
  return step < 6e4 ? `${time}:${pad(date.getSeconds())}` : time;
}

/** A history's finite points, with the x each has in `mode`. */
export interface IPlotPoint {
  x: number;
  value: number;
  step: number;
  timestamp: number;
}

/**
 * The points to draw: finite values only (MLflow writes NaN and infinities
 * as text), x by step, by milliseconds since the first point, or by wall
 * clock; sorted by x.
 */
export function plotPoints(points: IMetricPoint[], mode: XMode): IPlotPoint[] {
  const finite = points.filter(
    (p): p is IMetricPoint & { value: number } =>
      typeof p.value === 'number' && Number.isFinite(p.value)
  );
  const start = Math.min(...finite.map(p => p.timestamp));
  return finite
    .map(p => ({
      x: mode === 'step' ? p.step : mode === 'relative' ? p.timestamp - start : p.timestamp,
      value: p.value,
      step: p.step,
      timestamp: p.timestamp
    }))
    .sort((a, b) => a.x - b.x || a.timestamp - b.timestamp);
}

/**
 * Whether a metric is one number rather than a series: logged once (or
 * with at most one finite value), it is shown as a value, not a chart.
 */
export function isSingleValue(points: IMetricPoint[] | null | undefined): boolean {
  return !points || plotPoints(points, 'step').length <= 1;
}

/** The index of the point nearest to `x` (points sorted by x); -1 for none. */
export function nearestIndex(points: IPlotPoint[], x: number): number {
  let best = -1;
  let distance = Infinity;
  points.forEach((p, i) => {
    const d = Math.abs(p.x - x);
    if (d < distance) {
      best = i;
      distance = d;
    }
  });
  return best;
}
