import * as React from 'react';

/**
 * The search box above the runs table: MLflow's filter syntax
 * (`metrics.acc > 0.6 and params.penalty = 'l2'`) or words of a run's name.
 * Enter applies it (an emptied box shows every run again); a filter the
 * server refuses keeps its text and shows the server's one line under it.
 */
export function RunsSearch(props: RunsSearch.IProps): JSX.Element {
  const { applied, error, onSearch } = props;
  const [text, setText] = React.useState(applied);
  const describedBy = error ? 'jp-mlops-runs-search-error' : undefined;
  return (
    <form
      className="jp-mlops-search"
      role="search"
      onSubmit={event => {
        event.preventDefault();
        onSearch(text);
      }}
    >
      <input
        type="search"
        className={`jp-mlops-search-input${error ? ' jp-mod-error' : ''}`}
        aria-label="Search runs"
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy}
        placeholder="Name, or metrics.acc > 0.8"
        title={
          "A run's name, or MLflow's search syntax, e.g. metrics.acc > 0.6 and params.penalty = 'l2'"
        }
        spellCheck={false}
        value={text}
        onChange={event => {
          setText(event.target.value);
          if (!event.target.value && (applied || error)) {
            onSearch(''); // cleared (the box's own ✕ too): every run again, no error line
          }
        }}
      />
      {error && (
        <div id="jp-mlops-runs-search-error" className="jp-mlops-search-error" role="alert">
          {error}
        </div>
      )}
    </form>
  );
}

/** Props of `RunsSearch`. */
export namespace RunsSearch {
  export interface IProps {
    /** The filter the list shows. */
    applied: string;
    /** The server's line for the filter it refused, if it did. */
    error: string | null;
    onSearch: (text: string) => void;
  }
}
