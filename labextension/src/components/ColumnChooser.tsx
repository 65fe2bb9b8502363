import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import { IRunsColumns } from '../runsSettings';

/**
 * A popover of checkboxes: which metrics and params the runs table shows,
 * among the keys the experiment's loaded runs have. Escape or a click
 * elsewhere closes it.
 */
export function ColumnChooser(props: ColumnChooser.IProps): JSX.Element {
  const { available, shown, onToggle } = props;
  const [open, setOpen] = React.useState(false);
  const box = React.useRef<HTMLDivElement>(null);
  React.useEffect(() => {
    if (!open) {
      return;
    }
    const close = (event: Event) => {
      if (
        event instanceof KeyboardEvent
          ? event.key === 'Escape'
          : !box.current?.contains(event.target as Node)
      ) {
        setOpen(false);
      }
    };
    document.addEventListener('pointerdown', close, true);
    document.addEventListener('keydown', close, true);
    return () => {
      document.removeEventListener('pointerdown', close, true);
      document.removeEventListener('keydown', close, true);
    };
  }, [open]);
  const group = (kind: 'metrics' | 'params', title: string) => (
    <fieldset className="jp-mlops-columns-group" data-kind={kind}>
      <legend>{title}</legend>
      {available[kind].length === 0 && <div className="jp-mlops-dim">None logged</div>}
      {available[kind].map(key => (
        <label key={key} className="jp-mlops-column-option" title={key}>
          <input
            type="checkbox"
            data-key={key}
            checked={shown[kind].includes(key)}
            onChange={() => onToggle(kind, key)}
          />
          <span>{key}</span>
        </label>
      ))}
    </fieldset>
  );
  return (
    <div className="jp-mlops-columns" ref={box}>
      <Button
        small
        className="jp-mlops-columns-button"
        aria-haspopup="true"
        aria-expanded={open}
        disabled={props.disabled}
        title="Choose the metric and param columns"
        onClick={() => setOpen(!open)}
      >
        Columns
      </Button>
      {open && (
        <div className="jp-mlops-columns-menu" role="group" aria-label="Columns shown">
          {group('metrics', 'Metrics')}
          {group('params', 'Params')}
        </div>
      )}
    </div>
  );
}

/** Props of `ColumnChooser`. */
export namespace ColumnChooser {
  export interface IProps {
    /** Keys the loaded runs have. */
    available: IRunsColumns;
    /** Keys shown as columns. */
    shown: IRunsColumns;
    onToggle: (kind: 'metrics' | 'params', key: string) => void;
    disabled?: boolean;
  }
}
