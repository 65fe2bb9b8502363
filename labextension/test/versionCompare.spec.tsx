import * as React from 'react';

import { CardRun } from '../src/components/ModelsView';
import { changeMark, ordered, VersionCompare } from '../src/components/VersionCompare';
import { RegistryModel } from '../src/registryModel';
import { IVersionComparison } from '../src/tokens';
import { FakeApi } from './fakeApi';
import { useDom } from './dom';

const XSS = '<img src=x onerror=alert(1)>';

/** A comparison as `GET models/<name>/compare` answers it. */
function comparison(): IVersionComparison {
  return {
    name: 'diabetes',
    a: { version: 1, run_name: 'ridge', run_status: 'FINISHED', columns: 2 },
    b: { version: 2, run_name: XSS, run_status: 'FINISHED', columns: 3 },
    params: [
      { key: 'alpha', a: '1.0', b: '0.5', change: 'changed' },
      { key: 'solver', a: 'auto', b: 'auto', change: 'same' }
    ],
    metrics: [
      { key: 'mae', a: 44.1234, b: 43.9, change: 'changed' },
      { key: 'r2', a: 0.4, b: 0.4, change: 'same' },
      { key: 'rmse', a: null, b: 55, change: 'added' }
    ],
    contract: {
      compared: true,
      added: ['sex'],
      removed: ['s1'],
      changed: ['age'],
      problems: { a: null, b: null },
      columns: [
        {
          name: 'age',
          change: 'changed',
          a: { dtype: 'float64' },
          b: { dtype: 'int64' },
          differences: [{ what: 'dtype', text: 'dtype: float64 → int64' }]
        },
        { name: 'bmi', change: 'same', differences: [] },
        { name: 'sex', change: 'added', a: null, b: { dtype: 'str' }, differences: [] },
        { name: 's1', change: 'removed', a: { dtype: 'float64' }, b: null, differences: [] }
      ]
    }
  };
}

const dom = useDom();
const render = dom.render;

describe('changeMark', () => {
  it('marks each change with its own class and symbol', () => {
    expect(changeMark('added')).toEqual({
      className: 'jp-mlops-diff-added',
      symbol: '+',
      label: 'added'
    });
    expect(changeMark('removed').className).toBe('jp-mlops-diff-removed');
    expect(changeMark('changed').symbol).toBe('~');
    expect(changeMark('same').symbol).toBe('');
  });

  it('reads an unknown change as changed, never as same', () => {
    expect(changeMark('renamed').className).toBe('jp-mlops-diff-changed');
  });
});

describe('ordered', () => {
  it('puts added, removed and changed before the same, keeping order within each', () => {
    const rows = comparison().contract.columns;
    expect(ordered(rows).map(r => r.name)).toEqual(['sex', 's1', 'age', 'bmi']);
  });
});

describe('VersionCompare', () => {
  it('marks every contract column by how it changed', () => {
    render(<VersionCompare comparison={comparison()} />);
    const rows = [...dom.host.querySelectorAll<HTMLElement>('.jp-mlops-diff-row')];
    expect(rows.map(r => [r.dataset.column, r.dataset.change])).toEqual([
      ['sex', 'added'],
      ['s1', 'removed'],
      ['age', 'changed'],
      ['bmi', 'same']
    ]);
    const sex = dom.host.querySelector('[data-column="sex"]')!;
    expect(sex.classList.contains('jp-mlops-diff-added')).toBe(true);
    expect(sex.textContent).toContain('dtype str');
    const age = dom.host.querySelector('[data-column="age"]')!;
    expect(age.classList.contains('jp-mlops-diff-changed')).toBe(true);
    expect(age.querySelector('[data-what="dtype"]')!.textContent).toBe('dtype: float64 → int64');
    expect(dom.host.querySelector('[data-column="bmi"]')!.classList).toContain(
      'jp-mlops-diff-same'
    );
    const counts = [...dom.host.querySelectorAll('.jp-mlops-diff-count')].map(c => c.textContent);
    expect(counts).toEqual(['1 added', '1 removed', '1 changed']);
  });

  it('marks the metrics and params that differ, and shows a missing value as a dash', () => {
    render(<VersionCompare comparison={comparison()} />);
    const metric = (key: string) =>
      dom.host.querySelector<HTMLTableRowElement>(`tr[data-key="${key}"]`)!;
    expect(metric('mae').className).toBe('jp-mlops-diff-changed');
    expect(metric('r2').className).toBe('jp-mlops-diff-same');
    expect(metric('rmse').className).toBe('jp-mlops-diff-added');
    expect([...metric('rmse').cells].map(c => c.textContent)).toEqual(['rmse', '—', '55']);
    expect(metric('mae').cells[1].textContent).toBe('44.12');
    expect(metric('alpha').className).toBe('jp-mlops-diff-changed');
  });

  it('shows store text as text and says why a contract was not read', () => {
    const answer = comparison();
    answer.contract = {
      ...answer.contract,
      compared: false,
      columns: [],
      problems: { a: null, b: 'models:/diabetes/2: contract.json was modified after promotion' }
    };
    render(<VersionCompare comparison={answer} />);
    expect(dom.host.querySelector('img')).toBeNull();
    expect(dom.host.querySelector('.jp-mlops-vcompare-title')!.textContent).toContain(XSS);
    expect(dom.host.querySelector('.jp-mlops-vcompare-problem')!.textContent).toContain(
      'modified after promotion'
    );
    expect(dom.host.querySelectorAll('.jp-mlops-diff-row')).toHaveLength(0);
  });
});

describe('RegistryModel.toggleCompare', () => {
  it('asks for the comparison once two versions are ticked, the older as a', async () => {
    const api = new FakeApi();
    api.comparison = comparison();
    const model = new RegistryModel(api);
    await model.toggleModel('diabetes');
    await model.toggleCompare(2);
    expect(model.compared).toEqual([2]);
    expect(api.calls.filter(c => c.startsWith('compare'))).toEqual([]);
    await model.toggleCompare(1);
    expect(api.calls.filter(c => c.startsWith('compare'))).toEqual(['compare:diabetes/1/2']);
    expect(model.comparison?.name).toBe('diabetes');
    await model.toggleCompare(3); // a third tick replaces the first
    expect(model.compared).toEqual([1, 3]);
    expect(api.calls.filter(c => c.startsWith('compare'))).toHaveLength(2);
    await model.toggleCompare(3);
    expect(model.compared).toEqual([1]);
    expect(model.comparison).toBeNull();
  });
});

describe('CardRun', () => {
  const run = { id: 'abc12345ff', name: 'fit', status: 'FINISHED', end_time: 1 };

  it('says how the run is now', () => {
    render(<CardRun run={run} />);
    expect(dom.host.querySelector('.jp-mlops-card-run')!.textContent).toBe('Run fit: finished now');
    expect(dom.host.querySelector('.jp-mlops-card-stale')).toBeNull();
  });

  it('says so when an older card still calls the run running', () => {
    render(<CardRun run={{ ...run, status: 'KILLED', card_says_running: true }} />);
    expect(dom.host.querySelector('.jp-mlops-card-stale')!.textContent).toBe(
      'The card below was written while this run was still running; it is killed now.'
    );
  });
});
