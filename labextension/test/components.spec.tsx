import * as React from 'react';
import { act } from 'react';

import { CompareTable, compareRows } from '../src/components/CompareTable';
import { KeyValueTable } from '../src/components/KeyValueTable';
import { RunsTable } from '../src/components/RunsTable';
import { runRow } from './fakeApi';
import { useDom } from './dom';

const XSS = '<img src=x onerror=alert(1)>';

const dom = useDom();
const render = dom.render;

describe('RunsTable', () => {
  const runs = [
    runRow('a1', 'RUNNING', { name: XSS, metrics: { loss: 0.123456, acc: 'NaN' } }),
    runRow('b2', 'FINISHED', { metrics: { loss: 2 } })
  ];

  it('renders names as text, never as HTML', () => {
    render(
      <RunsTable
        runs={runs}
        metricKeys={['loss']}
        selected={new Set()}
        onToggle={jest.fn()}
        onOpen={jest.fn()}
        empty=""
      />
    );
    expect(dom.host.querySelector('img')).toBeNull();
    const name = dom.host.querySelector('tr[data-run-id="a1"] td.jp-mlops-run-name');
    expect(name?.textContent).toBe(XSS);
  });

  it('offers the hooks the browser tests use', () => {
    const onToggle = jest.fn();
    const onOpen = jest.fn();
    render(
      <RunsTable
        runs={runs}
        metricKeys={['loss', 'acc']}
        selected={new Set(['b2'])}
        onToggle={onToggle}
        onOpen={onOpen}
        empty=""
      />
    );
    const rows = dom.host.querySelectorAll('table.jp-mlops-runs tr.jp-mlops-run');
    expect([...rows].map(row => row.getAttribute('data-run-id'))).toEqual(['a1', 'b2']);
    expect(dom.host.querySelector('tr[data-run-id="a1"] td.jp-mlops-run-status')?.textContent).toBe(
      'RUNNING'
    );
    expect(
      dom.host.querySelector('tr[data-run-id="a1"] td.jp-mlops-metric[data-key="loss"]')
        ?.textContent
    ).toBe('0.1235');
    expect(
      dom.host.querySelector('tr[data-run-id="a1"] td.jp-mlops-metric[data-key="acc"]')?.textContent
    ).toBe('NaN');
    expect(
      dom.host.querySelector('tr[data-run-id="b2"] td.jp-mlops-metric[data-key="acc"]')?.textContent
    ).toBe('');
    expect(
      dom.host.querySelector<HTMLInputElement>('tr[data-run-id="b2"] input.jp-mlops-select')
        ?.checked
    ).toBe(true);

    act(() =>
      dom.host
        .querySelector<HTMLInputElement>('tr[data-run-id="a1"] input.jp-mlops-select')!
        .click()
    );
    expect(onToggle).toHaveBeenCalledWith('a1');
    expect(onOpen).not.toHaveBeenCalled(); // ticking does not open the run
    act(() =>
      dom.host.querySelector<HTMLElement>('tr[data-run-id="b2"] td.jp-mlops-run-name')!.click()
    );
    expect(onOpen).toHaveBeenCalledWith('b2');
  });

  it('says so when there are no runs', () => {
    render(
      <RunsTable
        runs={[]}
        metricKeys={[]}
        selected={new Set()}
        onToggle={jest.fn()}
        onOpen={jest.fn()}
        empty="No runs."
      />
    );
    expect(dom.host.querySelector('tr.jp-mlops-run')).toBeNull();
    expect(dom.host.querySelector('tr.jp-mlops-empty')?.textContent).toBe('No runs.');
  });
});

describe('KeyValueTable', () => {
  it('renders params and tags as text', () => {
    render(
      <KeyValueTable className="jp-mlops-params" values={{ [XSS]: XSS, alpha: '0.1' }} empty="" />
    );
    expect(dom.host.querySelector('img')).toBeNull();
    const cells = [...dom.host.querySelectorAll('table.jp-mlops-params td')].map(
      td => td.textContent
    );
    expect(cells).toEqual([XSS, '0.1']);
  });
});

describe('compare', () => {
  const runs = [
    runRow('a1', 'FINISHED', { params: { alpha: '0.1', solver: 'lbfgs' }, metrics: { auc: 0.91 } }),
    runRow('b2', 'FINISHED', {
      params: { alpha: '0.5', solver: 'lbfgs' },
      metrics: { auc: 0.91, loss: 0.2 }
    })
  ];

  it('lines params and metrics up by key and marks differences', () => {
    const { params, metrics } = compareRows(runs);
    expect(params).toEqual([
      { key: 'alpha', values: ['0.1', '0.5'], differs: true },
      { key: 'solver', values: ['lbfgs', 'lbfgs'], differs: false }
    ]);
    expect(metrics).toEqual([
      { key: 'auc', values: ['0.91', '0.91'], differs: false },
      { key: 'loss', values: ['', '0.2'], differs: true }
    ]);
  });

  it('renders one column per run and highlights rows that differ', () => {
    render(<CompareTable runs={runs} />);
    const heads = [...dom.host.querySelectorAll('thead th[data-run-id]')].map(th => th.textContent);
    expect(heads).toEqual(['run-a1', 'run-b2']);
    const differing = [...dom.host.querySelectorAll('tr.jp-mlops-differs')].map(tr =>
      tr.getAttribute('data-key')
    );
    expect(differing).toEqual(['loss', 'alpha']); // metrics first, then params
  });
});
