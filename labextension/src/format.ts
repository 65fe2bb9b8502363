import { Time } from '@jupyterlab/coreutils';

import { IRunSummary, MetricValue } from './tokens';

/** A metric value in a few significant digits (non-finite ones as MLflow writes them). */
export function formatValue(value: MetricValue | undefined): string {
  if (value === undefined) {
    return '';
  }
  if (typeof value !== 'number') {
    return value;
  }
  if (Number.isInteger(value)) {
    return String(value);
  }
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) {
    return value.toExponential(3);
  }
  return String(Number(value.toPrecision(4)));
}

/** An ISO time as "3 minutes ago" (empty when there is none). */
export function formatAgo(iso: string | null | undefined): string {
  return iso ? Time.formatHuman(iso) : '';
}

/** An ISO time as a full local date and time, for tooltips. */
export function formatTime(iso: string | null | undefined): string {
  return iso ? Time.format(iso) : '';
}

/** A run's name, or the start of its id when it has none. */
export function runLabel(run: Pick<IRunSummary, 'name' | 'run_id'>): string {
  return run.name || run.run_id.slice(0, 8);
}

/**
 * The metric keys worth a column: the ones most runs have, then by name, at
 * most `limit` (the sidebar is narrow; details show every metric).
 */
export function keyMetrics(runs: Pick<IRunSummary, 'metrics'>[], limit = 5): string[] {
  const counts = new Map<string, number>();
  for (const run of runs) {
    for (const key of Object.keys(run.metrics)) {
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return [...counts.entries()]
    .sort(([a, m], [b, n]) => n - m || a.localeCompare(b))
    .slice(0, limit)
    .map(([key]) => key);
}
