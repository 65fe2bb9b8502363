import * as React from 'react';

import { formatTime, formatValue } from '../format';
import { IAliasHistory, IAliasMove } from '../tokens';
import { ErrorLine } from './ErrorLine';

/** Moves listed at most, the newest (a long history is read in full elsewhere). */
export const MAX_SHOWN = 200;

/** A version as the history shows it: `v3`, or `none`. */
function shown(version: number | null): string {
  return version === null ? 'none' : `v${version}`;
}

/** What a row says moved: `champion: v1 → v2`, or that a gate left it. */
export function moveText(move: IAliasMove): string {
  if (!move.moved) {
    return `${move.alias}: stays ${shown(move.previous)}`;
  }
  return `${move.alias}: ${shown(move.previous)} → ${shown(move.version)}`;
}

/** A value of the gate's record that can be shown: a number or a text. */
function scalar(value: unknown): string | null {
  if (typeof value === 'number') {
    return formatValue(value);
  }
  if (typeof value === 'string' && value) {
    return value;
  }
  return null;
}

/** The gate's decision read from its record (a dict others may write). */
export interface IGateText {
  result: string;
  passed: boolean | null;
  /** e.g. `accuracy: challenger v2 0.9120, champion v1 0.8970`; empty when unknown. */
  scores: string;
  /** Why it refused (or would have, when forced): the gate's reasons, one line. */
  reasons: string;
}

/**
 * The gate's result and both scores, from the record `move_alias` wrote:
 * `result` ("passed", "refused", "forced") or `passed`, the scorer and the
 * two scores. A value of another type is left out, never guessed.
 */
export function gateText(gate: Record<string, unknown>): IGateText {
  let passed: boolean | null = typeof gate.passed === 'boolean' ? gate.passed : null;
  let result = scalar(gate.result);
  if (result === null) {
    result = passed === null ? 'decision unreadable' : passed ? 'passed' : 'refused';
  } else if (passed === null && (result === 'passed' || result === 'refused')) {
    passed = result === 'passed';
  }
  const scorer = scalar(gate.scoring) ?? scalar(gate.scorer);
  const side = (who: 'challenger' | 'champion'): string | null => {
    const value = gate[`${who}_score`];
    // four decimals, as the gate's own line prints them
    const score =
      typeof value === 'number' && Number.isFinite(value) ? value.toFixed(4) : scalar(value);
    if (score === null) {
      return null;
    }
    const version = typeof gate[who] === 'number' ? ` v${gate[who]}` : '';
    return `${who}${version} ${score}`;
  };
  const sides = [side('challenger'), side('champion')].filter(s => s !== null);
  const scores = sides.length ? `${scorer ? `${scorer}: ` : ''}${sides.join(', ')}` : '';
  const listed = Array.isArray(gate.reasons) ? gate.reasons : [];
  const reasons = listed.filter(r => typeof r === 'string' && r).join('; ');
  return { result, passed, scores, reasons };
}

/** One move: when, what, who and how, why, the gate's verdict, and any note. */
function MoveRow(props: { move: IAliasMove }): JSX.Element {
  const { move } = props;
  const gate = move.gate ? gateText(move.gate) : null;
  return (
    <li
      className="jp-mlops-history-row"
      data-run-id={move.run_id ?? ''}
      data-alias={move.alias}
      data-via={move.via}
      data-moved={String(move.moved)}
    >
      <div className="jp-mlops-history-head">
        {move.time ? (
          <time className="jp-mlops-history-time" dateTime={move.time} title={`${move.time} (UTC)`}>
            {formatTime(move.time)}
          </time>
        ) : (
          <span className="jp-mlops-history-time jp-mlops-dim">time unknown</span>
        )}
        <span className="jp-mlops-history-move">{moveText(move)}</span>
        {move.forced && (
          <span className="jp-mlops-history-badge jp-mlops-history-forced">forced</span>
        )}
        {!move.moved && (
          <span className="jp-mlops-history-badge jp-mlops-history-stayed">not moved</span>
        )}
      </div>
      {(move.user || move.via) && (
        <div className="jp-mlops-history-who jp-mlops-dim">
          {move.user && (
            <>
              {'by '}
              <span className="jp-mlops-history-user">{move.user}</span>
            </>
          )}
          {move.user && move.via && ' '}
          {move.via && (
            <>
              {'via '}
              <span className="jp-mlops-history-via">{move.via}</span>
            </>
          )}
        </div>
      )}
      {move.reason && <div className="jp-mlops-history-reason">{move.reason}</div>}
      {gate && (
        <div className="jp-mlops-history-gate" data-passed={String(gate.passed)}>
          <span className="jp-mlops-history-gate-result">{`gate ${gate.result}`}</span>
          {gate.scores && <span className="jp-mlops-history-scores">{` · ${gate.scores}`}</span>}
          {gate.reasons && <div className="jp-mlops-history-gate-reasons">{gate.reasons}</div>}
        </div>
      )}
      {move.note && (
        <div className="jp-mlops-history-note" role="note">
          <span aria-hidden="true">⚠ </span>
          {move.note}
        </div>
      )}
    </li>
  );
}

/**
 * The alias history of the opened model, newest first: every recorded move
 * with its time, versions, user, way, reason, gate and notes. Everything in
 * it comes from a shared store and is rendered as text.
 */
export function AliasHistory(props: AliasHistory.IProps): JSX.Element {
  const { history, error } = props;
  const all = history?.rows ?? [];
  const rows = all.slice(-MAX_SHOWN).reverse();
  const older = all.length - rows.length;
  return (
    <section className="jp-mlops-history">
      <h3 className="jp-mlops-heading">Alias history · newest first</h3>
      <ErrorLine error={error} />
      {!error && history === null && <div className="jp-mlops-note">reading history…</div>}
      {history !== null && rows.length === 0 && (
        <div className="jp-mlops-note">no alias moves recorded yet</div>
      )}
      {history?.truncated && (
        <div className="jp-mlops-note">
          the history is longer than the server reads: its oldest moves are left out
        </div>
      )}
      {rows.length > 0 && (
        <ol className="jp-mlops-history-list">
          {rows.map((move, index) => (
            <MoveRow key={move.run_id ?? `note-${move.alias}-${index}`} move={move} />
          ))}
        </ol>
      )}
      {older > 0 && (
        <div className="jp-mlops-note jp-mlops-history-older">
          {`and ${older.toLocaleString()} older moves: ` +
            `mlops.alias_history(${JSON.stringify(history?.name ?? '')}) lists them all`}
        </div>
      )}
    </section>
  );
}

/** Props of `AliasHistory`. */
export namespace AliasHistory {
  export interface IProps {
    /** What `GET models/<name>/history` answered (oldest first); null while read. */
    history: IAliasHistory | null;
    /** Why it could not be read. */
    error: string | null;
  }
}
