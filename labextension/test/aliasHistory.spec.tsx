import * as React from 'react';
import { act } from 'react';

import { AliasForm } from '../src/components/AliasForm';
import { AliasHistory, gateText, MAX_SHOWN, moveText } from '../src/components/AliasHistory';
import { RegistryModel } from '../src/registryModel';
import { IAliasMove } from '../src/tokens';
import { FakeApi } from './fakeApi';
import { useDom } from './dom';

const XSS = '<img src=x onerror=alert(1)>';

function move(extra: Partial<IAliasMove>): IAliasMove {
  return {
    time: '2026-03-01T09:30:00.000000+00:00',
    alias: 'champion',
    previous: null,
    version: 1,
    moved: true,
    user: 'ana',
    reason: '',
    gate: null,
    forced: false,
    via: 'api',
    note: '',
    run_id: 'r1',
    ...extra
  };
}

const FIRST = move({ reason: 'first champion' });
const GATED = move({
  time: '2026-03-08T09:30:00.000000+00:00',
  previous: 1,
  version: 2,
  user: XSS,
  reason: XSS,
  via: 'retrain',
  forced: true,
  gate: {
    passed: false,
    scoring: 'roc_auc',
    challenger: 2,
    champion: 1,
    challenger_score: 0.8123456,
    champion_score: 0.9,
    reasons: ['roc_auc 0.8123 is below the champion 0.9000 minus 0', 42]
  },
  run_id: 'r2'
});
const OUTSIDE = move({
  time: null,
  previous: 2,
  version: 3,
  user: '',
  via: '',
  note: 'moved outside jupyter-mlops, time unknown',
  run_id: null
});

const dom = useDom();
const render = dom.render;

describe('AliasHistory', () => {
  it('lists the moves newest first, every value as text', () => {
    const history = { name: 'm', rows: [FIRST, GATED, OUTSIDE], truncated: false };
    render(<AliasHistory history={history} error={null} />);
    expect(dom.host.querySelector('h3')?.textContent).toContain('newest first');
    const rows = [...dom.host.querySelectorAll('li.jp-mlops-history-row')];
    expect(rows.map(r => r.getAttribute('data-run-id'))).toEqual(['', 'r2', 'r1']);
    expect(dom.host.querySelector('img')).toBeNull();
    expect(dom.host.querySelector('script')).toBeNull();
    const gated = rows[1];
    expect(gated.querySelector('.jp-mlops-history-move')?.textContent).toBe('champion: v1 → v2');
    expect(gated.querySelector('.jp-mlops-history-user')?.textContent).toBe(XSS);
    expect(gated.querySelector('.jp-mlops-history-reason')?.textContent).toBe(XSS);
    expect(gated.querySelector('.jp-mlops-history-via')?.textContent).toBe('retrain');
    expect(gated.querySelector('.jp-mlops-history-forced')?.textContent).toBe('forced');
    expect(gated.querySelector('.jp-mlops-history-gate')?.textContent).toBe(
      'gate refused · roc_auc: challenger v2 0.8123, champion v1 0.9000' +
        'roc_auc 0.8123 is below the champion 0.9000 minus 0'
    );
    expect(gated.querySelector('.jp-mlops-history-gate-reasons')?.textContent).toBe(
      'roc_auc 0.8123 is below the champion 0.9000 minus 0'
    );
    const time = gated.querySelector('time');
    expect(time?.getAttribute('title')).toBe('2026-03-08T09:30:00.000000+00:00 (UTC)');
    expect(time?.getAttribute('dateTime')).toBe('2026-03-08T09:30:00.000000+00:00');
    const outside = rows[0];
    expect(outside.querySelector('.jp-mlops-history-time')?.textContent).toBe('time unknown');
    expect(outside.querySelector('.jp-mlops-history-note')?.textContent).toContain(
      'moved outside jupyter-mlops'
    );
    expect(outside.querySelector('.jp-mlops-history-who')).toBeNull();
    expect(rows[2].querySelector('.jp-mlops-history-gate')).toBeNull();
    expect(rows[2].querySelector('.jp-mlops-history-forced')).toBeNull();
  });

  it('lists the newest moves of a long history and says how many are left', () => {
    const rows = Array.from({ length: MAX_SHOWN + 5 }, (_, i) =>
      move({ run_id: `r${i}`, version: i + 1 })
    );
    render(<AliasHistory history={{ name: 'm', rows, truncated: false }} error={null} />);
    const shown = dom.host.querySelectorAll('li.jp-mlops-history-row');
    expect(shown.length).toBe(MAX_SHOWN);
    expect(shown[0].getAttribute('data-run-id')).toBe(`r${MAX_SHOWN + 4}`);
    expect(dom.host.querySelector('.jp-mlops-history-older')?.textContent).toBe(
      'and 5 older moves: mlops.alias_history("m") lists them all'
    );
  });

  it('says when nothing was recorded, while it reads, and why it failed', () => {
    render(<AliasHistory history={{ name: 'm', rows: [], truncated: false }} error={null} />);
    expect(dom.host.textContent).toContain('no alias moves recorded yet');
    render(<AliasHistory history={{ name: 'm', rows: [FIRST], truncated: true }} error={null} />);
    expect(dom.host.textContent).toContain('its oldest moves are left out');
    render(<AliasHistory history={null} error={null} />);
    expect(dom.host.textContent).toContain('reading history');
    render(<AliasHistory history={null} error="store unreachable" />);
    expect(dom.host.querySelector('[role="alert"]')?.textContent).toBe('store unreachable');
  });

  it('reads a gate record others may have written without guessing', () => {
    expect(gateText({ result: 'passed', challenger_score: 0.5 })).toEqual({
      result: 'passed',
      passed: true,
      scores: 'challenger 0.5000',
      reasons: ''
    });
    expect(
      gateText({ passed: 'yes', challenger_score: { x: 1 }, scoring: ['a'], reasons: 'x' })
    ).toEqual({
      result: 'decision unreadable',
      passed: null,
      scores: '',
      reasons: ''
    });
    expect(gateText({ result: 'forced', champion_score: null }).passed).toBeNull();
    expect(moveText(move({ moved: false, previous: 4, version: 4 }))).toBe('champion: stays v4');
    expect(moveText(move({ previous: 4, version: null }))).toBe('champion: v4 → none');
  });
});

describe('AliasForm reason', () => {
  it('sends the reason typed with the alias, none when left empty', async () => {
    const onSubmit = jest.fn(async (alias: string, version: number) => ({
      name: 'm',
      version,
      aliases: [alias]
    }));
    const versions = [{ name: 'm', version: 1, aliases: [] }];
    render(<AliasForm versions={versions} version={null} onSubmit={onSubmit} />);
    const type = (selector: string, value: string) => {
      const field = dom.host.querySelector(selector) as HTMLInputElement | HTMLTextAreaElement;
      const proto = Object.getPrototypeOf(field);
      Object.getOwnPropertyDescriptor(proto, 'value')!.set!.call(field, value);
      field.dispatchEvent(new Event('input', { bubbles: true }));
    };
    const submit = async () => {
      await act(async () => {
        dom.host.querySelector('form')!.dispatchEvent(new Event('submit', { bubbles: true }));
      });
    };
    act(() => type('input.jp-mlops-alias-input', 'champion'));
    act(() => type('textarea.jp-mlops-alias-reason', '  better on March  '));
    await submit();
    expect(onSubmit).toHaveBeenLastCalledWith('champion', 1, 'better on March');
    expect((dom.host.querySelector('textarea') as HTMLTextAreaElement).value).toBe('');
    act(() => type('input.jp-mlops-alias-input', 'staging'));
    await submit();
    expect(onSubmit).toHaveBeenLastCalledWith('staging', 1, undefined);
  });
});

describe('RegistryModel alias history', () => {
  it('reads the history with the versions, and again after a move', async () => {
    const api = new FakeApi();
    api.versions = async () => [{ name: 'm', version: 1, aliases: [] }];
    api.models = async () => [{ name: 'm', latest_version: 1, aliases: {}, versions: 1 }];
    api.moves = [FIRST];
    const model = new RegistryModel(api);
    await model.toggleModel('m');
    expect(model.history?.rows).toEqual([FIRST]);
    api.moves = [FIRST, GATED];
    await model.setAlias('champion', 1, 'why');
    expect(api.calls).toContain('setAlias:m/champion/1/why');
    expect(model.history?.rows).toEqual([FIRST, GATED]);
    expect(api.calls.filter(c => c === 'history:m').length).toBe(2);
    await model.toggleModel('m'); // closed: nothing kept
    expect(model.history).toBeNull();
  });

  it('keeps the message when the history cannot be read', async () => {
    const api = new FakeApi();
    api.versions = async () => [{ name: 'm', version: 1, aliases: [] }];
    api.history = async () => {
      throw new Error('store unreachable');
    };
    const model = new RegistryModel(api);
    await model.toggleModel('m');
    expect(model.history).toBeNull();
    expect(model.historyError).toBe('store unreachable');
  });
});
