/**
 * A notebook snapshot a run logged, shown read-only: its cells and their
 * outputs rendered by JupyterLab's rendermime and `OutputArea` as UNTRUSTED
 * content (no JavaScript, HTML sanitized, no media fetched from a URL), with
 * no kernel and no editor.
 */
import type * as nbformat from '@jupyterlab/nbformat';
import { OutputArea, OutputAreaModel } from '@jupyterlab/outputarea';
import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Panel, Widget } from '@lumino/widgets';

/** At most this many cells are shown (a snapshot is at most 50 MB anyway). */
export const MAX_CELLS = 2000;

/** One cell as the snapshot shows it. */
export interface ISnapshotCell {
  kind: 'markdown' | 'code' | 'raw';
  source: string;
  executionCount: number | null;
  outputs: nbformat.IOutput[];
}

/** A notebook's cells, checked: text sources, output lists; else one clear line. */
export function snapshotCells(notebook: unknown): ISnapshotCell[] {
  const nb = notebook as { nbformat?: unknown; cells?: unknown };
  if (!nb || typeof nb !== 'object' || !Array.isArray(nb.cells)) {
    const old = nb && typeof nb === 'object' && typeof nb.nbformat === 'number';
    throw new Error(
      old && (nb.nbformat as number) < 4
        ? `this notebook is in format ${nb.nbformat}; only format 4 is shown`
        : 'this file is not a notebook (no list of cells)'
    );
  }
  return nb.cells.slice(0, MAX_CELLS).map((raw: any) => {
    const cell = raw && typeof raw === 'object' ? raw : {};
    const kind =
      cell.cell_type === 'code' || cell.cell_type === 'raw' ? cell.cell_type : 'markdown';
    const source = Array.isArray(cell.source)
      ? cell.source.filter((s: unknown) => typeof s === 'string').join('')
      : typeof cell.source === 'string'
        ? cell.source
        : '';
    const outputs =
      kind === 'code' && Array.isArray(cell.outputs)
        ? cell.outputs.filter(
            (o: any) => o && typeof o === 'object' && typeof o.output_type === 'string'
          )
        : [];
    const count = Number.isInteger(cell.execution_count) ? cell.execution_count : null;
    return { kind, source, executionCount: count, outputs };
  });
}

/** Attributes that make a browser fetch. */
const FETCHING = ['src', 'srcset', 'poster', 'background', 'data', 'href'];
/** Elements whose `href` fetches (a link's does not until clicked). */
const FETCHING_HREF = new Set(['image', 'use', 'link', 'feimage']);

/**
 * HTML with nothing that fetches from elsewhere: a `src` (or `srcset`,
 * `poster`...) that is not a `data:` URL is removed, and so is a style
 * holding `url(`. A snapshot is the store's content: opening it must not
 * tell another host (or this server's files) that it was read.
 */
export function withoutRemoteMedia(html: string): string {
  // parsed in a document of its own, inert: nothing in it loads or runs
  const body = new DOMParser().parseFromString(html, 'text/html').body;
  for (const element of body.querySelectorAll('*')) {
    for (const name of FETCHING) {
      if (name === 'href' && !FETCHING_HREF.has(element.tagName.toLowerCase())) {
        continue;
      }
      const value = element.getAttribute(name);
      if (value !== null && !/^\s*data:/i.test(value)) {
        element.removeAttribute(name);
        element.setAttribute('data-mlops-blocked', name);
      }
    }
    if (/url\s*\(/i.test(element.getAttribute('style') ?? '')) {
      element.removeAttribute('style');
    }
  }
  // the sanitizer's interface is HTML text in, HTML text out: serialize the inert body back
  // eslint-disable-next-line no-restricted-properties
  return body.innerHTML;
}

/** JupyterLab's sanitizer, then `withoutRemoteMedia`. */
export function noRemoteMedia(inner: IRenderMime.ISanitizer): IRenderMime.ISanitizer {
  return {
    sanitize: (dirty, options) => withoutRemoteMedia(inner.sanitize(dirty, options)),
    getAutolink: inner.getAutolink ? () => inner.getAutolink!() : undefined,
    allowNamedProperties: inner.allowNamedProperties,
    allowCommandLinker: false
  };
}

/** The read-only view: a note saying what it is, then the cells. */
export class NotebookSnapshot extends Panel {
  constructor(options: NotebookSnapshot.IOptions) {
    super();
    // untrusted content goes through the sanitizer: here it also drops media from elsewhere
    this._rendermime = options.rendermime.clone({
      sanitizer: noRemoteMedia(options.rendermime.sanitizer)
    });
    this.addClass('jp-mlops-notebook-snapshot');
    this.node.tabIndex = -1;
    const note = new Widget();
    note.addClass('jp-mlops-snapshot-note');
    note.node.textContent = `Read-only snapshot of ${options.title}: no kernel, outputs shown as untrusted.`;
    this.addWidget(note);
    this._status = new Widget();
    this._status.addClass('jp-mlops-note');
    this._status.node.textContent = 'Loading…';
    this.addWidget(this._status);
  }

  /** Show the notebook (untrusted JSON from the store). */
  render(notebook: unknown): void {
    let cells: ISnapshotCell[];
    try {
      cells = snapshotCells(notebook);
    } catch (error) {
      this.fail((error as Error).message);
      return;
    }
    this._status.dispose();
    for (const cell of cells) {
      this.addWidget(this._cell(cell));
    }
    const total = (notebook as { cells: unknown[] }).cells.length;
    if (total > cells.length) {
      this.addWidget(textWidget('jp-mlops-note', `${total - cells.length} more cells not shown.`));
    }
  }

  /** Say why the notebook cannot be shown (one line). */
  fail(message: string): void {
    this._status.removeClass('jp-mlops-note');
    this._status.addClass('jp-mlops-error');
    this._status.node.textContent = message;
  }

  private _cell(cell: ISnapshotCell): Widget {
    const box = new Panel();
    box.addClass('jp-mlops-snapshot-cell');
    box.node.dataset.cellType = cell.kind;
    if (cell.kind === 'markdown') {
      const renderer = this._rendermime.createRenderer('text/markdown');
      const model = new MimeModel({ data: { 'text/markdown': cell.source }, trusted: false });
      void renderer.renderModel(model).catch(() => {
        renderer.node.textContent = cell.source;
      });
      box.addWidget(renderer);
      return box;
    }
    const input = new Widget({ node: document.createElement('div') });
    input.addClass('jp-mlops-snapshot-input');
    const prompt = document.createElement('div');
    prompt.className = 'jp-InputPrompt jp-mlops-snapshot-prompt';
    prompt.textContent = cell.kind === 'code' ? `[${cell.executionCount ?? ' '}]:` : '';
    const source = document.createElement('pre');
    source.className = 'jp-mlops-snapshot-source';
    source.textContent = cell.source;
    input.node.append(prompt, source);
    box.addWidget(input);
    if (cell.outputs.length) {
      try {
        const model = new OutputAreaModel({ values: cell.outputs, trusted: false });
        box.addWidget(new OutputArea({ model, rendermime: this._rendermime }));
      } catch {
        box.addWidget(textWidget('jp-mlops-note', 'This cell\u2019s outputs cannot be shown.'));
      }
    }
    return box;
  }

  private _rendermime: IRenderMimeRegistry;
  private _status: Widget;
}

function textWidget(className: string, text: string): Widget {
  const widget = new Widget();
  widget.addClass(className);
  widget.node.textContent = text;
  return widget;
}

/** Options of `NotebookSnapshot`. */
export namespace NotebookSnapshot {
  export interface IOptions {
    rendermime: IRenderMimeRegistry;
    /** What the snapshot is (its artifact path), said above the cells. */
    title: string;
  }
}
