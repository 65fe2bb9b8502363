import * as React from 'react';
import { act } from 'react';

import { AliasForm } from '../src/components/AliasForm';
import { VersionRow } from '../src/components/ModelsView';
import { RunsTable } from '../src/components/RunsTable';
import { ApiError } from '../src/request';
import { runRow } from './fakeApi';
import { useDom } from './dom';

const XSS = '<img src=x onerror=alert(1)>';
const DENIED =
  "permission denied: 'bob' may not move aliases of registered model 'bc' on " +
  "http://127.0.0.1:5000 (needs EDIT on it; 'bob' has READ)";

const dom = useDom();
const render = dom.render;

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
    const user = (id: string) =>
      dom.host.querySelector(`tr[data-run-id="${id}"] td.jp-mlops-run-user`);
    expect(user('a1')?.textContent).toBe('alice');
    expect(user('a1')?.getAttribute('title')).toBe('Run by alice');
    expect(user('b2')?.textContent).toBe(XSS);
    expect(dom.host.querySelector('img')).toBeNull();
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
    const promoted = dom.host.querySelector('li[data-model-version="2"] .jp-mlops-version-user');
    expect(promoted?.textContent).toBe('alice');
    expect(promoted?.getAttribute('title')).toBe('Promoted by alice');
    expect(dom.host.querySelector('li[data-model-version="1"] .jp-mlops-version-user')).toBeNull();
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
    const field = dom.host.querySelector('input.jp-mlops-alias-input') as HTMLInputElement;
    act(() => {
      Object.getOwnPropertyDescriptor(Object.getPrototypeOf(field), 'value')!.set!.call(
        field,
        'staging'
      );
      field.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await act(async () => {
      dom.host.querySelector('form')!.dispatchEvent(new Event('submit', { bubbles: true }));
    });
    expect(onSubmit).toHaveBeenCalledWith('staging', 1, undefined);
    expect(dom.host.querySelector('.jp-mlops-error')?.textContent).toBe(DENIED);
  });
});
