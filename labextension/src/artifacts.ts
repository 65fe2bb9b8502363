/**
 * What clicking a run's artifact does, decided by its name alone (the
 * server types an artifact by its extension too, never by its content).
 */

/**
 * `report`: HTML, opened in a main-area tab in a sandboxed iframe;
 * `notebook`: a notebook snapshot, opened read-only in a main-area tab;
 * `download`: anything else, saved by the browser.
 */
export type ArtifactAction = 'report' | 'notebook' | 'download';

/** The action for the artifact at `path`. */
export function artifactAction(path: string): ArtifactAction {
  const name = fileName(path).toLowerCase();
  if (name.endsWith('.html') || name.endsWith('.htm')) {
    return 'report';
  }
  if (name.endsWith('.ipynb')) {
    return 'notebook';
  }
  return 'download';
}

/** The last part of a `/`-separated artifact path. */
export function fileName(path: string): string {
  const parts = path.split('/').filter(part => part !== '');
  return parts[parts.length - 1] ?? '';
}

/** A size in bytes, short: `812 B`, `4.2 KB`, `13 MB` (powers of 1024). */
export function formatSize(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) {
    return '';
  }
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const shown = unit === 0 || value >= 10 ? Math.round(value) : Math.round(value * 10) / 10;
  return `${shown} ${units[unit]}`;
}

/** What the panel asks the application to open in the main area. */
export interface IArtifactOpenRequest {
  runId: string;
  /** The run's name (or the start of its id), for the tab's title. */
  runName: string;
  /** From the run's artifact root. */
  path: string;
}

/** The title of the tab an artifact opens in: the run, then the file. */
export function artifactTitle(request: IArtifactOpenRequest): string {
  return `${request.runName} · ${fileName(request.path)}`;
}
