import { Button, caretDownEmptyIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { columnKeys } from '../runsLayout';
import { IArtifactOpenRequest } from '../artifacts';
import { RunsModel } from '../runsModel';
import { IRunsColumns } from '../runsSettings';
import { ColumnChooser } from './ColumnChooser';
import { CompareTable } from './CompareTable';
import { ErrorLine } from './ErrorLine';
import { ParallelCoordinates } from './ParallelCoordinates';
import { RunDetails } from './RunDetails';
import { RunsSearch } from './RunsSearch';
import { RunsTable } from './RunsTable';

/** The Runs section: experiment picker, runs table, details and comparison. */
export function RunsView(props: {
  model: RunsModel;
  /** Opens a run's report or notebook snapshot in the main area. */
  onOpenArtifact?: (request: IArtifactOpenRequest) => void;
}): JSX.Element {
  const { model } = props;
  if (model.view === 'details' && model.details) {
    const id = model.details.runId;
    return (
      <RunDetails
        model={model.details}
        onBack={() => model.show('list')}
        onOpenArtifact={props.onOpenArtifact}
        childCount={model.childrenOf(id).length}
        onCompareChildren={() => model.compareChildren(id)}
      />
    );
  }
  if (model.view === 'compare') {
    return (
      <div className="jp-mlops-compare">
        <div className="jp-mlops-toolbar">
          <Button small minimal className="jp-mlops-back" onClick={() => model.show('list')}>
            ← Runs
          </Button>
          <span className="jp-mlops-toolbar-title">Comparing {model.selected.size} runs</span>
          {model.selected.size === 2 && (
            <Button
              small
              className="jp-mlops-notebook-diff-button"
              title="Open the diff of the two runs' notebook snapshots in a tab"
              onClick={() => model.requestNotebookDiff()}
            >
              Notebook diff
            </Button>
          )}
        </div>
        <div className="jp-mlops-scroll">
          <CompareTable runs={model.selectedRuns} />
          <ParallelCoordinates runs={model.selectedRuns} />
        </div>
      </div>
    );
  }
  const experiments = model.experiments;
  const columns = model.columns;
  return (
    <div className="jp-mlops-runs-view">
      <div className="jp-mlops-toolbar">
        {/* JupyterLab's HTMLSelect puts its class on a wrapper: the same markup, class on the select */}
        <div className="jp-HTMLSelect jp-DefaultStyle jp-mlops-picker">
          <select
            className="jp-mlops-experiment"
            aria-label="Experiment"
            value={model.experimentId ?? ''}
            disabled={experiments.length === 0}
            onChange={event => void model.selectExperiment(event.target.value)}
          >
            {experiments.map(e => (
              <option key={e.experiment_id} value={e.experiment_id}>
                {e.name}
              </option>
            ))}
          </select>
          <caretDownEmptyIcon.react tag="span" stylesheet="select" right="4px" top="4px" />
        </div>
        <Button
          small
          className="jp-mlops-compare-button"
          disabled={model.selected.size < 2}
          title="Compare the ticked runs side by side"
          onClick={() => model.show('compare')}
        >
          Compare{model.selected.size ? ` (${model.selected.size})` : ''}
        </Button>
        <ColumnChooser
          available={withShown(columnKeys(model.runs), columns)}
          shown={columns}
          disabled={model.experimentName === null}
          onToggle={(kind, key) => void model.toggleColumn(kind, key)}
        />
      </div>
      <RunsSearch
        applied={model.filter}
        error={model.filterError}
        onSearch={text => void model.search(text)}
      />
      {model.hasLive && (
        <div className="jp-mlops-live" role="status">
          Runs in progress: refreshing every few seconds
        </div>
      )}
      <ErrorLine error={model.error} />
      <div className="jp-mlops-scroll">
        <RunsTable
          runs={model.runs}
          metricKeys={columns.metrics}
          paramKeys={columns.params}
          order={model.order}
          onSort={column => void model.sortBy(column)}
          expanded={model.expanded}
          onExpand={id => model.toggleExpanded(id)}
          nameWidth={model.settings.nameWidth}
          onResize={width => void model.settings.setNameWidth(width)}
          selected={model.selected}
          onToggle={id => model.toggleSelected(id)}
          onOpen={id => void model.openRun(id)}
          empty={model.loading ? 'Loading…' : emptyText(experiments.length, model.filter)}
        />
      </div>
      {model.hasMore && (
        <Button
          small
          className="jp-mlops-load-more"
          disabled={model.loading}
          onClick={() => void model.loadMore()}
        >
          Load more
        </Button>
      )}
    </div>
  );
}

/** The keys to offer: the loaded runs' and the ones shown (so they can be hidden). */
function withShown(available: IRunsColumns, shown: IRunsColumns): IRunsColumns {
  const merge = (a: string[], b: string[]) => [...new Set([...a, ...b])].sort();
  return {
    metrics: merge(available.metrics, shown.metrics),
    params: merge(available.params, shown.params)
  };
}

function emptyText(experiments: number, filter: string): string {
  if (filter) {
    return 'No runs match the search.';
  }
  return experiments
    ? 'No runs in this experiment yet.'
    : 'No experiments yet: start one with %mlops track in a notebook.';
}
