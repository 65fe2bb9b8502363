import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import { messageOf } from '../request';
import { IModelVersion } from '../tokens';

/** Characters of a reason the server accepts. */
export const MAX_REASON = 2000;

/**
 * Point an alias (such as `staging`) of the opened model at one of its
 * versions, with an optional reason the alias history records.
 */
export function AliasForm(props: AliasForm.IProps): JSX.Element {
  const { versions, onSubmit } = props;
  const [alias, setAlias] = React.useState('');
  const [version, setVersion] = React.useState<number | null>(null);
  const [reason, setReason] = React.useState('');
  const [message, setMessage] = React.useState<{ text: string; ok: boolean } | null>(null);
  const [busy, setBusy] = React.useState(false);
  const chosen = version ?? props.version ?? versions[0]?.version ?? null;

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    if (!alias.trim() || chosen === null) {
      return;
    }
    setBusy(true);
    try {
      const row = await onSubmit(alias.trim(), chosen, reason.trim() || undefined);
      setMessage({ text: `${alias.trim()} → version ${row.version}`, ok: true });
      setAlias('');
      setReason('');
    } catch (error) {
      setMessage({ text: messageOf(error), ok: false });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="jp-mlops-alias-form" onSubmit={submit}>
      <label className="jp-mlops-form-field">
        <span>Alias</span>
        <input
          className="jp-mod-styled jp-mlops-alias-input"
          name="alias"
          placeholder="staging"
          value={alias}
          onChange={event => setAlias(event.target.value)}
        />
      </label>
      <label className="jp-mlops-form-field">
        <span>Version</span>
        <select
          className="jp-mod-styled jp-mlops-alias-version"
          name="version"
          value={chosen ?? ''}
          onChange={event => setVersion(Number(event.target.value))}
        >
          {versions.map(v => (
            <option key={v.version} value={v.version}>
              {v.version}
            </option>
          ))}
        </select>
      </label>
      <label className="jp-mlops-form-field jp-mlops-reason-field">
        <span>Reason (optional, kept in the history)</span>
        <textarea
          className="jp-mod-styled jp-mlops-alias-reason"
          name="reason"
          rows={2}
          maxLength={MAX_REASON}
          placeholder="why this version"
          value={reason}
          onChange={event => setReason(event.target.value)}
        />
      </label>
      <Button type="submit" small disabled={busy || !alias.trim() || chosen === null}>
        Set alias
      </Button>
      {message && (
        <div className={message.ok ? 'jp-mlops-success' : 'jp-mlops-error'} role="status">
          {message.text}
        </div>
      )}
    </form>
  );
}

/** Props of `AliasForm`. */
export namespace AliasForm {
  export interface IProps {
    /** Versions of the opened model, newest first. */
    versions: IModelVersion[];
    /** The version preselected (the one opened), if any. */
    version: number | null;
    /**
     * Set the alias (with a reason, if one was typed); resolves with the
     * version's row, rejects with the server's message.
     */
    onSubmit: (alias: string, version: number, reason?: string) => Promise<IModelVersion>;
  }
}
