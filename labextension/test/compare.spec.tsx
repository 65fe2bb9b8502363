import * as React from 'react';
import { act } from 'react';

import { CompareTable, metricExtremes, visibleRows } from '../src/components/CompareTable';
import {
  axisPosition,
  lineColour,
  metricAxis,
  ParallelCoordinates,
  sweepAxes,
  sweepMetrics
} from '../src/components/ParallelCoordinates';
import { RunsModel } from '../src/runsModel';
import { FakeApi, runRow } from './fakeApi';
import { useDom } from './dom';

const dom = useDom();
const render = dom.render;

/** Four sweep points: lr and depth vary, seed is the same, auc and loss differ. */
const sweep = [
  runRow('a1', 'FINISHED', {
    name: 'lr=0.01 depth=2',
    params: { lr: '0.01', depth: '2', seed: '7', solver: 'adam' },
    metrics: { auc: 0.7, loss: 0.5 }
  }),
  runRow('b2', 'FINISHED', {
    params: { lr: '0.1', depth: '2', seed: '7', solver: 'sgd' },
    metrics: { auc: 0.9, loss: 0.2 }
  }),
  runRow('c3', 'FINISHED', {
    params: { lr: '0.01', depth: '8', seed: '7', solver: 'adam' },
    metrics: { auc: 0.8, loss: 'NaN' }
  }),
  runRow('d4', 'FINISHED', {
    params: { lr: '1', depth: '8', seed: '7', solver: 'sgd' },
    metrics: { auc: 0.9, loss: 0.3 }
  })
];

describe('compare table', () => {
  it('puts metrics before params and names each column after its run', () => {
    render(<CompareTable runs={sweep} />);
    const groups = [...dom.host.querySelectorAll('tr.jp-mlops-group')].map(tr =>
      tr.getAttribute('data-group')
    );
    expect(groups).toEqual(['metrics', 'params']);
    const heads = [...dom.host.querySelectorAll('thead th[data-run-id]')];
    expect(heads.map(th => th.textContent)).toEqual([
      'lr=0.01 depth=2',
      'run-b2',
      'run-c3',
      'run-d4'
    ]);
    expect(heads[0].getAttribute('title')).toBe('lr=0.01 depth=2 (a1)');
  });

  it('hides the rows where every run agrees when "differences only" is on', () => {
    render(<CompareTable runs={sweep} />);
    const keys = () =>
      [...dom.host.querySelectorAll('tbody tr[data-key]')].map(tr => tr.getAttribute('data-key'));
    expect(keys()).toEqual(['auc', 'loss', 'depth', 'lr', 'seed', 'solver']);
    const toggle = dom.host.querySelector('input.jp-mlops-differences-only') as HTMLInputElement;
    act(() => toggle.click());
    expect(keys()).toEqual(['auc', 'loss', 'depth', 'lr', 'solver']);
    expect(dom.host.querySelector('.jp-mlops-hidden-rows')?.textContent).toBe('1 equal row hidden');
    act(() => toggle.click());
    expect(keys()).toContain('seed');
  });

  it('keeps only differing rows, and all rows otherwise', () => {
    const rows = [
      { key: 'a', values: ['1', '1'], differs: false },
      { key: 'b', values: ['1', ''], differs: true }
    ];
    expect(visibleRows(rows, true).map(r => r.key)).toEqual(['b']);
    expect(visibleRows(rows, false)).toBe(rows);
  });

  it('marks the lowest and the highest value of each metric, ties included', () => {
    expect(metricExtremes(sweep, 'auc')).toEqual({ min: [0], max: [1, 3] });
    expect(metricExtremes(sweep, 'loss')).toEqual({ min: [1], max: [0] }); // NaN left out
    expect(metricExtremes([sweep[0]], 'auc')).toBeNull();
    render(<CompareTable runs={sweep} />);
    const auc = dom.host.querySelector('tr[data-key="auc"]')!;
    expect([...auc.querySelectorAll('td.jp-mlops-max')].length).toBe(2);
    expect(auc.querySelector('td.jp-mlops-min')?.textContent).toContain('0.7');
    expect(dom.host.querySelector('tr[data-key="lr"] .jp-mlops-extreme')).toBeNull(); // params: never
  });
});

describe('parallel coordinates', () => {
  it('has an axis per varying numeric or few-valued param, sorted by name', () => {
    const axes = sweepAxes(sweep);
    expect(axes.map(a => a.key)).toEqual(['depth', 'lr', 'solver']);
    expect(axes[1].scale).toEqual({ kind: 'numeric', min: 0.01, max: 1 });
    expect(axes[2].scale).toEqual({ kind: 'categorical', categories: ['adam', 'sgd'] });
    const many = Array.from({ length: 12 }, (_, i) =>
      runRow(`e${i}`, 'FINISHED', { params: { tag: `t${i}`, lr: String(i) } })
    );
    expect(sweepAxes(many).map(a => a.key)).toEqual(['lr']); // 12 texts: no axis
  });

  it('scales values from 0 at the bottom to 1 at the top', () => {
    const [depth, lr, solver] = sweepAxes(sweep);
    expect(axisPosition(depth, 2)).toBe(0);
    expect(axisPosition(depth, 8)).toBe(1);
    expect(axisPosition(lr, 0.1)).toBeCloseTo(0.0909, 3);
    expect(axisPosition(solver, 'sgd')).toBe(1);
    expect(axisPosition(solver, 'other')).toBeNull();
    expect(axisPosition(lr, null)).toBeNull();
    const loss = metricAxis(sweep, 'loss')!;
    expect(loss.values).toEqual([0.5, 0.2, null, 0.3]);
    const flat = metricAxis([sweep[1], sweep[3]], 'auc')!;
    expect(axisPosition(flat, 0.9)).toBe(0.5);
  });

  it('offers the metrics two runs have and colours from theme variables', () => {
    expect(sweepMetrics(sweep)).toEqual(['auc', 'loss']);
    expect(lineColour(1)).toContain('var(--jp-brand-color1) 100%');
    expect(lineColour(null)).toBe('var(--jp-ui-font-color3)');
  });

  it('draws one axis per varying param plus the metric, and one line per run', () => {
    render(<ParallelCoordinates runs={sweep} />);
    const axes = [...dom.host.querySelectorAll('g.jp-mlops-axis')].map(g =>
      g.getAttribute('data-axis')
    );
    expect(axes).toEqual(['depth', 'lr', 'solver', 'auc']);
    expect(dom.host.querySelectorAll('polyline.jp-mlops-parallel-line').length).toBe(4);
    const first = dom.host.querySelector('polyline[data-run-id="a1"]')!;
    expect(first.querySelector('title')?.textContent).toBe('lr=0.01 depth=2: auc 0.7');
    const select = dom.host.querySelector('select.jp-mlops-parallel-metric') as HTMLSelectElement;
    act(() => {
      select.value = 'loss';
      select.dispatchEvent(new Event('change', { bubbles: true }));
    });
    expect(
      dom.host.querySelector('g.jp-mlops-axis[data-kind="metric"]')?.getAttribute('data-axis')
    ).toBe('loss');
    // c3 has no finite loss: its line stops at the params
    const c3 = dom.host.querySelector('polyline[data-run-id="c3"]')!;
    expect(c3.getAttribute('points')!.split(' ').length).toBe(3);
  });

  it('draws nothing when no param varies', () => {
    const same = sweep.map(run => ({ ...run, params: { seed: '7' } }));
    render(<ParallelCoordinates runs={same} />);
    expect(dom.host.querySelector('svg')).toBeNull();
  });
});

describe('compare sweep and notebook diff in the model', () => {
  it("ticks a parent's children and asks for the diff of exactly two runs", async () => {
    const api = new FakeApi();
    const parent = runRow('p0', 'FINISHED');
    const children = sweep.map(run => ({ ...run, tags: { 'mlflow.parentRunId': 'p0' } }));
    api.pages['1'] = { runs: [parent, ...children], next_page_token: null };
    const model = new RunsModel({ api });
    await model.selectExperiment('1');
    expect(model.childrenOf('p0').map(r => r.run_id)).toEqual(['a1', 'b2', 'c3', 'd4']);
    model.compareChildren('p0');
    expect(model.view).toBe('compare');
    expect(model.selectedRuns.map(r => r.run_id)).toEqual(['a1', 'b2', 'c3', 'd4']);
    const asked: string[][] = [];
    model.notebookDiffRequested.connect((_, [a, b]) => asked.push([a.run_id, b.run_id]));
    model.requestNotebookDiff(); // four runs: no diff
    model.toggleSelected('c3');
    model.toggleSelected('d4');
    model.requestNotebookDiff();
    children[0].start_time = '2024-01-02T00:00:00.000+00:00'; // a1 now started after b2
    model.requestNotebookDiff();
    expect(asked).toEqual([
      ['a1', 'b2'],
      ['b2', 'a1']
    ]);
    model.dispose();
  });
});
