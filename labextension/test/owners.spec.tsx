import * as React from 'react';
import { act } from 'react';
import { createRoot, Root } from 'react-dom/client';

import { AliasForm } from '../src/components/AliasForm';
import { VersionRow } from '../src/components/ModelsView';
import { RunsTable } from '../src/components/RunsTable';
import { ApiError } from '../src/request';
import { runRow } from './fakeApi';

(globalThis as any).IS_REACT_ACT_ENVIRONMENT = true;

const XSS = '<img src=x onerror=alert(1)>';
const DENIED =
  "permission denied: 'bob' may not move aliases of registered model 'bc' on " +
  "http://127.0.0.1:5000 (needs EDIT on it; 'bob' has READ)";

let host: HTMLDivElement;
let root: Root;

beforeEach(() => {
  host = document.createElement('div');
  document.body.appendChild(host);
  root = createRoot(host);
});

afterEach(() => {
  act(() => root.unmount());
  host.remove();
});

function render(element: React.ReactElement): void {
  act(() => root.render(element));
}

describe('owners', () => {
  it('shows who ran each run, as text', () => {
    const runs = [
      runRow('a1', 'FINISHED', { user: 'alice' }),
      runRow('b2', 'FINISHED', { user: XSS }),
      runRow('c3', 'FINISHED')
    ];
    render(
      <RunsTable
        runs={runs}
        metricKeys={[]}
        selected={new Set()}
        onToggle={jest.fn()}
        onOpen={jest.fn()}
        empty=""
      />
    );
    const user = (id: string) => host.querySelector(`tr[data-run-id="${id}"] td.jp-mlops-run-user`);
    expect(user('a1')?.textContent).toBe('alice');
    expect(user('a1')?.getAttribute('title')).toBe('Run by alice');
    expect(user('b2')?.textContent).toBe(XSS);
    expect(host.querySelector('img')).toBeNull();
    expect(user('c3')?.textContent).toBe('');
  });

  it('shows who promoted each version', () => {
    render(
      <ul>
        <VersionRow
          version={{ name: 'bc', version: 2, aliases: ['staging'], user: 'alice' }}
          open={false}
          onOpen={jest.fn()}
        />
        <VersionRow
          version={{ name: 'bc', version: 1, aliases: [] }}
          open={false}
          onOpen={jest.fn()}
        />
      </ul>
    );
    const promoted = host.querySelector('li[data-model-version="2"] .jp-mlops-version-user');
    expect(promoted?.textContent).toBe('alice');
    expect(promoted?.getAttribute('title')).toBe('Promoted by alice');
    expect(host.querySelector('li[data-model-version="1"] .jp-mlops-version-user')).toBeNull();
  });

  it("shows the server's one line when the tracking server refuses a move", async () => {
    const onSubmit = jest.fn(async () => {
      throw new ApiError(DENIED, 403, 'permission_denied');
    });
    render(
      <AliasForm
        versions={[{ name: 'bc', version: 1, aliases: [] }]}
        version={null}
        onSubmit={onSubmit}
      />
    );
    const field = host.querySelector('input.jp-mlops-alias-input') as HTMLInputElement;
    act(() => {
      Object.getOwnPropertyDescriptor(Object.getPrototypeOf(field), 'value')!.set!.call(
        field,
        'staging'
      );
      field.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await act(async () => {
      host.querySelector('form')!.dispatchEvent(new Event('submit', { bubbles: true }));
    });
    expect(onSubmit).toHaveBeenCalledWith('staging', 1, undefined);
    expect(host.querySelector('.jp-mlops-error')?.textContent).toBe(DENIED);
  });
});
