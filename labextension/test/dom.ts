/**
 * The DOM a component spec renders into: a fresh host element and React root
 * for each test, unmounted after it.
 */
import * as React from 'react';
import { act } from 'react';
import { createRoot, Root } from 'react-dom/client';

(globalThis as any).IS_REACT_ACT_ENVIRONMENT = true;

export interface IDom {
  /** The element the test's components render into. */
  readonly host: HTMLDivElement;
  /** Render `element` into the host, its effects run. */
  render(element: React.ReactElement): void;
}

/** Call at the top of a spec (or a `describe`): each test gets its own host. */
export function useDom(): IDom {
  let host: HTMLDivElement;
  let root: Root;
  beforeEach(() => {
    host = document.createElement('div');
    document.body.appendChild(host);
    root = createRoot(host);
  });
  afterEach(() => {
    act(() => root.unmount());
    host.remove();
  });
  return {
    get host() {
      return host;
    },
    render(element: React.ReactElement): void {
      act(() => root.render(element));
    }
  };
}
