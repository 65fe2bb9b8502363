import { MimeModel, IRenderMimeRegistry } from '@jupyterlab/rendermime';
import * as React from 'react';

const MARKDOWN = 'text/markdown';

/**
 * A version's `MODEL_CARD.md`: rendered by JupyterLab's Markdown renderer as
 * untrusted (so its HTML is sanitized), or shown as plain text when no
 * renderer is available.
 */
export function ModelCard(props: ModelCard.IProps): JSX.Element {
  const { markdown, rendermime } = props;
  const host = React.useRef<HTMLDivElement>(null);
  React.useEffect(() => {
    if (!rendermime || !host.current) {
      return;
    }
    const renderer = rendermime.createRenderer(MARKDOWN);
    const model = new MimeModel({ data: { [MARKDOWN]: markdown }, trusted: false });
    // React owns the host node and may remove it before this effect's cleanup
    // runs; a Lumino attach would then make dispose() throw "Widget is not
    // attached", so the renderer's node is only placed in the host (Markdown
    // renders without Lumino's attach messages).
    host.current.appendChild(renderer.node);
    void renderer.renderModel(model);
    return () => {
      renderer.dispose();
      renderer.node.remove();
    };
  }, [markdown, rendermime]);
  return (
    <div className="jp-mlops-model-card" ref={host}>
      {!rendermime && <pre className="jp-mlops-card-text">{markdown}</pre>}
    </div>
  );
}

/** Props of `ModelCard`. */
export namespace ModelCard {
  export interface IProps {
    /** The card's Markdown. */
    markdown: string;
    /** JupyterLab's renderers; without them the card is plain text. */
    rendermime: IRenderMimeRegistry | null;
  }
}
