"""The process that writes a notebook run's record (``record.Writer``): ``python -m`` this.

It imports MLflow (and, for a local store, its SQL store) as soon as it starts, while the
runner reads the notebook and starts the kernel, then serves the runner's calls until its input
ends, and exits without the interpreter's slow teardown: every call it answered is committed.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    import signal

    # Ctrl-C reaches the whole process group: the writer must live to record the run KILLED
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    replies = os.fdopen(os.dup(1), "wb")  # the pipe back to the runner...
    os.dup2(2, 1)  # ...and anything printed (a library's chatter) goes to stderr instead
    import mlflow

    if "--sqlite" in sys.argv:
        import mlflow.store.tracking.sqlalchemy_store  # noqa: F401

    from .record import serve

    serve(sys.stdin.buffer, replies)
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
