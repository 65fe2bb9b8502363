import {
  caretDownIcon,
  caretRightIcon,
  downloadIcon,
  html5Icon,
  notebookIcon
} from '@jupyterlab/ui-components';
import * as React from 'react';

import { artifactAction, formatSize, IArtifactOpenRequest } from '../artifacts';
import { RunDetailsModel } from '../detailsModel';
import { IArtifactEntry } from '../tokens';

/**
 * A run's artifacts as a tree: folders expand (listed through the REST API
 * when first opened), files show their size. HTML reports and notebook
 * snapshots open in a main-area tab; any other file is a download link.
 * Names are the store's text, rendered as text.
 */
export function ArtifactBrowser(props: ArtifactBrowser.IProps): JSX.Element {
  const { model } = props;
  const top = model.folder('');
  if (!top) {
    return <div className="jp-mlops-note">Listing artifacts…</div>;
  }
  return (
    <div className="jp-mlops-artifacts" role="tree" aria-label="Artifacts">
      <Folder {...props} path="" depth={0} />
    </div>
  );
}

function Folder(props: ArtifactBrowser.IProps & { path: string; depth: number }): JSX.Element {
  const { model, path, depth } = props;
  const state = model.folder(path);
  if (!state) {
    return <div className="jp-mlops-note jp-mlops-artifact-pad">Listing…</div>;
  }
  if (state.error) {
    return <div className="jp-mlops-error">{state.error}</div>;
  }
  const entries = state.entries ?? [];
  return (
    <ul className="jp-mlops-artifact-list" role="group">
      {entries.length === 0 && depth === 0 && <li className="jp-mlops-note">No artifacts.</li>}
      {entries.map(entry => (
        <Entry key={entry.path} {...props} entry={entry} depth={depth} />
      ))}
      {state.truncated && <li className="jp-mlops-note">More entries than can be listed.</li>}
    </ul>
  );
}

function Entry(
  props: ArtifactBrowser.IProps & { entry: IArtifactEntry; depth: number }
): JSX.Element {
  const { model, entry, depth, runName, onOpen, urlOf } = props;
  const indent = { paddingLeft: `${depth * 14}px` };
  if (entry.is_dir) {
    const open = model.isExpanded(entry.path);
    const Caret = open ? caretDownIcon : caretRightIcon;
    return (
      <li role="treeitem" aria-expanded={open} data-path={entry.path}>
        <button
          type="button"
          className="jp-mlops-artifact jp-mlops-artifact-folder"
          style={indent}
          title={entry.path}
          onClick={() => void model.toggleFolder(entry.path)}
        >
          <Caret.react tag="span" className="jp-mlops-artifact-caret" />
          <span className="jp-mlops-artifact-name">{entry.name}/</span>
        </button>
        {open && <Folder {...props} path={entry.path} depth={depth + 1} />}
      </li>
    );
  }
  const action = artifactAction(entry.path);
  const Icon = action === 'report' ? html5Icon : notebookIcon;
  const size = <span className="jp-mlops-artifact-size">{formatSize(entry.size)}</span>;
  const name = <span className="jp-mlops-artifact-name">{entry.name}</span>;
  return (
    <li role="treeitem" data-path={entry.path} data-action={action}>
      {action === 'download' || !onOpen ? (
        <a
          className="jp-mlops-artifact jp-mlops-artifact-file"
          style={indent}
          href={urlOf(entry.path)}
          download={entry.name}
          title={`Download ${entry.path}`}
        >
          <downloadIcon.react tag="span" className="jp-mlops-artifact-icon" />
          {name}
          {size}
        </a>
      ) : (
        <button
          type="button"
          className="jp-mlops-artifact jp-mlops-artifact-file"
          style={indent}
          title={`Open ${entry.path} in a tab`}
          onClick={() => onOpen({ runId: model.runId, runName, path: entry.path })}
        >
          <Icon.react tag="span" className="jp-mlops-artifact-icon" />
          {name}
          {size}
        </button>
      )}
    </li>
  );
}

/** Props of `ArtifactBrowser`. */
export namespace ArtifactBrowser {
  export interface IProps {
    model: RunDetailsModel;
    /** The run's name, for the title of the tab an artifact opens in. */
    runName: string;
    /** The URL that serves an artifact (downloads link to it). */
    urlOf: (path: string) => string;
    /** Opens a report or a notebook in the main area; without it, they download too. */
    onOpen?: (request: IArtifactOpenRequest) => void;
  }
}
