import * as React from 'react';
import { act } from 'react';

import { formatRate, healthBars, ModelHealth, windowText } from '../src/components/ModelHealth';
import { RegistryModel } from '../src/registryModel';
import { IModelMonitoring, IMonitoringWindow } from '../src/tokens';
import { useDom } from './dom';
import { FakeApi } from './fakeApi';

const XSS = '<img src=x onerror=alert(1)>';

function window(extra: Partial<IMonitoringWindow>): IMonitoringWindow {
  return {
    run_id: 'r1',
    start: '2026-03-01T00:00:00+00:00',
    end: '2026-03-02T00:00:00+00:00',
    verdict: 'stable',
    rows: 1000,
    violation_rate: 0,
    drifted: [],
    drifted_count: 0,
    prediction_drifted: false,
    problems: [],
    ...extra
  };
}

const STABLE = window({});
const DRIFTED = window({
  run_id: 'r2',
  start: '2026-03-02T00:00:00+00:00',
  end: '2026-03-03T00:00:00+00:00',
  verdict: 'drifted',
  rows: 1200,
  violation_rate: 0.125,
  drifted: ['age', XSS],
  drifted_count: 2
});

function monitoring(windows: IMonitoringWindow[]): IModelMonitoring {
  return {
    name: 'm',
    version: 1,
    experiment_id: windows.length ? '7' : null,
    windows,
    last: windows.length ? windows[windows.length - 1] : null,
    truncated: false
  };
}

const dom = useDom();

describe('ModelHealth', () => {
  it('shows the last window with its drifted columns as text', () => {
    act(() => dom.render(<ModelHealth health={monitoring([STABLE, DRIFTED])} error={null} />));
    expect(dom.host.querySelector('img')).toBeNull();
    const columns = [...dom.host.querySelectorAll('.jp-mlops-health-column')];
    expect(columns.map(c => c.textContent)).toEqual(['age', XSS]);
    const verdict = dom.host.querySelector('.jp-mlops-health-verdict');
    expect(verdict?.getAttribute('data-verdict')).toBe('drifted');
    expect(verdict?.textContent).toContain('drifted');
    expect(dom.host.querySelector('.jp-mlops-health-rate')?.textContent).toBe(
      '12.5% out of contract'
    );
    const bars = dom.host.querySelectorAll('svg.jp-mlops-health-chart rect.jp-mlops-health-bar');
    expect(bars.length).toBe(2);
    expect(bars[1].querySelector('title')?.textContent).toBe(
      '2026-03-02 → 2026-03-03 UTC: drifted, 2 drifted columns, 1,200 rows'
    );
  });

  it('says each verdict in words and an icon', () => {
    const said: string[] = [];
    for (const verdict of ['drifted', 'stable', 'inconclusive', 'empty'] as const) {
      act(() =>
        dom.render(<ModelHealth health={monitoring([window({ verdict })])} error={null} />)
      );
      said.push(dom.host.querySelector('.jp-mlops-health-verdict')?.textContent ?? '');
    }
    expect(said).toEqual(['▲ drifted', '✓ stable', '? inconclusive', '∅ no rows logged']);
  });

  it('says when a version was never monitored, or could not be read', () => {
    act(() => dom.render(<ModelHealth health={monitoring([])} error={null} />));
    expect(dom.host.textContent).toBe('not monitored yet');
    act(() => dom.render(<ModelHealth health={null} error="no route" />));
    expect(dom.host.textContent).toBe('health unreadable: no route');
  });

  it('counts the names it was not given and the values it could not read', () => {
    const verdict = 'toString' as any; // not a verdict, though every object has it
    const odd = window({ verdict, drifted: ['a'], drifted_count: 3, problems: ['x'] });
    act(() => dom.render(<ModelHealth health={monitoring([odd])} error={null} />));
    expect(dom.host.querySelector('.jp-mlops-health-drifted')?.textContent).toBe(
      'columns: a and 2 more'
    );
    expect(dom.host.textContent).toContain('verdict unreadable');
    expect(dom.host.textContent).toContain('1 value unreadable');
  });
});

describe('healthBars', () => {
  it('draws one bar per window, as high as its drifted columns', () => {
    const bars = healthBars([STABLE, DRIFTED, window({ drifted_count: null })], 240, 28);
    expect(bars.map(b => b.verdict)).toEqual(['stable', 'drifted', 'stable']);
    expect(bars[1].height).toBe(24); // the most drifted fills the strip
    expect(bars[0].height).toBe(3); // nothing drifted: a baseline tick
    expect(bars[1].x - bars[0].x).toBe(18); // packed from the left
    expect(bars[0].x).toBeLessThan(bars[1].x);
    expect(bars[2].title).toContain('drifted columns unreadable');
    expect(healthBars([])).toEqual([]);
  });

  it('formats windows and rates', () => {
    expect(windowText(STABLE)).toBe('2026-03-01 → 2026-03-02 UTC');
    expect(windowText(window({ start: '2026-03-01T06:30:00+00:00', end: null }))).toBe(
      '2026-03-01 06:30 → ? UTC'
    );
    expect(formatRate(0.125)).toBe('12.5%');
    expect(formatRate(0.0001)).toBe('<0.1%');
    expect(formatRate(0)).toBe('0.0%');
  });
});

describe('RegistryModel health', () => {
  it('reads the health of each version of the opened model, and again on refresh', async () => {
    const api = new FakeApi();
    api.versions = async () => [
      { name: 'm', version: 2, aliases: [] },
      { name: 'm', version: 1, aliases: [] }
    ];
    api.models = async () => [{ name: 'm', latest_version: 2, aliases: {}, versions: 2 }];
    const broken = api.monitoring.bind(api);
    api.monitoring = async (name: string, version: number) => {
      if (version === 1) {
        throw new Error('store unreachable');
      }
      return broken(name, version);
    };
    const model = new RegistryModel(api);
    await model.toggleModel('m');
    expect(model.health(2)?.windows).toEqual([]);
    expect(model.healthError(1)).toBe('store unreachable');
    await model.load();
    expect(api.calls.filter(c => c === 'monitoring:m/2').length).toBe(2);
    await model.toggleModel('m'); // closed: nothing kept
    expect(model.health(2)).toBeNull();
  });

  it('reads the health of the 20 newest versions only', async () => {
    const api = new FakeApi();
    api.versions = async () =>
      Array.from({ length: 25 }, (_, i) => ({ name: 'm', version: 25 - i, aliases: [] }));
    const model = new RegistryModel(api);
    await model.toggleModel('m');
    const asked = api.calls.filter(c => c.startsWith('monitoring:'));
    expect(asked.length).toBe(20);
    expect(model.health(6)).not.toBeNull();
    expect(model.health(5)).toBeNull();
  });
});
