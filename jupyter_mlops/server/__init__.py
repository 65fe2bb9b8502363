"""The Jupyter server extension: the REST API under ``<base_url>/mlops/api/``.

Enabled on install by ``jupyter-config/server-config/jupyter_mlops.json``; the routes and their
answers are written down in ``openapi.yaml`` next to this file.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.utils import url_path_join

from .handlers import ROUTES, SERVICE_KEY, NotFoundHandler, route_pattern
from .service import MlopsService

API_PREFIX = ("mlops", "api")


def _load_jupyter_server_extension(server_app: Any) -> None:
    """Register the route table; the service serves the project holding ``root_dir``."""
    web_app = server_app.web_app
    base_url = web_app.settings["base_url"]
    web_app.settings[SERVICE_KEY] = MlopsService(server_app.root_dir)
    prefix = url_path_join(base_url, *API_PREFIX)
    handlers = [(url_path_join(prefix, route_pattern(t)) + "$", h) for t, h in ROUTES]
    handlers.append((url_path_join(prefix, "(.*)") + "$", NotFoundHandler))
    web_app.add_handlers(".*$", handlers)
    server_app.log.info("jupyter-mlops: REST API at %s/ for %s", prefix, server_app.root_dir)


# the name older Jupyter servers look for
load_jupyter_server_extension = _load_jupyter_server_extension
