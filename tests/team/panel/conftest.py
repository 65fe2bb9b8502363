"""The team tier's panel journeys: pytest-jupyter's fixtures (and its async test hooks), for
this folder only, as tests/server has them."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_jupyter.jupyter_server import *  # noqa: F403 - the fixtures, for this folder only


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_mlops": True, "jupyter_server_terminals": False},
            "allow_unauthenticated_access": False,
        }
    }
