import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import { RunDetailsModel } from '../detailsModel';
import { formatTime, formatValue, runLabel } from '../format';
import { ErrorLine } from './ErrorLine';
import { KeyValueTable } from './KeyValueTable';
import { MetricChart } from './MetricChart';

/** One run: its params, a chart per metric, its data inputs and tags. */
export function RunDetails(props: RunDetails.IProps): JSX.Element {
  const { model, onBack } = props;
  const run = model.run;
  return (
    <div className="jp-mlops-run-details" data-run-id={model.runId}>
      <div className="jp-mlops-toolbar">
        <Button small minimal className="jp-mlops-back" onClick={onBack}>
          ← Runs
        </Button>
        <span className="jp-mlops-toolbar-title" title={model.runId}>
          {run ? runLabel(run) : model.runId}
        </span>
        {run && (
          <span className="jp-mlops-status" data-status={run.status}>
            {run.status}
          </span>
        )}
        {(props.childCount ?? 0) >= 2 && props.onCompareChildren && (
          <Button
            small
            className="jp-mlops-compare-sweep"
            title="Compare this run's child runs (the points of its sweep)"
            onClick={props.onCompareChildren}
          >
            Compare sweep ({props.childCount})
          </Button>
        )}
      </div>
      <ErrorLine error={model.error} />
      {!run && model.loading && <div className="jp-mlops-note">Loading…</div>}
      {run && (
        <>
          <dl className="jp-mlops-facts">
            <dt>Run id</dt>
            <dd>{run.run_id}</dd>
            <dt>Started</dt>
            <dd>{formatTime(run.start_time)}</dd>
            <dt>Ended</dt>
            <dd>{run.end_time ? formatTime(run.end_time) : '—'}</dd>
          </dl>
          <h3 className="jp-mlops-heading">Params</h3>
          <KeyValueTable className="jp-mlops-params" values={run.params} empty="No params." />
          <h3 className="jp-mlops-heading">Metrics</h3>
          <div className="jp-mlops-metrics">
            {Object.keys(run.metrics).length === 0 && (
              <div className="jp-mlops-note">No metrics.</div>
            )}
            {Object.entries(run.metrics).map(([key, value]) => {
              const history = model.history(key);
              return (
                <div key={key} className="jp-mlops-metric-block" data-key={key}>
                  <div className="jp-mlops-metric-head">
                    <span className="jp-mlops-metric-key" title={key}>
                      {key}
                    </span>
                    <span className="jp-mlops-metric-value">{formatValue(value)}</span>
                  </div>
                  {history?.points && <MetricChart metric={key} points={history.points} />}
                  {history?.error && <div className="jp-mlops-error">{history.error}</div>}
                </div>
              );
            })}
          </div>
          {run.inputs.length > 0 && (
            <>
              <h3 className="jp-mlops-heading">Data</h3>
              <KeyValueTable
                className="jp-mlops-inputs"
                values={Object.fromEntries(run.inputs.map(i => [i.name, i.digest]))}
                empty=""
              />
            </>
          )}
          <h3 className="jp-mlops-heading">Tags</h3>
          <KeyValueTable className="jp-mlops-tags" values={run.tags} empty="No tags." />
        </>
      )}
    </div>
  );
}

/** Props of `RunDetails`. */
export namespace RunDetails {
  export interface IProps {
    model: RunDetailsModel;
    /** Back to the runs table. */
    onBack: () => void;
    /** How many loaded runs are this run's children. */
    childCount?: number;
    /** Compare this run's children (shown from two children). */
    onCompareChildren?: () => void;
  }
}
