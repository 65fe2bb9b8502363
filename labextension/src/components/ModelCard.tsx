import { MimeModel, IRenderMimeRegistry } from '@jupyterlab/rendermime';
import * as React from 'react';

const HTML = 'text/html';

/**
 * A version's `MODEL_CARD.md`. Anyone with access to the store can write a
 * card, so the panel never renders its Markdown itself: it shows the HTML
 * the server made of it (raw HTML as text, images as text, links only to
 * http(s)/mailto, no style), and still through JupyterLab's renderer as
 * untrusted, so its sanitizer applies too. Without renderers, the Markdown
 * is shown as plain text.
 */
export function ModelCard(props: ModelCard.IProps): JSX.Element {
  const { html, markdown, rendermime } = props;
  const host = React.useRef<HTMLDivElement>(null);
  React.useEffect(() => {
    if (!rendermime || !host.current) {
      return;
    }
    const renderer = rendermime.createRenderer(HTML);
    const model = new MimeModel({ data: { [HTML]: html }, trusted: false });
    // React owns the host node and may remove it before this effect's cleanup
    // runs; a Lumino attach would then make dispose() throw "Widget is not
    // attached", so the renderer's node is only placed in the host (HTML
    // renders without Lumino's attach messages).
    host.current.appendChild(renderer.node);
    void renderer.renderModel(model);
    return () => {
      renderer.dispose();
      renderer.node.remove();
    };
  }, [html, rendermime]);
  return (
    <div className="jp-mlops-model-card" ref={host}>
      {!rendermime && <pre className="jp-mlops-card-text">{markdown}</pre>}
    </div>
  );
}

/** Props of `ModelCard`. */
export namespace ModelCard {
  export interface IProps {
    /** The card rendered inert by the server (`card_html`). */
    html: string;
    /** The card's Markdown, shown as text when there are no renderers. */
    markdown: string;
    /** JupyterLab's renderers; without them the card is plain text. */
    rendermime: IRenderMimeRegistry | null;
  }
}
