import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { caretDownIcon, caretRightIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { formatAgo, formatTime, formatValue, keyMetrics } from '../format';
import { MAX_HEALTH_VERSIONS, RegistryModel } from '../registryModel';
import { IModelCard, IModelMonitoring, IModelVersion, IRegisteredModel } from '../tokens';
import { AliasForm } from './AliasForm';
import { AliasHistory } from './AliasHistory';
import { ErrorLine } from './ErrorLine';
import { ModelCard } from './ModelCard';
import { ModelHealth } from './ModelHealth';
import { VersionCompare } from './VersionCompare';

/** Key metrics shown on each version (the sidebar is narrow; the comparison shows all). */
const VERSION_METRICS = 3;

/** Aliases as small labels (with the version each points at, when given). */
function Aliases(props: { aliases: string[]; versions?: Record<string, number> }): JSX.Element {
  const { aliases, versions } = props;
  return (
    <span className="jp-mlops-aliases">
      {aliases.map(alias => (
        <span key={alias} className="jp-mlops-alias" data-alias={alias}>
          @{alias}
          {versions ? ` → v${versions[alias]}` : ''}
        </span>
      ))}
    </span>
  );
}

/**
 * One version of the opened model: who promoted it, the run that made it with
 * its key metrics, and its health; a click opens its model card, the box
 * ticks it for comparison.
 */
export function VersionRow(props: {
  version: IModelVersion;
  open: boolean;
  onOpen: () => void;
  /** Undefined for versions whose health is not read (past the newest few). */
  health?: ModelHealth.IProps;
  /** The metrics shown (the same keys on every version). */
  metricKeys?: string[];
  compared?: boolean;
  onCompare?: () => void;
}): JSX.Element {
  const { version, open, health } = props;
  const metrics = version.metrics ?? {};
  const keys = (props.metricKeys ?? []).filter(key => key in metrics);
  return (
    <li
      className={`jp-mlops-version${open ? ' jp-mod-selected' : ''}`}
      data-model-version={version.version}
    >
      {props.onCompare && (
        <input
          type="checkbox"
          className="jp-mlops-vcompare-box"
          checked={props.compared ?? false}
          onChange={props.onCompare}
          aria-label={`Compare version ${version.version}`}
          title="Tick two versions to compare them"
        />
      )}
      <button
        type="button"
        className="jp-mlops-link jp-mlops-version-button"
        title={`Version ${version.version}: show its model card`}
        aria-pressed={open}
        onClick={props.onOpen}
      >
        v{version.version}
      </button>
      <Aliases aliases={version.aliases} />
      {version.user && (
        <span className="jp-mlops-dim jp-mlops-version-user" title={`Promoted by ${version.user}`}>
          {version.user}
        </span>
      )}
      <span className="jp-mlops-dim" title={formatTime(version.created)}>
        {formatAgo(version.created)}
      </span>
      {health && <ModelHealth {...health} />}
      {(version.run_name || keys.length > 0) && (
        <div className="jp-mlops-version-run">
          {version.run_name && (
            <span className="jp-mlops-version-run-name" title={`Run ${version.run_name}`}>
              {version.run_name}
            </span>
          )}
          {keys.map(key => (
            <span key={key} className="jp-mlops-version-metric" data-key={key} title={key}>
              <span className="jp-mlops-dim">{key}</span> {formatValue(metrics[key])}
            </span>
          ))}
        </div>
      )}
    </li>
  );
}

/** The comparison of the ticked versions: what to do, a wait, an error or the result. */
function Comparison(props: { model: RegistryModel }): JSX.Element | null {
  const { model } = props;
  if (model.versions.length < 2) {
    return null;
  }
  const ticked = model.compared.length;
  return (
    <section className="jp-mlops-vcompare-section">
      <h3 className="jp-mlops-heading">Compare versions</h3>
      {ticked < 2 && (
        <div className="jp-mlops-note">
          {ticked === 0 ? 'Tick two versions to compare them.' : 'Tick one more version.'}
        </div>
      )}
      <ErrorLine error={model.comparisonError} />
      {ticked === 2 && !model.comparison && !model.comparisonError && (
        <div className="jp-mlops-note">Comparing…</div>
      )}
      {model.comparison && <VersionCompare comparison={model.comparison} />}
    </section>
  );
}

/**
 * The run behind the opened card, as it is now (the card was written at
 * promotion); when an older card says it is running, a note says it is not.
 */
export function CardRun(props: { run: IModelCard['run'] }): JSX.Element | null {
  const { run } = props;
  if (!run) {
    return null;
  }
  const status = run.status.toLowerCase();
  return (
    <>
      <div className="jp-mlops-card-run" data-status={run.status}>
        Run <span className="jp-mlops-card-run-name">{run.name || run.id.slice(0, 8)}</span>:{' '}
        {status} now
      </div>
      {run.card_says_running && (
        <div className="jp-mlops-note jp-mlops-card-stale">
          The card below was written while this run was still running; it is {status} now.
        </div>
      )}
    </>
  );
}

/** What `ModelHealth` shows for `version` of the opened model. */
function healthOf(model: RegistryModel, version: number): ModelHealth.IProps {
  const health: IModelMonitoring | null = model.health(version);
  return { health, error: model.healthError(version) };
}

/** The opened model: its versions, the alias form and the card of the opened version. */
function ModelBody(props: ModelsView.IProps): JSX.Element {
  const { model, rendermime } = props;
  const metricKeys = keyMetrics(
    model.versions.map(v => ({ metrics: v.metrics ?? {} })),
    VERSION_METRICS
  );
  const comparable = model.versions.length > 1;
  return (
    <div className="jp-mlops-model-body">
      <ul className="jp-mlops-versions">
        {model.versions.map((v, index) => (
          <VersionRow
            key={v.version}
            version={v}
            open={model.version === v.version}
            onOpen={() => void model.openVersion(v.version)}
            health={index < MAX_HEALTH_VERSIONS ? healthOf(model, v.version) : undefined}
            metricKeys={metricKeys}
            compared={model.compared.includes(v.version)}
            onCompare={comparable ? () => void model.toggleCompare(v.version) : undefined}
          />
        ))}
      </ul>
      <Comparison model={model} />
      {model.versions.length > 0 && (
        <AliasForm
          key={model.modelName ?? ''}
          versions={model.versions}
          version={model.version}
          onSubmit={(alias, version, reason) => model.setAlias(alias, version, reason)}
        />
      )}
      <AliasHistory history={model.history} error={model.historyError} />
      {model.version !== null && (
        <section className="jp-mlops-card-section">
          <h3 className="jp-mlops-heading">Model card · version {model.version}</h3>
          <ErrorLine error={model.cardError} />
          {model.card && <CardRun run={model.card.run} />}
          {model.card && (
            <ModelCard
              html={model.card.html}
              markdown={model.card.markdown}
              rendermime={rendermime}
            />
          )}
        </section>
      )}
    </div>
  );
}

/** One registered model: name, latest version, aliases; a click shows its versions. */
function ModelRow(props: ModelsView.IProps & { row: IRegisteredModel }): JSX.Element {
  const { model, row } = props;
  const open = model.modelName === row.name;
  const Caret = open ? caretDownIcon : caretRightIcon;
  return (
    <li className="jp-mlops-model" data-model-name={row.name}>
      <button
        type="button"
        className="jp-mlops-model-toggle"
        aria-expanded={open}
        onClick={() => void model.toggleModel(row.name)}
      >
        <Caret.react tag="span" className="jp-mlops-caret" />
        <span className="jp-mlops-model-name">{row.name}</span>
        <span className="jp-mlops-dim">
          {row.latest_version === null ? 'no versions' : `v${row.latest_version}`}
        </span>
      </button>
      <Aliases aliases={Object.keys(row.aliases)} versions={row.aliases} />
      {open && <ModelBody {...props} />}
    </li>
  );
}

/** The Models section: registered models, versions, aliases and model cards. */
export function ModelsView(props: ModelsView.IProps): JSX.Element {
  const { model } = props;
  return (
    <div className="jp-mlops-models">
      <ErrorLine error={model.error} />
      <ul className="jp-mlops-model-list">
        {model.models.map(row => (
          <ModelRow key={row.name} {...props} row={row} />
        ))}
      </ul>
      {model.models.length === 0 && (
        <div className="jp-mlops-note">
          {model.loading
            ? 'Loading…'
            : 'No registered models yet: register one with %mlops promote in a notebook.'}
        </div>
      )}
    </div>
  );
}

/** Props of `ModelsView`. */
export namespace ModelsView {
  export interface IProps {
    model: RegistryModel;
    rendermime: IRenderMimeRegistry | null;
  }
}
