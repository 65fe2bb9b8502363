"""Every tag and artifact name jupyter-mlops writes or reads, spelled once.

A record is only as true as the names it is read back by: the runner, the panel, the model card
and ``reproduce`` all read what tracking and promotion wrote, so each name lives here and
nowhere else. MLflow's own tags keep MLflow's names (the constants of
``mlflow.utils.mlflow_tags``, restated here so that importing this module stays free of MLflow;
a test holds them equal). Pure constants and string helpers: importable from anywhere.
"""

from __future__ import annotations

# -- MLflow's own tags (mlflow.utils.mlflow_tags) -----------------------------------------------
MLFLOW_PREFIX = "mlflow."
MLFLOW_USER = "mlflow.user"
MLFLOW_PARENT_RUN_ID = "mlflow.parentRunId"
MLFLOW_RUN_NOTE = "mlflow.note.content"
MLFLOW_SOURCE_PREFIX = "mlflow.source."
MLFLOW_SOURCE_NAME = "mlflow.source.name"
MLFLOW_SOURCE_TYPE = "mlflow.source.type"
MLFLOW_GIT_COMMIT = "mlflow.source.git.commit"
MLFLOW_GIT_BRANCH = "mlflow.source.git.branch"
MLFLOW_GIT_REPO_URL = "mlflow.source.git.repoURL"
MLFLOW_DATASET_CONTEXT = "mlflow.data.context"  # an input's tag: "train", "eval", ...

# -- ours, on runs --------------------------------------------------------------------------
PREFIX = "mlops."
ERROR = "mlops.error"  # the failure's summary (the traceback is an artifact: ERROR_ARTIFACT)
ARTIFACTS_ERROR = "mlops.artifacts_error"  # why a run's error/notebook files are missing
KILLED_REASON = "mlops.killed_reason"
RUNNER = "mlops.runner"  # "jupyter-mlops run", "jupyter-mlops sweep", "jupyter-mlops reproduce"
PARAMETERS = "mlops.parameters"  # the injected values as Python literals (JSON object)
UNKNOWN_PARAMETERS = "mlops.unknown_parameters"  # JSON list: given, not in the parameters cell
FAILED_CELL = "mlops.failed_cell"
STOPPED_CELL = "mlops.stopped_cell"  # the cell whose sys.exit(0) ended a run early, cleanly
HTML_ERROR = "mlops.html_error"  # why the executed notebook has no HTML copy
KERNEL_CWD = "mlops.cwd"  # the batch kernel's working directory, when not the notebook's folder

GIT_PREFIX = "mlops.git."
GIT_COMMIT = "mlops.git.commit"
GIT_DIRTY = "mlops.git.dirty"
NOTEBOOK_PREFIX = "mlops.notebook."
NOTEBOOK_PATH = "mlops.notebook.path"
PYTHON_VERSION = "mlops.python.version"
PYTHON_EXECUTABLE = "mlops.python.executable"
PLATFORM = "mlops.platform"
PACKAGES = "mlops.packages"  # JSON {distribution: version}
PROCESS_PID = "mlops.process.pid"
PROCESS_HOST = "mlops.process.host"
PROCESS_STARTED = "mlops.process.started"
CODE_TAG_PREFIXES = (MLFLOW_SOURCE_PREFIX, NOTEBOOK_PREFIX, GIT_PREFIX, MLFLOW_USER)

DATA_PREFIX = "mlops.data."  # + a DVC-tracked path: its md5

CANDIDATE = "mlops.candidate"  # "true" on a run that records one autologged fit
ESTIMATOR = "mlops.estimator"  # the fitted class, module.qualname

SWEEP_INDEX = "mlops.sweep.index"
SWEEP_SIZE = "mlops.sweep.size"
SWEEP_WORKERS = "mlops.sweep.workers"
SWEEP_FAILED = "mlops.sweep.failed"
SWEEP_BEST_RUN_ID = "mlops.sweep.best_run_id"
SWEEP_BEST_METRIC = "mlops.sweep.best_metric"
SWEEP_BEST_VALUE = "mlops.sweep.best_value"
SWEEP_BEST_DIRECTION = "mlops.sweep.best_direction"

SEGMENT = "mlops.segment"  # on a segment's child run: its value
SEGMENT_BY = "mlops.segment.by"
SEGMENT_MODEL = "mlops.segment.model"  # "own" or "fallback"
SEGMENT_NOTE = "mlops.segment.note"
SEGMENTS_BY = "mlops.segments.by"  # on the parent run
SEGMENTS_ESTIMATOR = "mlops.segments.estimator"
SEGMENTS_SCORING = "mlops.segments.scoring"

REPRODUCES = "mlops.reproduces"  # on the new run: the id of the run it reproduces
REPRODUCE_VERDICT = "mlops.reproduce.verdict"  # same, differs or failed
REPRODUCE_CODE = "mlops.reproduce.code"  # "commit" (the committed notebook) or "snapshot"

PROMOTED_PREFIX = "mlops.promoted."  # + the model's name: VERSION or VERSION@ALIAS

# summary tags of the reports: mlops.<kind>.<report name>.<suffix>
REPORT_KINDS = ("eda", "checks", "drift", "explain")

# -- ours, on registered versions ----------------------------------------------------------------
RUN_ID = "mlops.run_id"
VERIFIED = "mlops.verified"
PROMOTED_BY = "mlops.promoted_by"  # the user the store authenticated for the promotion
VERIFIED_ROWS = "mlops.verified_rows"
MODEL_CLASS = "mlops.model.class"
MODEL_PARAMS = "mlops.model.params"
CANDIDATE_RUN_ID = "mlops.candidate_run_id"
ALIAS_HELD = "mlops.alias.held"  # on a version registered where aliases are held
ARTIFACT_SHA256 = "mlops.artifact.sha256"  # {file: sha256} JSON, or the manifest's own digest

# -- artifact names -----------------------------------------------------------------------------
MODEL_CARD = "MODEL_CARD.md"
CONTRACT = "contract.json"
DIGEST_MANIFEST = "mlops_sha256.json"
ERROR_ARTIFACT = "error/traceback.txt"
CELLS_ARTIFACT = "notebook/cells.py"
NOTEBOOK_FOLDER = "notebook"  # notebook/<stem>.ipynb and .html: the executed notebook
DVC_FOLDER = "dvc"  # dvc/<file>.dvc: the .dvc files of the data a run used
SWEEP_SUMMARY = "sweep/summary"  # .json and .csv
SEGMENTS_SUMMARY = "segments/summary"  # .json and .html
REFERENCE_FOLDER = "reference"  # in a promoted model: the training reference monitor reads
REFERENCE_PROFILE = "reference/profile.json"  # per-column bins, levels, null rates
REFERENCE_SAMPLE = "reference/sample.parquet"  # a seeded sample of X with its predictions

# -- monitoring: one run per window, in the experiment monitoring_experiment(model name) -------
MONITOR_RUN = "mlops.monitor"  # "true" on a monitoring run
MONITOR_MODEL = "mlops.monitor.model"  # the registered name monitored
MONITOR_VERSION = "mlops.monitor.version"  # its version number, as text
MONITOR_WINDOW_START = "mlops.monitor.window_start"  # ISO 8601 UTC, inclusive
MONITOR_WINDOW_END = "mlops.monitor.window_end"  # ISO 8601 UTC, exclusive
MONITOR_VERDICT = "mlops.monitor.verdict"  # "drifted", "stable", "inconclusive" or "empty"
MONITOR_DRIFTED = "mlops.monitor.drifted"  # JSON list of the input columns that drifted
MONITOR_PREDICTION_DRIFTED = "mlops.monitor.prediction_drifted"  # "true" or "false"
MONITOR_ROWS = "rows"  # metric: logged rows in the window
MONITOR_VIOLATION_RATE = "violation_rate"  # metric: share of rows out of contract, worst column
MONITOR_DRIFTED_COUNT = "drifted_columns"  # metric: how many input columns drifted
MONITOR_DRIFT_ROWS = "drift_rows"  # metric: window rows drift compared (a seeded subsample)
MONITOR_REPORT = "monitor/drift"  # artifacts: monitor/drift.json and monitor/drift.html

# -- alias history: one run per alias move (or gate refusal), in audit_experiment(model name) ---
AUDIT_RUN = "mlops.audit"  # "alias" on an alias history run
AUDIT_MODEL = "mlops.audit.model"  # the registered name
AUDIT_ALIAS = "mlops.audit.alias"
AUDIT_PREVIOUS = "mlops.audit.previous"  # the version that held the alias before, "" for none
AUDIT_VERSION = "mlops.audit.version"  # the version that holds it after ("" when removed)
AUDIT_MOVED = "mlops.audit.moved"  # "true", or "false" for a gate that refused (a decision)
AUDIT_TIME = "mlops.audit.time"  # ISO 8601 UTC with microseconds: when the move was made
AUDIT_USER = "mlops.audit.user"  # who moved it
AUDIT_REASON = "mlops.audit.reason"  # what they gave as the reason ("" for none)
AUDIT_VIA = "mlops.audit.via"  # api, magic, cli, rest, promote, gate, retrain
AUDIT_FORCED = "mlops.audit.forced"  # "true" when a guard or a gate was overridden
AUDIT_GATE = "mlops.audit.gate"  # the gate's decision (JSON: result, scores, scorer, reason)
AUDIT_SOURCE_RUN = "mlops.audit.source_run"  # the run whose promotion or retrain moved it
AUDIT_ERROR = "mlops.audit.error"  # on a FAILED history run: why the registry refused the move
AUDIT_SERVER_USER = "mlops.audit.server_user"  # the account the server authenticated, when the
# user who asked (the Jupyter user behind the panel) is someone else: both are true, both kept

# -- the gate's decision, on the challenger's registered version --------------------------------
GATE_RESULT = "mlops.gate.result"  # "passed", "refused" or "forced"
GATE_DECISION = "mlops.gate.decision"  # JSON: scorer, both scores, tolerance, reasons, eval data
GATE_CHAMPION = "mlops.gate.champion"  # models:/NAME/VERSION it was judged against

# -- retraining, on the run that re-ran the champion's notebook -----------------------------------
RETRAIN_OF = "mlops.retrain.of"  # models:/NAME/VERSION: the champion whose notebook was re-run
RETRAIN_ALIAS = "mlops.retrain.alias"  # the alias the challenger is to take
RETRAIN_RUN = "mlops.retrain.run"  # the champion's run, whose notebook and parameters were used


def audit_experiment(model_name: str) -> str:
    """The experiment that holds a registered model's alias history, one run per move."""
    return f"registry-audit/{model_name}"


def monitoring_experiment(model_name: str) -> str:
    """The experiment that holds a registered model's monitoring runs, one per window."""
    return f"monitoring/{model_name}"


def data_tag(path: str) -> str:
    """The run tag that records the md5 of DVC-tracked ``path`` (MLflow keys stop at 250)."""
    return f"{DATA_PREFIX}{path}"[:250]


def promoted_tag(model_name: str) -> str:
    """The run tag that says which version of ``model_name`` the run promoted."""
    return f"{PROMOTED_PREFIX}{model_name}"


def report_tag(kind: str, name: str, suffix: str) -> str:
    """A report's summary tag: ``mlops.checks.<name>.failed``, ``mlops.drift.<name>.drifted``."""
    return f"{report_prefix(kind)}{name}.{suffix}"


def report_prefix(kind: str) -> str:
    """``mlops.<kind>.``: the start of every summary tag a ``kind`` of report writes."""
    if kind not in REPORT_KINDS:
        raise ValueError(f"no report kind {kind!r}")
    return f"{PREFIX}{kind}."


def is_ours_or_mlflows(key: str) -> bool:
    """Whether a tag is a system tag (MLflow's or ours) rather than one a user set."""
    return key.startswith((MLFLOW_PREFIX, PREFIX))
