import { MlopsModel } from '../src/model';
import { RunsModel } from '../src/runsModel';
import { FakeApi, runRow } from './fakeApi';

const LIVE = { interval: 20, max: 200 };
const IDLE = { interval: 50, max: 500 };

function runsCalls(api: FakeApi, id = '1'): number {
  return api.calls.filter(call => call === `runs:${id}`).length;
}

describe('RunsModel', () => {
  let api: FakeApi;
  let visible: boolean;
  let model: RunsModel;

  beforeEach(() => {
    api = new FakeApi();
    api.pages['1'] = { runs: [runRow('a1', 'RUNNING')], next_page_token: null };
    visible = false;
    model = new RunsModel({
      api,
      standby: () => !visible || 'when-hidden',
      live: LIVE,
      idle: IDLE
    });
  });

  afterEach(() => model.dispose());

  it('picks the newest experiment that has runs', async () => {
    await model.load();
    // experiment 2 is newer but empty
    expect(model.experimentId).toBe('1');
    expect(model.runs.map(run => run.run_id)).toEqual(['a1']);
  });

  it('falls back to the first experiment when none has runs', async () => {
    api.pages = {};
    await model.load();
    expect(model.experimentId).toBe('2');
  });

  it('stands by while the panel is hidden and refreshes once it is shown', async () => {
    await model.load();
    expect(model.hasLive).toBe(true);
    expect(model.poll.frequency.interval).toBe(LIVE.interval);
    const loaded = runsCalls(api);

    await model.poll.tick;
    expect(model.poll.state.phase).toBe('standby');
    await model.poll.tick;
    expect(model.poll.state.phase).toBe('standby');
    expect(runsCalls(api)).toBe(loaded);

    visible = true;
    await model.poll.tick;
    expect(model.poll.state.phase).toBe('resolved');
    expect(runsCalls(api)).toBe(loaded + 1);
  });

  it('polls slowly once no run is live', async () => {
    visible = true;
    await model.load();
    expect(model.poll.frequency.interval).toBe(LIVE.interval);
    api.pages['1'] = { runs: [runRow('a1', 'FINISHED')], next_page_token: null };
    await model.poll.tick;
    expect(model.runs[0].status).toBe('FINISHED');
    expect(model.hasLive).toBe(false);
    expect(model.poll.frequency.interval).toBe(IDLE.interval);
  });

  it('backs off and shows the message when the server fails', async () => {
    visible = true;
    await model.load();
    api.runs = () => Promise.reject(new Error('the store is locked'));
    // the backoff is drawn between the interval and 3 times the last one: draw the top
    const random = jest.spyOn(Math, 'random').mockReturnValue(0.999);
    try {
      await model.poll.tick;
    } finally {
      random.mockRestore();
    }
    expect(model.poll.state.phase).toBe('rejected');
    expect(model.poll.state.interval).toBe(3 * LIVE.interval);
    expect(model.error).toBe('the store is locked');
  });

  it('keeps ticked runs for comparison and opens one in details', async () => {
    api.pages['1'] = {
      runs: [runRow('a1', 'FINISHED'), runRow('b2', 'FINISHED'), runRow('c3', 'FAILED')],
      next_page_token: null
    };
    await model.load();
    model.toggleSelected('a1');
    model.show('compare');
    expect(model.view).toBe('list'); // needs two runs
    model.toggleSelected('c3');
    model.show('compare');
    expect(model.view).toBe('compare');
    expect(model.selectedRuns.map(run => run.run_id)).toEqual(['a1', 'c3']);
    await model.openRun('b2');
    expect(model.view).toBe('details');
    expect(model.details?.run?.run_id).toBe('b2');
  });
});

describe('MlopsModel', () => {
  it('stands the runs poll by while another section is shown', async () => {
    const api = new FakeApi();
    const model = new MlopsModel({ api, standby: () => false });
    const standby = model.runs.poll.standby as () => boolean | string;
    expect(standby()).toBe(false);
    await model.show('data');
    expect(standby()).toBe(true);
    expect(model.isLoaded('data')).toBe(true);
    model.dispose();
  });
});
