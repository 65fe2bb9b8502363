import { ServerConnection } from '@jupyterlab/services';

import { ApiError, apiUrl, requestAPI } from '../src/request';

/** Server settings whose `fetch` answers `reply` and records each request. */
function settingsAnswering(reply: () => Response): {
  settings: ServerConnection.ISettings;
  requests: Request[];
} {
  const requests: Request[] = [];
  const fetch = (async (request: Request) => {
    requests.push(request);
    return reply();
  }) as unknown as typeof window.fetch;
  const settings = ServerConnection.makeSettings({
    baseUrl: 'http://localhost:8888/base/',
    token: 'secret',
    fetch
  });
  return { settings, requests };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' }
  });
}

/** The error a request failed with. */
async function rejection(request: Promise<unknown>): Promise<ApiError> {
  try {
    await request;
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return error as ApiError;
  }
  throw new Error('the request succeeded');
}

describe('apiUrl', () => {
  it('puts routes under mlops/api and encodes each part as one segment', () => {
    const url = apiUrl('http://localhost:8888/base/', ['runs', 'abc123', 'metrics', 'train/loss']);
    expect(url).toBe('http://localhost:8888/base/mlops/api/runs/abc123/metrics/train%2Floss');
  });

  it('encodes characters that would end the path', () => {
    const url = apiUrl('/', ['models', 'churn model?#%', 'aliases']);
    expect(url).toBe('/mlops/api/models/churn%20model%3F%23%25/aliases');
  });

  it('leaves out empty query values and encodes the rest', () => {
    const url = apiUrl('/', ['runs'], {
      experiment_id: '1',
      max_results: 50,
      page_token: undefined,
      other: null
    });
    expect(url).toBe('/mlops/api/runs?experiment_id=1&max_results=50');
    expect(apiUrl('/', ['runs'], { page_token: 'a b&c=' })).toBe(
      '/mlops/api/runs?page_token=a%20b%26c%3D'
    );
  });

  it('refuses parts a URL parser would drop or resolve', () => {
    for (const bad of ['', '.', '..']) {
      expect(() => apiUrl('/', ['models', bad])).toThrow(ApiError);
    }
  });
});

describe('requestAPI', () => {
  it('sends JSON with the token and parses the answer', async () => {
    const { settings, requests } = settingsAnswering(() => json(200, { ok: true }));
    const reply = await requestAPI<{ ok: boolean }>(['data'], {
      method: 'POST',
      body: { path: 'data/train.csv' },
      settings
    });
    expect(reply).toEqual({ ok: true });
    const [request] = requests;
    // JupyterLab adds a cache buster (`?<time>`) to every request
    expect(request.url).toMatch(/^http:\/\/localhost:8888\/base\/mlops\/api\/data(\?\d+)?$/);
    expect(request.method).toBe('POST');
    expect(request.headers.get('Authorization')).toBe('token secret');
    expect(await request.json()).toEqual({ path: 'data/train.csv' });
  });

  it("turns a JSON error into an ApiError with the server's message and status", async () => {
    const { settings } = settingsAnswering(() =>
      json(404, { error: 'not_found', message: "no registered model named 'x'" })
    );
    const error = await rejection(requestAPI(['models', 'x'], { settings }));
    expect(error.message).toBe("no registered model named 'x'");
    expect(error.status).toBe(404);
    expect(error.code).toBe('not_found');
  });

  it('names the status when the error body is not JSON', async () => {
    const { settings } = settingsAnswering(
      () => new Response('<html>Bad Gateway</html>', { status: 502, statusText: 'Bad Gateway' })
    );
    const error = await rejection(requestAPI(['status'], { settings }));
    expect(error.status).toBe(502);
    expect(error.message).toBe('the server answered 502 Bad Gateway');
  });

  it('reports an unreachable server as status 0', async () => {
    const settings = ServerConnection.makeSettings({
      baseUrl: 'http://localhost:8888/',
      fetch: (() => Promise.reject(new TypeError('Failed to fetch'))) as any
    });
    const error = await rejection(requestAPI(['status'], { settings }));
    expect(error.status).toBe(0);
    expect(error.message).toContain('cannot reach the Jupyter server');
  });
});
