import * as React from 'react';
import { act } from 'react';

import { artifactSegments } from '../src/api';
import { artifactAction, artifactTitle, fileName, formatSize } from '../src/artifacts';
import {
  formatClock,
  formatDuration,
  formatTick,
  isSingleValue,
  nearestIndex,
  niceAxis,
  plotPoints,
  timeAxis
} from '../src/chartScale';
import { ArtifactBrowser } from '../src/components/ArtifactBrowser';
import { chartLayout, MetricChart } from '../src/components/MetricChart';
import { RunDetails } from '../src/components/RunDetails';
import { RunDetailsModel } from '../src/detailsModel';
import { snapshotCells, withoutRemoteMedia } from '../src/notebookSnapshot';
import { IMetricPoint } from '../src/tokens';
import { FakeApi, runRow } from './fakeApi';
import { useDom } from './dom';

const XSS = '<img src=x onerror=alert(1)>';

const dom = useDom();
const render = dom.render;

const point = (step: number, value: number | 'NaN', timestamp = step * 1000): IMetricPoint => ({
  step,
  value,
  timestamp
});

describe('ticks', () => {
  it('picks round values that cover the data', () => {
    expect(niceAxis(0.2, 0.9, 4).ticks).toEqual([0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceAxis(3, 97, 4).ticks).toEqual([0, 25, 50, 75, 100]);
    expect(niceAxis(-1.3, 1.1, 4).ticks).toEqual([-2, -1, 0, 1, 2]);
  });

  it('keeps steps on whole numbers and widens a flat range', () => {
    expect(niceAxis(0, 3, 4, true).ticks).toEqual([0, 1, 2, 3]);
    expect(niceAxis(5, 5, 4, true).ticks).toEqual([4, 5, 6]);
    const flat = niceAxis(2, 2, 4);
    expect(flat.min).toBeLessThan(2);
    expect(flat.max).toBeGreaterThan(2);
  });

  it('labels ticks compactly, with the decimals the step needs', () => {
    expect(formatTick(1500, 500)).toBe('1.5k');
    expect(formatTick(2_000_000, 1_000_000)).toBe('2M');
    expect(formatTick(0.25, 0.05)).toBe('0.25');
    expect(formatTick(0.4, 0.2)).toBe('0.4');
    expect(formatTick(0, 0.2)).toBe('0');
    expect(formatTick(0.00002, 0.00001)).toBe('2e-5');
    expect(formatTick(40, 20)).toBe('40');
  });

  it('puts time ticks on round seconds and minutes', () => {
    const axis = timeAxis(0, 95_000, 4);
    expect(axis.step).toBe(30_000);
    expect(axis.ticks.map(formatDuration)).toEqual(['0s', '30s', '1m', '1m 30s', '2m']);
    expect(formatDuration(5400_000)).toBe('1.5h');
  });

  it('labels wall clock ticks as finely as their step', () => {
    const noon = new Date(2026, 2, 1, 12, 5, 7, 250).getTime();
    expect(formatClock(noon, 60_000)).toBe('12:05');
    expect(formatClock(noon, 5_000)).toBe('12:05:07');
    expect(formatClock(noon, 200)).toBe('12:05:07.250');
    expect(formatClock(noon, 864e5)).toBe('3/01');
  });
});

describe('the x axis', () => {
  const history = [point(2, 0.5, 10_000), point(0, 0.9, 1_000), point(1, 'NaN', 5_000)];

  it('is the step, the time since the first point, or the wall clock', () => {
    expect(plotPoints(history, 'step').map(p => p.x)).toEqual([0, 2]);
    expect(plotPoints(history, 'relative').map(p => p.x)).toEqual([0, 9_000]);
    expect(plotPoints(history, 'wall').map(p => p.x)).toEqual([1_000, 10_000]);
  });

  it('finds the point nearest the pointer', () => {
    const points = plotPoints([point(0, 1), point(5, 2), point(10, 3)], 'step');
    expect(nearestIndex(points, 6.9)).toBe(1);
    expect(nearestIndex(points, 9)).toBe(2);
    expect(nearestIndex([], 1)).toBe(-1);
  });
});

describe('a metric logged once', () => {
  it('is a single value, not a series', () => {
    expect(isSingleValue([point(0, 0.8)])).toBe(true);
    expect(isSingleValue([point(0, 0.8), point(1, 'NaN')])).toBe(true);
    expect(isSingleValue(undefined)).toBe(true);
    expect(isSingleValue([point(0, 0.8), point(1, 0.7)])).toBe(false);
  });

  it('shows as a number row while a history shows as a chart', async () => {
    const api = new FakeApi();
    api.run = async (id: string) => ({
      ...runRow(id, 'FINISHED', { metrics: { acc: 0.75, loss: 0.2 } }),
      inputs: [],
      artifacts: []
    });
    (api as any).metricHistory = async (runId: string, key: string) => ({
      run_id: runId,
      key,
      history: key === 'acc' ? [point(0, 0.75)] : [point(0, 0.9), point(1, 0.5), point(2, 0.2)]
    });
    const model = new RunDetailsModel(api, 'r1');
    await act(() => model.load());
    render(<RunDetails model={model} onBack={() => undefined} />);
    const row = dom.host.querySelector('table.jp-mlops-single-metrics tr[data-key="acc"] td');
    expect(row?.textContent).toBe('0.75');
    expect(dom.host.querySelector('svg.jp-mlops-chart[data-metric="acc"]')).toBeNull();
    const chart = dom.host.querySelector('svg.jp-mlops-chart[data-metric="loss"]');
    expect(chart?.querySelector('path.jp-mlops-chart-line')).not.toBeNull();
    // the toggle redraws the chart against time
    const relative = dom.host.querySelector('button.jp-mlops-x-mode[data-mode="relative"]');
    act(() => (relative as HTMLButtonElement).click());
    expect(
      dom.host.querySelector('svg.jp-mlops-chart[data-metric="loss"]')?.getAttribute('data-mode')
    ).toBe('relative');
  });
});

describe('MetricChart', () => {
  const history = [point(0, 0.9), point(1, 0.5), point(2, 0.3), point(3, 0.2)];

  it('draws axes with tick labels', () => {
    render(<MetricChart metric="loss" points={history} />);
    const labels = [...dom.host.querySelectorAll('.jp-mlops-chart-y-axis text')].map(
      t => t.textContent
    );
    expect(labels).toEqual(['0.2', '0.4', '0.6', '0.8', '1']);
    const xs = [...dom.host.querySelectorAll('.jp-mlops-chart-x-axis text')].map(
      t => t.textContent
    );
    expect(xs).toEqual(['0', '1', '2', '3']);
  });

  it('lays the largest value at the top and the first step at the left', () => {
    const layout = chartLayout(history, 'step', 300);
    expect(layout.py(1)).toBe(layout.top);
    expect(layout.px(0)).toBe(layout.left);
    expect(layout.px(3)).toBe(layout.right);
  });

  it('shows the step, value and time of the point under the pointer', () => {
    render(<MetricChart metric="loss" points={history} />);
    const svg = dom.host.querySelector('svg.jp-mlops-chart') as SVGSVGElement;
    svg.getBoundingClientRect = () => ({ left: 0, top: 0, width: 260, height: 132 }) as DOMRect;
    const layout = chartLayout(history, 'step', 260);
    act(() => {
      svg.dispatchEvent(
        new MouseEvent('mousemove', { bubbles: true, clientX: layout.px(2) + 1, clientY: 50 })
      );
    });
    expect(dom.host.querySelector('.jp-mlops-chart-guide')).not.toBeNull();
    const tip = dom.host.querySelector('.jp-mlops-chart-tooltip')?.textContent ?? '';
    expect(tip).toContain('step 2');
    expect(tip).toContain('value 0.3');
    expect(tip).toContain('(+2s)');
  });
});

describe('the artifact browser', () => {
  it('opens reports and notebooks, downloads the rest', () => {
    expect(artifactAction('eda/iris.html')).toBe('report');
    expect(artifactAction('checks/fit.HTM')).toBe('report');
    expect(artifactAction('notebook/train.ipynb')).toBe('notebook');
    expect(artifactAction('data/sample.csv')).toBe('download');
    expect(artifactAction('model/MLmodel')).toBe('download');
    expect(artifactAction('eda/iris.json')).toBe('download');
  });

  it('names files, sizes and tab titles', () => {
    expect(fileName('a/b/c.html')).toBe('c.html');
    expect(formatSize(812)).toBe('812 B');
    expect(formatSize(4300)).toBe('4.2 KB');
    expect(formatSize(null)).toBe('');
    expect(artifactTitle({ runId: 'r', runName: 'eda run', path: 'eda/iris.html' })).toBe(
      'eda run · iris.html'
    );
    expect(artifactSegments('a//b/c d.csv')).toEqual(['a', 'b', 'c d.csv']);
  });

  it('lists folders when expanded and renders names as text', async () => {
    const api = new FakeApi();
    api.folders = {
      '': [
        { name: 'eda', path: 'eda', is_dir: true, size: null },
        { name: XSS, path: XSS, is_dir: false, size: 10 },
        { name: 'sample.csv', path: 'sample.csv', is_dir: false, size: 2048 }
      ],
      eda: [{ name: 'iris.html', path: 'eda/iris.html', is_dir: false, size: 5000 }]
    };
    const model = new RunDetailsModel(api, 'r1');
    await act(() => model.load());
    const opened: string[] = [];
    const draw = () =>
      render(
        <ArtifactBrowser
          model={model}
          runName="run"
          urlOf={path => `/files/${path}`}
          onOpen={request => opened.push(request.path)}
        />
      );
    draw();
    expect(dom.host.querySelector('img')).toBeNull();
    const csv = dom.host.querySelector('li[data-path="sample.csv"] a');
    expect(csv?.getAttribute('download')).toBe('sample.csv');
    expect(csv?.getAttribute('href')).toBe('/files/sample.csv');
    expect(csv?.textContent).toContain('2 KB');
    const folder = dom.host.querySelector('li[data-path="eda"] button') as HTMLButtonElement;
    await act(async () => {
      folder.click();
      await new Promise(resolve => setTimeout(resolve, 0));
    });
    draw();
    expect(api.calls).toContain('artifacts:r1/eda');
    const report = dom.host.querySelector(
      'li[data-path="eda/iris.html"] button'
    ) as HTMLButtonElement;
    expect(report.closest('li')?.getAttribute('data-action')).toBe('report');
    act(() => report.click());
    expect(opened).toEqual(['eda/iris.html']);
  });
});

describe('a notebook snapshot', () => {
  it('keeps text sources and outputs, and says what is not a notebook', () => {
    const cells = snapshotCells({
      nbformat: 4,
      cells: [
        { cell_type: 'markdown', source: ['# Title\n', 'text'] },
        {
          cell_type: 'code',
          source: 'print(1)',
          execution_count: 3,
          outputs: [{ output_type: 'stream', name: 'stdout', text: '1\n' }, 'junk']
        }
      ]
    });
    expect(cells.map(c => [c.kind, c.source, c.executionCount, c.outputs.length])).toEqual([
      ['markdown', '# Title\ntext', null, 0],
      ['code', 'print(1)', 3, 1]
    ]);
    expect(() => snapshotCells({ nbformat: 3, worksheets: [] })).toThrow('format 3');
    expect(() => snapshotCells('nope')).toThrow('not a notebook');
  });
});

describe('media in a snapshot', () => {
  it('loses every URL that would fetch, keeps data: images and links', () => {
    const html = withoutRemoteMedia(
      '<img src="http://127.0.0.1:9/beacon" alt="b"><img src="data:image/png;base64,AA==">' +
        '<img src="files/x.png"><a href="https://example.org/doc">doc</a>' +
        '<p style="background:url(http://x/y)">t</p><video poster="http://x/p"></video>'
    );
    const body = new DOMParser().parseFromString(html, 'text/html').body;
    const sources = [...body.querySelectorAll('img')].map(img => img.getAttribute('src'));
    expect(sources).toEqual([null, 'data:image/png;base64,AA==', null]);
    expect(body.querySelector('a')?.getAttribute('href')).toBe('https://example.org/doc');
    expect(body.querySelector('p')?.getAttribute('style')).toBeNull();
    expect(body.querySelector('video')?.getAttribute('poster')).toBeNull();
  });
});
