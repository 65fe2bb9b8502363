import * as React from 'react';

/** A two-column table of keys and values (as text), sorted by key. */
export function KeyValueTable(props: KeyValueTable.IProps): JSX.Element {
  const entries = Object.entries(props.values).sort(([a], [b]) => a.localeCompare(b));
  return (
    <table className={`jp-mlops-table jp-mlops-kv ${props.className}`}>
      <tbody>
        {entries.map(([key, value]) => (
          <tr key={key} data-key={key}>
            <th scope="row" title={key}>
              {key}
            </th>
            <td title={value}>{value}</td>
          </tr>
        ))}
        {entries.length === 0 && props.empty && (
          <tr className="jp-mlops-empty">
            <td colSpan={2}>{props.empty}</td>
          </tr>
        )}
      </tbody>
    </table>
  );
}

/** Props of `KeyValueTable`. */
export namespace KeyValueTable {
  export interface IProps {
    /** Extra class, such as `jp-mlops-params`. */
    className: string;
    values: Record<string, string>;
    /** What to say when there are no values. */
    empty: string;
  }
}
