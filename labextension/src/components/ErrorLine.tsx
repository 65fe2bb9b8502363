import * as React from 'react';

/** The server's one-line message for a failed request, or nothing. */
export function ErrorLine(props: { error: string | null }): JSX.Element | null {
  if (!props.error) {
    return null;
  }
  return (
    <div className="jp-mlops-error" role="alert">
      {props.error}
    </div>
  );
}
