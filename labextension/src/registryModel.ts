import { messageOf } from './request';
import { SectionModel } from './sectionModel';
import {
  IAliasHistory,
  IMlopsApi,
  IModelCard,
  IModelMonitoring,
  IModelVersion,
  IRegisteredModel,
  IVersionComparison
} from './tokens';

/** The newest versions of the opened model whose health is read (one request each). */
export const MAX_HEALTH_VERSIONS = 20;

/**
 * The Models section: registered models, the versions of the one opened, and
 * the model card of the version opened.
 */
export class RegistryModel extends SectionModel {
  /** @param _api - the REST API */
  constructor(private readonly _api: IMlopsApi) {
    super();
  }

  get models(): IRegisteredModel[] {
    return this._models;
  }

  /** The model whose versions are shown, if any. */
  get modelName(): string | null {
    return this._modelName;
  }

  /** Versions of the opened model, newest first. */
  get versions(): IModelVersion[] {
    return this._versions;
  }

  /** The version whose card is shown, if any. */
  get version(): number | null {
    return this._version;
  }

  /** The card of the opened version, once read. */
  get card(): IModelCard | null {
    return this._card;
  }

  /** Why the card could not be read (it may not have one). */
  get cardError(): string | null {
    return this._cardError;
  }

  /**
   * The health `monitor` recorded for `version` of the opened model: null
   * until read (and for versions past the newest `MAX_HEALTH_VERSIONS`).
   */
  health(version: number): IModelMonitoring | null {
    return this._health.get(version) ?? null;
  }

  /** Why the health of `version` could not be read. */
  healthError(version: number): string | null {
    return this._healthErrors.get(version) ?? null;
  }

  /** The versions ticked for comparison, in the order ticked (at most two). */
  get compared(): number[] {
    return this._compared;
  }

  /** The comparison of the two ticked versions (older as `a`), once read. */
  get comparison(): IVersionComparison | null {
    return this._comparison;
  }

  /** Why the comparison could not be read. */
  get comparisonError(): string | null {
    return this._comparisonError;
  }

  /**
   * Tick (or untick) `version` for comparison; a third tick replaces the
   * first. With two ticked, read their comparison, the older version as `a`.
   */
  async toggleCompare(version: number): Promise<void> {
    const name = this._modelName;
    if (name === null) {
      return;
    }
    const ticked = this._compared.includes(version)
      ? this._compared.filter(v => v !== version)
      : [...this._compared, version].slice(-2);
    this._compared = ticked;
    this._comparison = null;
    this._comparisonError = null;
    this.stateChanged.emit();
    if (ticked.length !== 2) {
      return;
    }
    const [a, b] = [...ticked].sort((x, y) => x - y);
    let comparison: IVersionComparison | null = null;
    let error: string | null = null;
    try {
      comparison = await this._api.compare(name, a, b);
    } catch (reason) {
      error = messageOf(reason);
    }
    if (this._modelName !== name || this._compared !== ticked) {
      return; // another model or other versions were chosen meanwhile
    }
    this._comparison = comparison;
    this._comparisonError = error;
    this.stateChanged.emit();
  }

  /** The alias history of the opened model, once read (rows oldest first). */
  get history(): IAliasHistory | null {
    return this._history;
  }

  /** Why the alias history could not be read. */
  get historyError(): string | null {
    return this._historyError;
  }

  /**
   * Re-read the models, and the versions of the opened one with their health
   * and its alias history.
   */
  async load(): Promise<void> {
    await this.guard(async () => {
      this._models = await this._api.models();
      const name = this._modelName;
      if (name !== null && this._models.some(m => m.name === name)) {
        this._versions = await this._api.versions(name);
      } else {
        this._closeModel();
      }
    });
    if (this._modelName !== null) {
      const name = this._modelName;
      await Promise.all([this._loadHealth(name), this._loadHistory(name)]);
    }
  }

  /** Show the versions of model `name` (again: hide them). */
  async toggleModel(name: string): Promise<void> {
    if (this._modelName === name) {
      this._closeModel();
      this.stateChanged.emit();
      return;
    }
    this._closeModel();
    this._modelName = name;
    await this.guard(async () => {
      const versions = await this._api.versions(name);
      if (this._modelName === name) {
        this._versions = versions;
      }
    });
    await Promise.all([this._loadHealth(name), this._loadHistory(name)]);
  }

  /** Show the model card of `version` of the opened model. */
  async openVersion(version: number): Promise<void> {
    const name = this._modelName;
    if (name === null) {
      return;
    }
    this._version = version;
    this._card = null;
    this._cardError = null;
    this.stateChanged.emit();
    try {
      const card = await this._api.modelCard(name, version);
      if (this._modelName === name && this._version === version) {
        this._card = card;
      }
    } catch (error) {
      this._cardError = messageOf(error);
    }
    this.stateChanged.emit();
  }

  /**
   * Point `alias` of the opened model at `version` (with the `reason` the
   * history records, if any), then re-read the list and the history. Errors
   * are thrown with the server's message for the form to show.
   */
  async setAlias(alias: string, version: number, reason?: string): Promise<IModelVersion> {
    const name = this._modelName;
    if (name === null) {
      throw new Error('open a model first');
    }
    const row = await this._api.setAlias(name, alias, version, reason);
    await this.load();
    return row;
  }

  /** Read the alias history of model `name`; a failure keeps its message. */
  private async _loadHistory(name: string): Promise<void> {
    let history: IAliasHistory | null = null;
    let error: string | null = null;
    try {
      history = await this._api.history(name);
    } catch (reason) {
      error = messageOf(reason);
    }
    if (this._modelName !== name) {
      return;
    }
    this._history = history;
    this._historyError = error;
    this.stateChanged.emit();
  }

  /**
   * Read the health of the newest versions of model `name`, all at once; a
   * version whose read fails keeps its message, the others still show.
   */
  private async _loadHealth(name: string): Promise<void> {
    const versions = this._versions.slice(0, MAX_HEALTH_VERSIONS).map(v => v.version);
    if (this._modelName !== name || versions.length === 0) {
      return;
    }
    const health = new Map<number, IModelMonitoring>();
    const errors = new Map<number, string>();
    await Promise.all(
      versions.map(version =>
        this._api.monitoring(name, version).then(
          answer => void health.set(version, answer),
          error => void errors.set(version, messageOf(error))
        )
      )
    );
    if (this._modelName !== name) {
      return;
    }
    this._health = health;
    this._healthErrors = errors;
    this.stateChanged.emit();
  }

  private _closeModel(): void {
    this._modelName = null;
    this._versions = [];
    this._version = null;
    this._card = null;
    this._cardError = null;
    this._health = new Map();
    this._healthErrors = new Map();
    this._history = null;
    this._historyError = null;
    this._compared = [];
    this._comparison = null;
    this._comparisonError = null;
  }

  private _models: IRegisteredModel[] = [];
  private _modelName: string | null = null;
  private _versions: IModelVersion[] = [];
  private _version: number | null = null;
  private _card: IModelCard | null = null;
  private _cardError: string | null = null;
  private _health = new Map<number, IModelMonitoring>();
  private _healthErrors = new Map<number, string>();
  private _history: IAliasHistory | null = null;
  private _historyError: string | null = null;
  private _compared: number[] = [];
  private _comparison: IVersionComparison | null = null;
  private _comparisonError: string | null = null;
}
