import { SectionModel } from './sectionModel';
import { IDataAdded, IDataStatus, IMlopsApi } from './tokens';

/** The Data section: DVC-tracked paths of the project and where each stands. */
export class DataModel extends SectionModel {
  /** @param _api - the REST API */
  constructor(private readonly _api: IMlopsApi) {
    super();
  }

  /** The last status read, if any. */
  get status(): IDataStatus | null {
    return this._status;
  }

  /** Tracked paths and their states, sorted by path. */
  get paths(): [string, string][] {
    const paths = Object.entries(this._status?.paths ?? {});
    return paths.sort(([a], [b]) => a.localeCompare(b));
  }

  /** Re-read the tracked paths. */
  async load(): Promise<void> {
    await this.guard(async () => {
      this._status = await this._api.data();
    });
  }

  /**
   * Version `path` (relative to the server's root) with DVC, then re-read the
   * list. Errors are thrown with the server's message for the caller to show.
   */
  async add(path: string): Promise<IDataAdded> {
    const added = await this._api.addData(path);
    await this.load();
    return added;
  }

  private _status: IDataStatus | null = null;
}
