import * as React from 'react';
import { act } from 'react';

import { RunsTable } from '../src/components/RunsTable';
import { RunsView } from '../src/components/RunsView';
import { ApiError } from '../src/request';
import {
  distinctLabels,
  ELLIPSIS,
  middleTruncate,
  NEWEST_FIRST,
  nextOrder,
  orderClause,
  PARENT_TAG,
  runTree
} from '../src/runsLayout';
import { RunsModel } from '../src/runsModel';
import { clampWidth, RunsSettings } from '../src/runsSettings';
import { useDom } from './dom';
import { FakeApi, runRow } from './fakeApi';

/** The last query the API was sent. */
const last = (api: FakeApi) => api.queries[api.queries.length - 1];

/** Room for `n` characters (the jsdom measure: 7 px each). */
const chars = (n: number) => (text: string) => [...text].length <= n;

describe('runTree', () => {
  it('puts children under their parent in page order and marks orphans', () => {
    const runs = [
      runRow('c1', 'FINISHED', { tags: { [PARENT_TAG]: 'p' } }),
      runRow('p', 'FINISHED'),
      runRow('x', 'FAILED'),
      runRow('c2', 'KILLED', { tags: { [PARENT_TAG]: 'p' } }),
      runRow('o', 'FINISHED', { tags: { [PARENT_TAG]: 'gone' } })
    ];
    const tree = runTree(runs);
    expect(tree.map(node => node.run.run_id)).toEqual(['p', 'x', 'o']);
    expect(tree[0].children.map(run => run.run_id)).toEqual(['c1', 'c2']);
    expect(tree[0].orphanOf).toBeNull();
    expect(tree[2]).toMatchObject({ children: [], orphanOf: 'gone' });
  });

  it('keeps a run that names itself as parent at top level', () => {
    const tree = runTree([runRow('s', 'FINISHED', { tags: { [PARENT_TAG]: 's' } })]);
    expect(tree).toEqual([expect.objectContaining({ orphanOf: null, children: [] })]);
  });
});

describe('middle truncation', () => {
  const a = 'sweep-learning_rate=0.001-n_estimators=500-max_depth=4';
  const b = 'sweep-learning_rate=0.001-n_estimators=500-max_depth=5';

  it('keeps a name that fits whole', () => {
    expect(middleTruncate('baseline', chars(20))).toBe('baseline');
  });

  it('keeps the start and the end of a long name', () => {
    const label = middleTruncate(a, chars(21));
    expect([...label].length).toBeLessThanOrEqual(21);
    expect(label.startsWith('sweep-lear')).toBe(true);
    expect(label.endsWith('x_depth=4')).toBe(true);
    expect(label).toContain(ELLIPSIS);
  });

  it('never shows two different names the same', () => {
    expect(distinctLabels([a, b], () => chars(21))).toEqual([
      middleTruncate(a, chars(21)),
      middleTruncate(b, chars(21))
    ]);
    // differing only in the middle: the difference is shown
    const c = 'model-aaaaaaaaaa-1-zzzzzzzzzzzzzz-end';
    const d = 'model-aaaaaaaaaa-2-zzzzzzzzzzzzzz-end';
    expect(middleTruncate(c, chars(16))).toBe(middleTruncate(d, chars(16)));
    const [x, y] = distinctLabels([c, d], () => chars(16));
    expect(x).not.toBe(y);
    expect([...x].length).toBeLessThanOrEqual(16);
    expect(x).toContain('1');
    expect(y).toContain('2');
    // the same name twice reads the same, as it should
    expect(distinctLabels([c, c], () => chars(16))).toEqual([
      middleTruncate(c, chars(16)),
      middleTruncate(c, chars(16))
    ]);
  });

  it('never splits a character made of two code units', () => {
    const label = middleTruncate('😀'.repeat(10), chars(5));
    expect([...label].every(ch => ch === '😀' || ch === ELLIPSIS)).toBe(true);
  });
});

describe('order_by', () => {
  it('reverses the same column and starts a new one ascending', () => {
    const acc = { kind: 'metric' as const, key: 'acc' };
    const first = nextOrder(NEWEST_FIRST, acc);
    expect(orderClause(first)).toBe('metrics.`acc` ASC');
    const second = nextOrder(first, acc);
    expect(orderClause(second)).toBe('metrics.`acc` DESC');
    expect(orderClause(nextOrder(second, acc))).toBe('metrics.`acc` ASC');
    expect(orderClause(nextOrder(second, { kind: 'name' }))).toBe('attributes.run_name ASC');
    expect(orderClause(nextOrder(NEWEST_FIRST, { kind: 'start' }))).toBe(
      'attributes.start_time ASC'
    );
    expect(orderClause(nextOrder(NEWEST_FIRST, { kind: 'param', key: 'x y' }))).toBe(
      'params.`x y` ASC'
    );
    expect(orderClause({ column: { kind: 'metric', key: 'a`b' }, descending: false })).toBeNull();
  });
});

describe('RunsModel search and sort', () => {
  let api: FakeApi;
  let model: RunsModel;

  beforeEach(async () => {
    api = new FakeApi();
    api.pages['1'] = {
      runs: [runRow('a1', 'FINISHED', { metrics: { acc: 0.5 } })],
      next_page_token: 'next'
    };
    model = new RunsModel({ api });
    await model.load();
  });

  afterEach(() => model.dispose());

  it('sends the filter and the order, and pages with them', async () => {
    await model.search('  metrics.acc > 0.6 ');
    expect(last(api)).toMatchObject({ filter: 'metrics.acc > 0.6', orderBy: undefined });
    await model.sortBy({ kind: 'metric', key: 'acc' });
    expect(last(api)).toMatchObject({
      filter: 'metrics.acc > 0.6',
      orderBy: ['metrics.`acc` ASC']
    });
    await model.loadMore();
    expect(last(api)).toMatchObject({
      pageToken: 'next',
      filter: 'metrics.acc > 0.6',
      orderBy: ['metrics.`acc` ASC']
    });
    await model.search('');
    expect(last(api)).toMatchObject({ filter: undefined });
  });

  it('keeps the list and the last good filter when the server refuses one', async () => {
    await model.search('baseline');
    const runs = model.runs;
    api.runs = () =>
      Promise.reject(new ApiError("filter 'metrics.acc >' is not ...", 400, 'bad_filter'));
    await model.search('metrics.acc >');
    expect(model.filterError).toBe("filter 'metrics.acc >' is not ...");
    expect(model.error).toBeNull();
    expect(model.filter).toBe('baseline');
    expect(model.runs).toBe(runs);
    api.runs = FakeApi.prototype.runs.bind(api);
    await model.search('base');
    expect(model.filterError).toBeNull();
    expect(model.filter).toBe('base');
  });

  it('shows any other failure as the section error', async () => {
    api.runs = () => Promise.reject(new ApiError('the store is locked', 503, 'store_error'));
    await model.search('x');
    expect(model.filterError).toBeNull();
    expect(model.error).toBe('the store is locked');
  });

  it('remembers columns per experiment name', async () => {
    expect(model.columns).toEqual({ metrics: ['acc'], params: [] });
    await model.toggleColumn('metrics', 'acc');
    await model.toggleColumn('params', 'penalty');
    expect(model.columns).toEqual({ metrics: [], params: ['penalty'] });
    expect(model.settings.columns('churn')).toEqual({ metrics: [], params: ['penalty'] });
    expect(model.settings.columns('empty')).toBeNull();
  });
});

describe('RunsSettings', () => {
  it('reads the registry, drops malformed entries and writes back', async () => {
    const written: Record<string, unknown> = {};
    const changed = { connect: jest.fn() };
    const registry: any = {
      composite: {
        runsColumns: { a: { metrics: ['m'], params: [] }, b: { metrics: 'no' } },
        runsNameWidth: 99999
      },
      changed,
      set: async (key: string, value: unknown) => {
        written[key] = value;
      }
    };
    const settings = new RunsSettings();
    settings.attach(registry);
    expect(settings.columns('a')).toEqual({ metrics: ['m'], params: [] });
    expect(settings.columns('b')).toBeNull();
    expect(settings.nameWidth).toBe(1200);
    await settings.setNameWidth(10);
    expect(written.runsNameWidth).toBe(48);
    expect(clampWidth('wide')).toBe(120);
  });
});

describe('RunsTable nesting, statuses and names', () => {
  const dom = useDom();

  const long = 'sweep-learning_rate=0.001-n_estimators=500-max_depth=';
  const runs = [
    runRow('p', 'FINISHED', { name: 'sweep-lr' }),
    runRow('c1', 'FAILED', { name: 'lr=0.1', tags: { [PARENT_TAG]: 'p' } }),
    runRow('c2', 'KILLED', { name: 'lr=0.2', tags: { [PARENT_TAG]: 'p' } }),
    runRow('l4', 'FINISHED', { name: long + '4' }),
    runRow('l5', 'FINISHED', { name: long + '5' })
  ];

  function draw(expanded: Set<string>, onExpand = jest.fn(), onSort = jest.fn()): void {
    act(() =>
      dom.render(
        <RunsTable
          runs={runs}
          metricKeys={[]}
          selected={new Set()}
          onToggle={jest.fn()}
          onOpen={jest.fn()}
          empty=""
          expanded={expanded}
          onExpand={onExpand}
          onSort={onSort}
          order={{ column: { kind: 'metric', key: 'acc' }, descending: true }}
          nameWidth={160}
        />
      )
    );
  }

  it('collapses children under a twisty with their count', () => {
    const onExpand = jest.fn();
    draw(new Set(), onExpand);
    const ids = () =>
      [...dom.host.querySelectorAll('tr.jp-mlops-run')].map(r => r.getAttribute('data-run-id'));
    expect(ids()).toEqual(['p', 'l4', 'l5']);
    const twisty = dom.host.querySelector<HTMLButtonElement>(
      'tr[data-run-id="p"] .jp-mlops-twisty'
    )!;
    expect(twisty.getAttribute('aria-expanded')).toBe('false');
    expect(dom.host.querySelector('tr[data-run-id="p"] td.jp-mlops-run-name')?.textContent).toBe(
      '▸sweep-lr(2)'
    );
    act(() => twisty.click());
    expect(onExpand).toHaveBeenCalledWith('p');
    draw(new Set(['p']));
    expect(ids()).toEqual(['p', 'c1', 'c2', 'l4', 'l5']);
    expect(dom.host.querySelector('tr[data-run-id="c1"]')?.getAttribute('data-depth')).toBe('1');
  });

  it('tells statuses apart and shortens long names in the middle', () => {
    draw(new Set(['p']));
    const status = (id: string) =>
      dom.host.querySelector(`tr[data-run-id="${id}"] td.jp-mlops-run-status`)!;
    expect(status('c1').textContent).toBe('FAILED');
    expect(status('c2').textContent).toBe('KILLED');
    expect(status('c1').getAttribute('title')).not.toBe(status('c2').getAttribute('title'));
    const shown = (id: string) =>
      dom.host
        .querySelector(`tr[data-run-id="${id}"] .jp-mlops-name-shown`)!
        .getAttribute('data-label')!;
    expect(shown('l4')).toContain(ELLIPSIS);
    expect(shown('l4').endsWith('=4')).toBe(true);
    expect(shown('l4')).not.toBe(shown('l5'));
    const link = dom.host.querySelector('tr[data-run-id="l4"] .jp-mlops-link')!;
    expect(link.getAttribute('title')).toBe(long + '4');
    expect(dom.host.querySelector('tr[data-run-id="l4"] td.jp-mlops-run-name')?.textContent).toBe(
      long + '4'
    );
  });

  it('sorts from a header and says which one', () => {
    const onSort = jest.fn();
    act(() =>
      dom.render(
        <RunsTable
          runs={runs}
          metricKeys={['acc']}
          selected={new Set()}
          onToggle={jest.fn()}
          onOpen={jest.fn()}
          empty=""
          onSort={onSort}
          order={{ column: { kind: 'metric', key: 'acc' }, descending: true }}
        />
      )
    );
    const th = dom.host.querySelector('th[data-sort-key="metric:acc"]')!;
    expect(th.getAttribute('aria-sort')).toBe('descending');
    expect(th.textContent).toBe('acc↓');
    expect(
      dom.host.querySelector('th[data-sort-key="name"]')?.getAttribute('aria-sort')
    ).toBeNull();
    act(() =>
      dom.host.querySelector<HTMLButtonElement>('th[data-sort-key="name"] button')!.click()
    );
    expect(onSort).toHaveBeenCalledWith({ kind: 'name' });
  });

  it('keeps a refused filter in the box with the line under it', async () => {
    const api = new FakeApi();
    api.pages['1'] = { runs: [runRow('a1', 'FINISHED')], next_page_token: null };
    const model = new RunsModel({ api });
    await act(() => model.load());
    const draw = () => act(() => dom.render(<RunsView model={model} />));
    draw();
    const input = dom.host.querySelector<HTMLInputElement>('input.jp-mlops-search-input')!;
    api.runs = () => Promise.reject(new ApiError('filter is bad', 400, 'bad_filter'));
    act(() => {
      const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!;
      setter.call(input, 'metrics.acc >');
      input.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await act(async () => {
      dom.host
        .querySelector('form.jp-mlops-search')!
        .dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
    });
    draw();
    expect(dom.host.querySelector('.jp-mlops-search-error')?.textContent).toBe('filter is bad');
    expect(dom.host.querySelector<HTMLInputElement>('input.jp-mlops-search-input')!.value).toBe(
      'metrics.acc >'
    );
    expect(dom.host.querySelector('tr[data-run-id="a1"]')).not.toBeNull();
    model.dispose();
  });
});
