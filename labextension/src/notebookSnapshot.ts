/**
 * A notebook snapshot a run logged, shown read-only: its cells and their
 * outputs rendered by JupyterLab's rendermime and `OutputArea` as UNTRUSTED
 * content (no JavaScript, HTML sanitized), with no kernel and no editor.
 */
import type * as nbformat from '@jupyterlab/nbformat';
import { OutputArea, OutputAreaModel } from '@jupyterlab/outputarea';
import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
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

/** The read-only view: a note saying what it is, then the cells. */
export class NotebookSnapshot extends Panel {
  constructor(options: NotebookSnapshot.IOptions) {
    super();
    this._rendermime = options.rendermime;
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
