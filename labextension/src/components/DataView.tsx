import * as React from 'react';

import { DataModel } from '../dataModel';
import { ErrorLine } from './ErrorLine';

/** The Data section: DVC-tracked paths of the project and where each stands. */
export function DataView(props: { model: DataModel }): JSX.Element {
  const { model } = props;
  const status = model.status;
  const paths = model.paths;
  return (
    <div className="jp-mlops-data-view">
      <ErrorLine error={model.error} />
      {status && (
        <div className="jp-mlops-note">
          {status.initialized
            ? `DVC remote: ${status.remote ?? 'none set'}`
            : 'DVC is not set up in this project yet; versioning a file sets it up.'}
        </div>
      )}
      <table className="jp-mlops-table jp-mlops-data">
        <thead>
          <tr>
            <th>Path</th>
            <th>State</th>
          </tr>
        </thead>
        <tbody>
          {paths.map(([path, state]) => (
            <tr key={path} className="jp-mlops-data-row" data-path={path}>
              <td className="jp-mlops-data-path" title={path}>
                {path}
              </td>
              <td className="jp-mlops-data-state" data-state={state}>
                {state}
              </td>
            </tr>
          ))}
          {paths.length === 0 && (
            <tr className="jp-mlops-empty">
              <td colSpan={2}>
                {model.loading
                  ? 'Loading…'
                  : 'No tracked data yet: right-click a file in the file browser and choose "Version with DVC".'}
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
