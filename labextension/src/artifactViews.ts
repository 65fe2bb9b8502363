/**
 * The main-area tabs a run's artifacts open in: an HTML report in a
 * sandboxed iframe, a notebook snapshot read-only.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget } from '@jupyterlab/apputils';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { html5Icon, IFrame, notebookIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { artifactAction, artifactTitle, IArtifactOpenRequest } from './artifacts';
import { NotebookSnapshot } from './notebookSnapshot';
import { messageOf } from './request';
import { IMlopsApi } from './tokens';

/**
 * An HTML artifact in an `<iframe sandbox="">` whose `src` is the REST URL:
 * the page's cookie authorises it, the server's Content-Security-Policy and
 * the empty sandbox keep it inert (no script, nothing fetched, no origin).
 */
export function reportFrame(url: string, title: string): IFrame {
  const frame = new IFrame({ sandbox: [], referrerPolicy: 'no-referrer' });
  frame.addClass('jp-mlops-report-frame');
  frame.url = url;
  const node = frame.node.querySelector('iframe');
  node?.setAttribute('title', title);
  return frame;
}

/**
 * Open a report or a notebook snapshot of a run in a main-area tab (or bring
 * its tab forward when it is open already).
 */
export async function openArtifact(
  app: JupyterFrontEnd,
  api: IMlopsApi,
  rendermime: IRenderMimeRegistry | null,
  request: IArtifactOpenRequest
): Promise<void> {
  const id = `jp-mlops-artifact-${encodeURIComponent(request.runId)}-${encodeURIComponent(request.path)}`;
  for (const widget of app.shell.widgets('main')) {
    if (widget.id === id) {
      app.shell.activateById(id);
      return;
    }
  }
  const title = artifactTitle(request);
  const kind = artifactAction(request.path);
  let content: Widget;
  if (kind === 'notebook' && rendermime) {
    const snapshot = new NotebookSnapshot({ rendermime, title: request.path });
    content = snapshot;
    api.artifactJson(request.runId, request.path).then(
      notebook => snapshot.render(notebook),
      error => snapshot.fail(messageOf(error))
    );
  } else {
    content = reportFrame(api.artifactUrl(request.runId, request.path), title);
  }
  const widget = new MainAreaWidget({ content });
  widget.id = id;
  widget.addClass('jp-mlops-artifact-tab');
  widget.node.dataset.artifactKind = kind;
  widget.title.label = title;
  widget.title.caption = `${request.path} of run ${request.runId}`;
  widget.title.icon = kind === 'notebook' ? notebookIcon : html5Icon;
  widget.title.closable = true;
  app.shell.add(widget, 'main');
  app.shell.activateById(id);
}
