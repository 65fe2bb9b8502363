"""Thin Tornado handlers over ``MlopsService`` and the one route table under ``mlops/api/``.

Every verb is authenticated and authorized (resource ``mlops``); blocking MLflow and DVC calls
run in a worker thread so the event loop keeps serving; every error, expected or not, is JSON
``{"error": code, "message": line}`` and never a traceback (those go to the server log).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import math
import re
from collections.abc import Callable
from typing import Any

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado.httputil import responses

from .artifact_headers import artifact_headers
from .service import MlopsService
from .validation import ApiError

AUTH_RESOURCE = "mlops"
SERVICE_KEY = "jupyter_mlops.service"
_ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
}


class MlopsHandler(APIHandler):
    """Base handler: the service, JSON bodies in and out, errors as JSON."""

    auth_resource = AUTH_RESOURCE

    @property
    def service(self) -> MlopsService:
        return self.settings[SERVICE_KEY]

    async def answer(self, fn: Callable[..., dict[str, Any]], *args: Any) -> None:
        """Run ``fn(*args)`` in a thread; answer its dict, or its ``ApiError``, as JSON."""
        try:
            result = await asyncio.to_thread(fn, *args)
        except ApiError as exc:
            self.fail(exc)
            return
        self.finish(json.dumps(_finite(result), allow_nan=False))

    def fail(self, exc: ApiError) -> None:
        """Answer ``exc`` as ``{"error": code, "message": line}`` with its status."""
        self.set_status(exc.status)
        self.finish(json.dumps(exc.to_dict()))

    def json_body(self) -> Any:
        """The request body parsed as JSON; a 400 when it is not JSON."""
        try:
            return json.loads(self.request.body or b"")
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "invalid_json", "the request body is not valid JSON") from None
        except RecursionError:  # json's parser recurses once per level of nesting
            raise ApiError(400, "invalid_json", "the request body is nested too deeply") from None

    async def answer_with_body(self, fn: Callable[..., dict[str, Any]], *args: Any) -> None:
        try:
            body = self.json_body()
        except ApiError as exc:
            self.fail(exc)
            return
        await self.answer(fn, *args, body)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """JSON for every error Tornado or Jupyter raises; an unexpected one says only 500."""
        self.set_header("Content-Type", "application/json")
        exc = (kwargs.get("exc_info") or (None, None, None))[1]
        code = _ERROR_CODES.get(status_code, "error")
        if isinstance(exc, ApiError):
            code, message = exc.code, exc.message
        elif isinstance(exc, tornado.web.HTTPError) and status_code < 500:
            message = exc.log_message or responses.get(status_code, "error")
            if exc.args:
                with contextlib.suppress(TypeError, ValueError):
                    message = message % exc.args
        else:  # the traceback is in the server log (Tornado logs uncaught exceptions)
            code = "internal_error"
            message = "unexpected error in the jupyter-mlops server extension; see the server log"
        self.finish(json.dumps({"error": code, "message": " ".join(str(message).split())}))


def _finite(value: Any) -> Any:
    """NaN and infinities as MLflow's REST API writes them ("NaN", "Infinity"): JSON has none."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


class StatusHandler(MlopsHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        await self.answer(self.service.status)


class ExperimentsHandler(MlopsHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        await self.answer(self.service.experiments)


class RunsHandler(MlopsHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        await self.answer(
            self.service.runs,
            self.get_query_argument("experiment_id", None),
            self.get_query_argument("max_results", None),
            self.get_query_argument("page_token", None),
            self.get_query_argument("filter", None),
            self.get_query_arguments("order_by"),
        )


class RunHandler(MlopsHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        await self.answer(self.service.run, run_id)


class ArtifactsHandler(MlopsHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        await self.answer(self.service.artifacts, run_id, self.get_query_argument("path", None))


class ArtifactFileHandler(MlopsHandler):
    """An artifact's bytes, with headers that keep it inert (``artifact_headers``)."""

    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str, path: str) -> None:
        try:
            found = await asyncio.to_thread(self.service.artifact, run_id, path)
        except ApiError as exc:
            self.fail(exc)
            return
        headers = artifact_headers(found.path)
        for name, value in headers.items():
            self.set_header(name, value)
        self.finish(found.content, set_content_type=headers["Content-Type"])


class NotebookDiffHandler(MlopsHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str, other_id: str) -> None:
        await self.answer(self.service.notebook_diff, run_id, other_id)


class MetricHistoryHandler(MlopsHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str, key: str) -> None:
        await self.answer(self.service.metric_history, run_id, key)


class ModelsHandler(MlopsHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        await self.answer(self.service.models)


class ModelHandler(MlopsHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        await self.answer(self.service.models, name)


class AliasesHandler(MlopsHandler):
    @tornado.web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        # the history records who moved the alias: the user Jupyter authenticated
        user = self.current_user.username
        await self.answer_with_body(functools.partial(self.service.set_alias, user=user), name)


class AliasHistoryHandler(MlopsHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        await self.answer(self.service.history, name)


class ModelCardHandler(MlopsHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, name: str, version: str) -> None:
        await self.answer(self.service.model_card, name, version)


class ModelMonitoringHandler(MlopsHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, name: str, version: str) -> None:
        await self.answer(
            self.service.monitoring, name, version, self.get_query_argument("limit", None)
        )


class ModelCompareHandler(MlopsHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        await self.answer(
            self.service.compare,
            name,
            self.get_query_argument("a", None),
            self.get_query_argument("b", None),
        )


class DataHandler(MlopsHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        await self.answer(self.service.data)

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        await self.answer_with_body(self.service.add_data)


class NotFoundHandler(MlopsHandler):
    """Any other path under ``mlops/api/``: a JSON 404 rather than Jupyter's HTML page."""

    @tornado.web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        self.fail(ApiError(404, "not_found", f"no route {path!r} under mlops/api/"))

    post = get


# The route table: OpenAPI-style templates under <base_url>/mlops/api/ (openapi.yaml lists the
# same). A template's {key} and {path} may hold '/' (metric keys and artifact paths can); other
# parameters cannot.
ROUTES: list[tuple[str, type[MlopsHandler]]] = [
    ("status", StatusHandler),
    ("experiments", ExperimentsHandler),
    ("runs", RunsHandler),
    ("runs/{run_id}", RunHandler),
    ("runs/{run_id}/metrics/{key}", MetricHistoryHandler),
    ("runs/{run_id}/artifacts", ArtifactsHandler),
    ("runs/{run_id}/artifacts/{path}", ArtifactFileHandler),
    ("runs/{run_id}/notebook-diff/{other_id}", NotebookDiffHandler),
    ("models", ModelsHandler),
    ("models/{name}", ModelHandler),
    ("models/{name}/aliases", AliasesHandler),
    ("models/{name}/history", AliasHistoryHandler),
    ("models/{name}/compare", ModelCompareHandler),
    ("models/{name}/versions/{version}/card", ModelCardHandler),
    ("models/{name}/versions/{version}/monitoring", ModelMonitoringHandler),
    ("data", DataHandler),
]
_WIDE = {"key", "path"}


def route_pattern(template: str) -> str:
    """``runs/{run_id}`` as a Tornado pattern with a named group per parameter."""

    def group(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"(?P<{name}>{'.+' if name in _WIDE else '[^/]+'})"

    return re.sub(r"\{(\w+)\}", group, template)


def methods(handler: type[MlopsHandler]) -> set[str]:
    """The HTTP verbs ``handler`` answers (for the OpenAPI check)."""
    return {m for m in ("get", "post", "put", "patch", "delete") if m in vars(handler)}
