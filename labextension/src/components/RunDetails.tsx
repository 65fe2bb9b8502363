import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import { IArtifactOpenRequest } from '../artifacts';
import { isSingleValue, X_MODES, XMode } from '../chartScale';
import { RunDetailsModel } from '../detailsModel';
import { formatTime, formatValue, runLabel } from '../format';
import { ArtifactBrowser } from './ArtifactBrowser';
import { ErrorLine } from './ErrorLine';
import { KeyValueTable } from './KeyValueTable';
import { MetricChart } from './MetricChart';

/** One run: its params, a chart per metric, its data inputs and tags. */
export function RunDetails(props: RunDetails.IProps): JSX.Element {
  const { model, onBack } = props;
  const run = model.run;
  const [mode, setMode] = React.useState<XMode>('step');
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
          <Metrics model={model} mode={mode} onMode={setMode} />
          <h3 className="jp-mlops-heading">Artifacts</h3>
          <ArtifactBrowser
            model={model}
            runName={runLabel(run)}
            urlOf={path => model.artifactUrl(path)}
            onOpen={props.onOpenArtifact}
          />
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

/**
 * The run's metrics: one logged once is a number (a key/value row); one with
 * a history is a chart, drawn against the x the toggle picks.
 */
function Metrics(props: {
  model: RunDetailsModel;
  mode: XMode;
  onMode: (mode: XMode) => void;
}): JSX.Element {
  const { model, mode, onMode } = props;
  const metrics = model.run?.metrics ?? {};
  const keys = Object.keys(metrics).sort((a, b) => a.localeCompare(b));
  const single = keys.filter(key => isSingleValue(model.history(key)?.points));
  const series = keys.filter(key => !single.includes(key));
  return (
    <>
      <div className="jp-mlops-heading-row">
        <h3 className="jp-mlops-heading">Metrics</h3>
        {series.length > 0 && (
          <div className="jp-mlops-x-toggle" role="group" aria-label="Chart x axis">
            {X_MODES.map(([value, label]) => (
              <button
                key={value}
                type="button"
                className={`jp-mlops-x-mode${mode === value ? ' jp-mod-active' : ''}`}
                data-mode={value}
                aria-pressed={mode === value}
                onClick={() => onMode(value)}
              >
                {label}
              </button>
            ))}
          </div>
        )}
      </div>
      {keys.length === 0 && <div className="jp-mlops-note">No metrics.</div>}
      {single.length > 0 && (
        <KeyValueTable
          className="jp-mlops-single-metrics"
          values={Object.fromEntries(single.map(key => [key, formatValue(metrics[key])]))}
          empty=""
        />
      )}
      <div className="jp-mlops-metrics">
        {series.map(key => {
          const history = model.history(key);
          return (
            <div key={key} className="jp-mlops-metric-block" data-key={key}>
              <div className="jp-mlops-metric-head">
                <span className="jp-mlops-metric-key" title={key}>
                  {key}
                </span>
                <span className="jp-mlops-metric-value">{formatValue(metrics[key])}</span>
              </div>
              {history?.points && <MetricChart metric={key} points={history.points} mode={mode} />}
            </div>
          );
        })}
        {keys
          .filter(key => model.history(key)?.error)
          .map(key => (
            <div key={key} className="jp-mlops-error" data-key={key}>
              {key}: {model.history(key)?.error}
            </div>
          ))}
      </div>
    </>
  );
}

/** Props of `RunDetails`. */
export namespace RunDetails {
  export interface IProps {
    model: RunDetailsModel;
    /** Back to the runs table. */
    onBack: () => void;
    /** Opens a report or a notebook snapshot in the main area. */
    onOpenArtifact?: (request: IArtifactOpenRequest) => void;
    /** How many loaded runs are this run's children. */
    childCount?: number;
    /** Compare this run's children (shown from two children). */
    onCompareChildren?: () => void;
  }
}
