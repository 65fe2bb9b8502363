"""The team tier: PostgreSQL, an S3-compatible store and ``mlflow server`` with basic
authentication, started by ``scripts/team-stack.sh`` (the README's deployment recipe), and
two users with different permissions.

``alice`` may create experiments and models (and so manages what she creates); ``bob`` gets the
server's default permission, READ, on everything else. Secrets here are a throwaway stack's.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STACK = REPO / "scripts" / "team-stack.sh"
PASSWORDS = {"alice": "alice-Pass-1234", "bob": "bob-Pass-1234"}


@dataclass(frozen=True)
class TeamStack:
    """Where the services answer, and the environment for each user."""

    tracking_uri: str
    s3_endpoint: str
    pg_uri: str
    admin: tuple[str, str]
    folder: Path

    def env(self, user: str) -> dict[str, str]:
        """What a user's shell holds to work against the stack: the server's address, their
        MLflow credentials and the S3 keys DVC uses (moto accepts any)."""
        password = self.admin[1] if user == self.admin[0] else PASSWORDS[user]
        return {
            "MLFLOW_TRACKING_URI": self.tracking_uri,
            "MLFLOW_TRACKING_USERNAME": user,
            "MLFLOW_TRACKING_PASSWORD": password,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_S3": self.s3_endpoint,
        }

    def use(self, monkeypatch: pytest.MonkeyPatch, user: str) -> None:
        """Be ``user`` in this test process (and the kernels and commands it starts)."""
        from jupyter_mlops.core import identity

        if "mlflow" in sys.modules:  # a store an earlier test set process-wide outranks the env
            import mlflow

            monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # restored afterwards
            mlflow.set_tracking_uri(None)
            mlflow.set_registry_uri(None)
        for key, value in self.env(user).items():
            monkeypatch.setenv(key, value)
        identity.forget()


@pytest.fixture(scope="session")
def team_stack(tmp_path_factory: pytest.TempPathFactory):
    """The whole stack, once per test worker, with users ``alice`` and ``bob``."""
    folder = tmp_path_factory.mktemp("team-stack")
    # the server remembers a checked password for 10 minutes (MLflow's auth cache, which keeps
    # only passwords that passed and forgets a user's on any change to that user): uncached,
    # every request of the tier paid a 100 ms scrypt hash, minutes of CPU in all
    env = {**os.environ, "PYTHON": sys.executable, "MLFLOW_AUTH_CACHE_TTL": "600"}
    up = subprocess.run(
        ["bash", str(STACK), "up", str(folder)], env=env, capture_output=True, text=True
    )
    try:
        if up.returncode != 0:
            raise RuntimeError(f"team-stack.sh up failed: {up.stderr.strip()}")
        values = dict(
            line.split("=", 1) for line in (folder / "stack.env").read_text().splitlines()
        )
        stack = TeamStack(
            tracking_uri=values["MLFLOW_TRACKING_URI"],
            s3_endpoint=values["MLOPS_S3_ENDPOINT"],
            pg_uri=values["MLOPS_PG_URI"],
            admin=(values["MLOPS_ADMIN_USER"], values["MLOPS_ADMIN_PASSWORD"]),
            folder=folder,
        )
        _create_users(stack)
        yield stack
    finally:
        subprocess.run(["bash", str(STACK), "down", str(folder)], env=env, capture_output=True)


@contextlib.contextmanager
def admin_env(stack: TeamStack) -> Iterator[None]:
    """This process as the server's admin for the block (creating users, reading everything),
    the environment as it was afterwards."""
    keys = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_URI")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update(dict(zip(keys, (*stack.admin, stack.tracking_uri), strict=True)))
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _create_users(stack: TeamStack) -> None:
    from mlflow.server.auth.client import AuthServiceClient

    with admin_env(stack):
        auth = AuthServiceClient(stack.tracking_uri)
        for user, password in PASSWORDS.items():
            auth.create_user(user, password)
