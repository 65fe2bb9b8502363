import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** Where the REST API lives under the server's base URL. */
export const API_NAMESPACE = ['mlops', 'api'];

/**
 * An error answered by the REST API (`{"error": code, "message": line}`), or a
 * response that was not one of its JSON answers.
 */
export class ApiError extends Error {
  /**
   * @param message - the server's one-line message
   * @param status - the HTTP status (0 when the server could not be reached)
   * @param code - the server's short code, such as `not_found`
   */
  constructor(
    message: string,
    readonly status: number,
    readonly code: string
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * The URL of an API route: every part is one path segment, percent-encoded
 * (a metric key's `/` or a model name's `?` stay inside their segment).
 */
export function apiUrl(
  baseUrl: string,
  parts: ReadonlyArray<string>,
  query: requestAPI.Query = {}
): string {
  const encoded = parts.map(part => {
    if (part === '' || part === '.' || part === '..') {
      // URL parsers would drop or resolve these segments
      throw new ApiError(`${JSON.stringify(part)} is not a valid name`, 400, 'bad_request');
    }
    return encodeURIComponent(part);
  });
  const search = Object.entries(query)
    .filter(([, value]) => value !== undefined && value !== null)
    .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map(one => [k, String(one)])) // a list: repeated
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  const url = URLExt.join(baseUrl, ...API_NAMESPACE, ...encoded);
  return search ? `${url}?${search}` : url;
}

/**
 * Call a route of the REST API and return its JSON answer.
 *
 * @param parts - the route's path segments, such as `['runs', runId]`
 * @param options - method, JSON body, query and server settings
 * @returns the parsed answer
 * @throws ApiError carrying the server's message and status when the answer is
 * not a 2xx, or when the server cannot be reached
 */
export async function requestAPI<T>(
  parts: ReadonlyArray<string>,
  options: requestAPI.IOptions = {}
): Promise<T> {
  const settings = options.settings ?? ServerConnection.makeSettings();
  const url = apiUrl(settings.baseUrl, parts, options.query);
  const init: RequestInit = { method: options.method ?? 'GET' };
  if (options.body !== undefined) {
    init.body = JSON.stringify(options.body);
    init.headers = { 'Content-Type': 'application/json' };
  }
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ApiError(
      `cannot reach the Jupyter server: ${(error as Error).message}`,
      0,
      'network_error'
    );
  }
  const text = await response.text();
  let data: any = undefined;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: reported below with the status
  }
  if (!response.ok) {
    throw errorFrom(response, data);
  }
  if (data === undefined) {
    throw new ApiError(`the server answered ${url} with no JSON`, response.status, 'bad_response');
  }
  return data as T;
}

/** The `ApiError` for a non-2xx answer, JSON (`{error, message}`) or not. */
function errorFrom(response: Response, data: any): ApiError {
  if (data && typeof data.message === 'string') {
    const code = typeof data.error === 'string' ? data.error : 'error';
    return new ApiError(data.message, response.status, code);
  }
  const reason = response.statusText || 'error';
  return new ApiError(`the server answered ${response.status} ${reason}`, response.status, 'error');
}

/** The one line to show for an error: the server's message when it sent one. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) {
    return error.message;
  }
  return String(error);
}

/** Options of `requestAPI`. */
export namespace requestAPI {
  /** Query parameters; `undefined` and `null` values are left out, a list repeats its name. */
  export type Query = Record<string, string | number | string[] | null | undefined>;

  /** How to call a route. */
  export interface IOptions {
    /** The HTTP verb (default `GET`). */
    method?: 'GET' | 'POST';
    /** A JSON body. */
    body?: unknown;
    /** Query parameters. */
    query?: Query;
    /** Server settings (default: `ServerConnection.makeSettings()`). */
    settings?: ServerConnection.ISettings;
  }
}
