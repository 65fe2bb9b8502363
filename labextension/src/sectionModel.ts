import { VDomModel } from '@jupyterlab/ui-components';

import { messageOf } from './request';

/**
 * What every section's model has: a loading flag and the last error, set
 * around each request by `guard`.
 */
export abstract class SectionModel extends VDomModel {
  /** Whether a request is under way. */
  get loading(): boolean {
    return this.busy;
  }

  /** The server's message for the last request that failed, if it failed. */
  get error(): string | null {
    return this.failure;
  }

  /**
   * Run `work` with the loading flag set; an error it throws becomes `error`
   * (and a success clears it). Emits `stateChanged` before and after.
   */
  protected async guard(work: () => Promise<void>): Promise<void> {
    this.busy = true;
    this.stateChanged.emit();
    try {
      await work();
      this.failure = null;
    } catch (error) {
      this.failure = messageOf(error);
    } finally {
      this.busy = false;
      this.stateChanged.emit();
    }
  }

  protected busy = false;
  protected failure: string | null = null;
}
