// nbdime and its editors load with this module, on the first diff opened (index.ts imports it
// lazily), so the lab's start does not wait for them
import { JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget } from '@jupyterlab/apputils';
import type * as nbformat from '@jupyterlab/nbformat';
import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Panel, Widget } from '@lumino/widgets';
import type { IDiffEntry } from 'nbdime/lib/diff/diffentries';
import { NotebookDiffModel } from 'nbdime/lib/diff/model';
import { NotebookDiffWidget } from 'nbdime/lib/diff/widget';

import 'nbdime/lib/styles/variables.css';
import 'nbdime/lib/styles/common.css';
import 'nbdime/lib/styles/diff.css';

import { runLabel } from './format';
import { messageOf } from './request';
import { IMlopsApi, IRunSummary } from './tokens';

/**
 * `rendermime` as a store's notebooks need it: the same renderers and
 * sanitizer, but every output rendered untrusted (HTML sanitized, no
 * scripts), whatever the diff view's own "Trust" button says.
 */
export function untrustedRendermime(rendermime: IRenderMimeRegistry): IRenderMimeRegistry {
  const registry = rendermime.clone();
  const seen = new Set<IRenderMime.IRendererFactory>();
  for (const mimeType of [...registry.mimeTypes]) {
    const factory = registry.getFactory(mimeType);
    if (!factory || seen.has(factory)) {
      continue;
    }
    seen.add(factory);
    registry.addFactory(
      {
        safe: factory.safe,
        mimeTypes: factory.mimeTypes,
        defaultRank: factory.defaultRank,
        createRenderer: options => {
          const renderer = factory.createRenderer(options);
          const render = renderer.renderModel.bind(renderer);
          renderer.renderModel = model =>
            render(new MimeModel({ data: model.data, metadata: model.metadata, trusted: false }));
          return renderer;
        }
      },
      registry.getRank(mimeType)
    );
  }
  return registry;
}

/**
 * Open nbdime's diff from `base`'s notebook snapshot to `other`'s in a
 * main-area tab (one tab per pair: asking again shows it).
 */
export async function openNotebookDiff(
  app: JupyterFrontEnd,
  api: IMlopsApi,
  rendermime: IRenderMimeRegistry,
  base: IRunSummary,
  other: IRunSummary
): Promise<MainAreaWidget<Panel>> {
  const id = `jupyter-mlops-notebook-diff-${base.run_id}-${other.run_id}`;
  const open = [...app.shell.widgets('main')].find(w => w.id === id);
  if (open) {
    app.shell.activateById(id);
    return open as MainAreaWidget<Panel>;
  }
  const content = new Panel();
  content.addClass('jp-mlops-notebook-diff');
  content.addClass('nbdime-root');
  const widget = new MainAreaWidget({ content });
  widget.id = id;
  widget.title.label = `Diff ${runLabel(base)} → ${runLabel(other)}`;
  widget.title.caption = `Notebook diff: run ${base.run_id} → run ${other.run_id}`;
  widget.title.closable = true;
  const note = (text: string, className: string) => {
    const node = document.createElement('div');
    node.className = className;
    node.textContent = text; // text from the store stays text
    return new Widget({ node });
  };
  const header = note(
    `${runLabel(base)} (${base.run_id.slice(0, 8)}) → ${runLabel(other)} (${other.run_id.slice(0, 8)})`,
    'jp-mlops-notebook-diff-header'
  );
  content.addWidget(header);
  const loading = note('Loading the notebook diff…', 'jp-mlops-note');
  content.addWidget(loading);
  app.shell.add(widget, 'main');
  app.shell.activateById(id);
  try {
    const answer = await api.notebookDiff(base.run_id, other.run_id);
    const model = new NotebookDiffModel(
      answer.base as unknown as nbformat.INotebookContent,
      answer.diff as unknown as IDiffEntry[]
    );
    const diff = new NotebookDiffWidget({ model, rendermime: untrustedRendermime(rendermime) });
    loading.dispose();
    if (answer.diff.length === 0) {
      content.addWidget(note('The two notebooks are the same.', 'jp-mlops-note'));
    }
    content.addWidget(diff);
    await diff.init();
  } catch (error) {
    loading.dispose();
    content.addWidget(note(messageOf(error), 'jp-mlops-error'));
  }
  return widget;
}
