"""The app ``jupyter mlops serve`` runs under uvicorn: MLflow's own scoring app, answers unchanged
when they succeed, and every error answer made short, JSON and inert.

MLflow's app answers a request it cannot score with its message, which may quote the whole
input ("Failed to predict data '<the frame>'", "Input: <the body>") and a stack trace; some
answers are plain text; a request without a content type is a 500. A client (and anyone who
opens the answer in a browser) gets instead ``{"error_code": ..., "message": <one short line>}``
(plus ``columns`` for a contract error), with ``<``, ``>`` and ``&`` escaped and ``nosniff``,
so that nothing a request sent comes back as active content. Successful answers pass through
untouched: the wrapper only looks at an answer's status. At shutdown the model's inference log
is closed (its last batch written, its marker removed: a clean end, no warning next start).
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from .serve import MODEL_ENV

MAX_MESSAGE = 500  # characters of an error message sent back
_ECHOED_INPUT = re.compile(r"^Failed to predict data '.*'\. \nError: ", re.DOTALL)
_ECHOED_BODY = re.compile(r"\nInput: \n.*$", re.DOTALL)
_CODES = {400: "BAD_REQUEST", 404: "ENDPOINT_NOT_FOUND", 415: "BAD_REQUEST", 504: "TIMEOUT"}


def create_app() -> Any:
    """uvicorn's factory (``--factory``): the model in ``MLOPS_SERVE_MODEL`` loaded by MLflow's
    pyfunc loader, behind MLflow's scoring app, behind ``InertErrors``."""
    from mlflow.pyfunc import scoring_server

    model = scoring_server.load_model_with_mlflow_config(os.environ[MODEL_ENV])
    # the shipped runtime's writer (None with --no-log, or a model without one)
    log = getattr(getattr(model, "_model_impl", None), "log", None)
    csv = csv_types(model.metadata.get_input_schema())
    return InertErrors(scoring_server.init(model), log=log, csv=csv)


def csv_types(schema: Any) -> dict | None:
    """The dtypes a CSV request is read with, when MLflow cannot read it itself (None when it
    can): MLflow reads CSV with every column's pandas type from the signature, and refuses when
    a column is declared ``Any`` (a categorical column of ours, ``registry/package.py``)."""
    from mlflow.types.schema import DataType

    if schema is None or schema.is_tensor_spec() or not schema.has_input_names():
        return None
    if all(isinstance(spec.type, DataType) for spec in schema.inputs):
        return None
    return {s.name: s.type.to_pandas() for s in schema.inputs if isinstance(s.type, DataType)}


def csv_as_parquet(body: bytes, types: dict) -> bytes:
    """A CSV request as the Parquet request MLflow's app reads (no signature types needed),
    each column read as MLflow reads it (the others inferred, and checked by the contract)."""
    import io

    import pandas as pd

    try:
        frame = pd.read_csv(io.StringIO(body.decode("utf-8")), dtype=types)
    except Exception as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"the body is not CSV a pandas DataFrame can read: {reason}") from None
    out = io.BytesIO()
    frame.to_parquet(out, index=False)
    return out.getvalue()


def inert_error(status: int, body: bytes) -> bytes:
    """The JSON an error answer becomes: MLflow's own keys, its message shortened (no quoted
    input, at most ``MAX_MESSAGE`` characters), no stack trace; ``<>&`` escaped."""
    try:
        found = json.loads(body)
    except ValueError:
        found = None
    if not isinstance(found, dict) or not isinstance(found.get("message"), str):
        text = body.decode("utf-8", "replace").strip() or "the request could not be scored"
        found = {"error_code": _CODES.get(status, "INTERNAL_ERROR"), "message": text}
    found.pop("stack_trace", None)
    message = _ECHOED_BODY.sub("", _ECHOED_INPUT.sub("", found["message"])).strip()
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 1] + "…"
    found["message"] = message
    text = json.dumps(found, ensure_ascii=True, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").encode()


class InertErrors:
    """ASGI middleware: answers of status 400 or more rewritten by ``inert_error``; a POST
    without a content type answered 415 (MLflow's app fails on it with a 500)."""

    def __init__(self, app: Any, log: Any = None, csv: dict | None = None) -> None:
        self.app, self.log, self.csv = app, log, csv

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan" and self.log is not None:
            await self.app(scope, self._closing(receive), send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kind = next((v for k, v in scope["headers"] if k == b"content-type"), None)
        if scope["method"] == "POST" and kind is None:
            await _answer(send, 415, _NO_TYPE)
            return
        if self.csv is not None and scope["method"] == "POST" and _plain_csv(kind):
            try:
                scope, receive = await self._csv_request(scope, receive)
            except ValueError as exc:
                await _answer(send, 400, str(exc).encode())
                return
        held: dict = {}

        async def send_inert(message: dict) -> None:
            kind = message["type"]
            if kind == "http.response.start" and message["status"] >= 400:
                held["status"], held["body"] = message["status"], b""
                return
            if kind == "http.response.body" and held:
                held["body"] += message.get("body", b"")
                if not message.get("more_body", False):
                    await _answer(send, held["status"], held["body"])
                return
            await send(message)

        await self.app(scope, receive, send_inert)

    async def _csv_request(self, scope: dict, receive: Any) -> tuple[dict, Any]:
        """The request with its CSV body read whole and replayed as Parquet."""
        import asyncio

        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        converted = await asyncio.to_thread(csv_as_parquet, body, self.csv)
        headers = [(k, v) for k, v in scope["headers"] if k not in _BODY_HEADERS]
        headers += [(b"content-type", _PARQUET), (b"content-length", str(len(converted)).encode())]
        replayed = [{"type": "http.request", "body": converted, "more_body": False}]

        async def replay() -> dict:
            return replayed.pop() if replayed else await receive()

        return dict(scope, headers=headers), replay

    def _closing(self, receive: Any) -> Any:
        """``receive`` for the lifespan: at shutdown (uvicorn's answer to SIGINT or SIGTERM),
        the inference log writes its last batch and ends cleanly before the process does;
        uvicorn then re-raises the signal, whose default action skips ``atexit``."""

        async def receive_closing() -> dict:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                import asyncio

                await asyncio.to_thread(self.log.close, 30)
            return message

        return receive_closing


_NO_TYPE = b"give a Content-Type: application/json, text/csv or application/vnd.apache.parquet"
_BODY_HEADERS = (b"content-type", b"content-length")
_PARQUET = b"application/vnd.apache.parquet"


def _plain_csv(kind: bytes) -> bool:
    """``text/csv``, with no parameter or UTF-8 (what MLflow takes; it answers the rest)."""
    parts = [p.strip().lower() for p in kind.decode("latin-1").split(";")]
    return parts[0] == "text/csv" and all(p in ("charset=utf-8", "") for p in parts[1:])


async def _answer(send: Any, status: int, body: bytes) -> None:
    content = inert_error(status, body)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
        (b"x-content-type-options", b"nosniff"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})
