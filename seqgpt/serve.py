"""``seqgpt serve``: online extraction behind an HTTP JSON API on Ray Serve.

One deployment; each replica loads one model (``num_gpus`` per replica on a GPU cluster,
a fraction of a CPU and a few torch threads on CPU machines) and answers:

``POST /extract``
    ``{"text": "...", "fields": "甲方,乙方,合同金额"}`` -- or ``"pdf_base64"`` (a PDF) or
    ``"file_base64"`` with ``"filename"`` (any file ``seqgpt extract`` reads: a scan or photo
    through OCR, Word, e-mail, HTML) instead of ``"text"``, ``"fields"`` as a list of field strings or a schema mapping (``{"fields":
    [...], "rules": [...]}``), or ``"schema": "<name>"`` for a schema loaded with
    ``--schema``; optional ``"source"`` (echoed back).  The answer is the JSON object of
    ``seqgpt extract --format json``: ``source``, ``model``, ``fields`` (per field a list of
    verbatim values with ``start``/``end`` character offsets into the text, ``confidence``,
    ``normalized``, ``approximate``, ``issues``, ``parts``), ``classes``, ``records``,
    ``summary``, ``violations``, ``warnings``, ``chunks`` (and ``ocr_confidence``/``ocr_lines``
    for a document read by OCR).
``POST /classify``
    ``{"text": "...", "labels": ["咨询", "投诉", "求助"]}`` (or ``"咨询/投诉/求助"``; optional
    ``"name"``, default ``label``), or ``"schema": "<name>"`` for that schema's
    classification fields.  The same answer object; the label is in ``classes``.
``GET /health``
    ``{"status": "ok", "model": ..., "untrained": ..., "device": ..., "stats": {...}}``.
``GET /schemas``
    ``{"schemas": {"<name>": <schema in file form>, ...}}``.

Documents are read as ``seqgpt extract`` reads the same bytes from a file: ``text`` (as
UTF-8) and the PDF in ``pdf_base64`` go through ``connectors.documents.read_document``, the
one reader and cleaner of the CLI, the app and ``seqgpt run`` (PDF text with page-layout
repair; text with line ends, Unicode NFKC, control characters and whitespace normalized).
Offsets count in that cleaned text -- for text that needs no cleaning, the text sent.

Concurrent requests are batched (``@serve.batch``): requests that arrive while a batch is
decoding form the next one, grouped by schema and sent through ``Extractor.extract_batch``
together.  Values are what the CLI gives for the same text and fields (same engine, same
result objects, ``seqgpt.Result.to_dict``).

Bad input never reaches the model and never takes the server down: it gets a 4xx answer
``{"error": "<what is wrong and how to fix it>", "status": <code>}`` -- 400 for a body that
is not UTF-8 or not JSON, a missing document or fields, unknown keys, a bad field list or
bad base64; 404 for an unknown schema name; 413 for a body over ``--max-body-mb`` or a text
over ``--max-chars``; 415 when ``pdf_base64`` does not hold a PDF; 422 for a PDF that cannot
be read (encrypted, no text layer ...), a document without text, or fields that leave no
room for text in a prompt.  A failure inside the engine is a 500 with its message.  A server
that cannot start raises :class:`ServeError` (a ``SeqgptError``: the CLI prints its message).
The body limit is enforced while the body streams in, in Serve's HTTP proxy
(:class:`BodyLimit`, with a local Ray) and again in the replica (:func:`read_body`).

The request checks (:func:`parse_request`) are plain Python, testable without Ray; Ray,
Serve and FastAPI are imported only when a server starts.
"""

# no `from __future__ import annotations`: FastAPI reads the route handlers' annotations
# (``request: Request``, imported inside build_app) at definition time
import base64
import binascii
import dataclasses
import difflib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from extractor.errors import SchemaError, SeqgptError
from pipelines.config import ModelConfig
from seqgpt.options import Command, model_config, model_options

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_MAX_BODY_BYTES = 20 * 1024 * 1024  # a base64 PDF of ~15 MB
DEFAULT_MAX_CHARS = 200_000  # one document's text (~100 pages); the CLI has no limit
DEFAULT_MAX_BATCH = 8
DEFAULT_BATCH_WAIT_S = 0.01
APP_NAME = "seqgpt"

_DOC_KEYS = ("text", "pdf_base64", "file_base64", "filename", "source")
_KEYS = {
    "extract": (*_DOC_KEYS, "fields", "schema"),
    "classify": (*_DOC_KEYS, "labels", "name", "schema"),
}


class ServeError(SeqgptError, RuntimeError):
    """``seqgpt serve`` could not start (Ray, Serve or a replica failed); the message says why."""


class RequestError(Exception):
    """A request the server refuses: ``status`` (4xx) and a message saying what to fix."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Job:
    """A checked request: the document text, the schema to read it with, and its source."""

    text: str
    schema: Any  # extractor.schema.Schema
    source: str | None
    key: str  # requests with the same key share a schema and may share a batch
    ocr: dict[str, Any] | None = None  # a document read by OCR: meta["ocr"] and meta["ocr_lines"]


def _read_json(body: bytes, max_body_bytes: int) -> dict[str, Any]:
    if len(body) > max_body_bytes:
        raise RequestError(
            413, f"request body of {len(body):,} bytes is over the limit of {max_body_bytes:,}"
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestError(
            400, f"request body is not valid UTF-8 (byte {exc.start}: {body[exc.start : exc.start + 4]!r})"
        ) from None
    if not text.strip():
        raise RequestError(
            400, 'empty request body: send a JSON object such as {"text": "...", "fields": "甲方,乙方"}'
        )
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RequestError(
            400, f"request body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise RequestError(
            400, "request body nests JSON arrays or objects too deeply to be a request"
        ) from None
    if not isinstance(data, dict):
        raise RequestError(400, f"the request must be a JSON object, not a JSON {type(data).__name__}")
    return data


async def read_body(request, max_body_bytes: int) -> bytes:
    """The request body, read chunk by chunk: RequestError 413 as soon as it passes
    ``max_body_bytes``, whether or not a Content-Length announced it (a chunked upload is
    never read whole before it is refused)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_body_bytes:
        raise RequestError(
            413, f"request body of {int(declared):,} bytes is over the limit of {max_body_bytes:,}"
        )
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_body_bytes:
            raise RequestError(
                413,
                f"request body is over the limit of {max_body_bytes:,} bytes (refused after reading {size:,})",
            )
        chunks.append(chunk)
    return b"".join(chunks)


# Ray Serve's HTTP proxy reads a request body as fast as the client sends it and keeps it
# until the replica asks for it, so a limit checked in the replica alone still lets a
# chunked upload of any size into the proxy's memory (and, in one pull, the replica's).
# This middleware runs in the proxy, in front of Serve: it reads at most the limit (plus
# one chunk), answers 413 and closes the connection.  start_server installs it with the
# local Ray it starts (Serve's RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH hook); on a
# cluster joined through RAY_ADDRESS, set the two variables below on its nodes.
PROXY_CALLBACK_ENV = "RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH"
PROXY_CALLBACK = "seqgpt.serve.proxy_middlewares"
MAX_BODY_ENV = "SEQGPT_SERVE_MAX_BODY_BYTES"


class BodyLimit:
    """ASGI middleware of the HTTP proxy: a request body over ``max_bytes`` -- announced by
    its Content-Length or found while it streams in (chunked) -- is answered 413 with the
    server's error object and ``Connection: close``, never read further; a body within the
    limit is read first and then handed to Serve as it came."""

    def __init__(self, app, max_bytes: int = DEFAULT_MAX_BODY_BYTES):
        self.app, self.max_bytes = app, int(max_bytes)

    async def __call__(self, scope, receive, send):
        if scope.get("type") != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"").decode("latin-1").strip()
        if declared.isdigit() and int(declared) > self.max_bytes:
            return await _refuse(
                send, f"request body of {int(declared):,} bytes is over the limit of {self.max_bytes:,}"
            )
        messages, size = [], 0
        while True:
            message = await receive()
            messages.append(message)
            if message.get("type") != "http.request":
                break  # http.disconnect: Serve sees it as it would have
            size += len(message.get("body") or b"")
            if size > self.max_bytes:
                return await _refuse(
                    send,
                    f"request body is over the limit of {self.max_bytes:,} bytes "
                    f"(refused as it streamed in, after {size:,})",
                )
            if not message.get("more_body"):
                break

        async def replay():
            return messages.pop(0) if messages else await receive()

        return await self.app(scope, replay, send)


async def _refuse(send, message: str) -> None:
    body = json.dumps({"error": message, "status": 413}, ensure_ascii=False).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def proxy_middlewares() -> list:
    """The HTTP proxy's middlewares (Serve calls this in the proxy process): :class:`BodyLimit`
    with the limit in ``SEQGPT_SERVE_MAX_BODY_BYTES`` (default 20 MiB)."""
    import os

    from starlette.middleware import Middleware

    limit = os.environ.get(MAX_BODY_ENV, "")
    return [Middleware(BodyLimit, max_bytes=int(limit) if limit.isdigit() else DEFAULT_MAX_BODY_BYTES)]


def _check_keys(data: dict[str, Any], kind: str) -> None:
    allowed = _KEYS[kind]
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise RequestError(400, f"unknown key {key!r}{hint}; /{kind} takes {', '.join(allowed)}")


def _check_text(text: str, what: str, max_chars: int) -> str:
    if len(text) > max_chars:
        raise RequestError(413, f"{what} has {len(text):,} characters, over the limit of {max_chars:,}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise RequestError(
            400,
            f"{what} holds a lone surrogate {text[exc.start]!r} at character {exc.start}: not valid Unicode",
        ) from None
    if not text.strip():
        raise RequestError(422, f"{what} contains no text to extract from")
    return text


def _read(
    raw: bytes, source: str, kind: str | None, what: str, max_chars: int, ocr: dict | None = None
) -> str:
    """The clean text of a request's document: ``connectors.documents.read_document``, as
    ``seqgpt extract`` reads the same bytes from a file (``kind`` None: sniffed); RequestError
    for what it refuses.  A document read by OCR leaves its ``ocr``/``ocr_lines`` meta in
    ``ocr``."""
    from connectors.documents import ReadOptions, read_document
    from connectors.records import Quarantine

    doc = read_document(raw, source, kind, ReadOptions(max_chars=max_chars))
    if isinstance(doc, Quarantine):
        if doc.reason == "too_large":
            raise RequestError(413, f"{what} is too large: {doc.detail}")
        if doc.reason in ("empty", "empty_text"):
            raise RequestError(422, f"{what} contains no text to extract from")
        if kind == "text" and doc.reason == "bad_encoding":
            raise RequestError(400, f"{what} holds NUL characters (\\u0000): not a document's text")
        raise RequestError(422, f"cannot read {what}: {doc.reason} ({doc.detail})")
    if ocr is not None:
        ocr.update({k: doc.meta[k] for k in ("ocr", "ocr_lines") if k in doc.meta})
    return _check_text(doc.text, what, max_chars)


def document_text(data: dict[str, Any], max_chars: int, ocr: dict | None = None) -> str:
    """The document of a request, read and cleaned as ``seqgpt extract`` reads the same bytes
    from a file (``connectors.documents.read_document``): ``text`` as a text file, the PDF in
    ``pdf_base64``, or any file ``seqgpt extract`` reads in ``file_base64`` (kind by its bytes,
    else by ``filename``'s extension: a scan or image through OCR, Word, e-mail, HTML);
    RequestError otherwise.  ``ocr`` receives the OCR meta of a document read by OCR."""
    given = [k for k in ("text", "pdf_base64", "file_base64") if data.get(k) is not None]
    if len(given) > 1:
        raise RequestError(
            400,
            f"give the document as one of 'text', 'pdf_base64', 'file_base64', not both ({' and '.join(given)})",
        )
    if not given:
        raise RequestError(
            400,
            "no document: give 'text' (a string), 'pdf_base64' (a base64-encoded PDF) or 'file_base64' "
            "(any document file, base64-encoded, with its 'filename')",
        )
    source = str(data.get("source") or data.get("filename") or "<request>")
    if given == ["file_base64"]:
        raw = data["file_base64"]
        name = data.get("filename")
        if not isinstance(raw, str) or (name is not None and not isinstance(name, str)):
            raise RequestError(400, "'file_base64' must be a base64 string and 'filename' a string")
        try:
            blob = base64.b64decode("".join(raw.split()), validate=True)
        except (binascii.Error, ValueError):
            raise RequestError(400, "'file_base64' is not valid base64") from None
        return _read(blob, name or source, None, "the file", max_chars, ocr)
    has_text = given == ["text"]
    if has_text:
        if not isinstance(data["text"], str):
            raise RequestError(400, f"'text' must be a string, got {type(data['text']).__name__}")
        text = _check_text(data["text"], "the text", max_chars)  # limits and surrogates first
        return _read(text.encode("utf-8"), source, "text", "the text", max_chars)
    raw = data["pdf_base64"]
    if not isinstance(raw, str):
        raise RequestError(400, f"'pdf_base64' must be a base64 string, got {type(raw).__name__}")
    try:
        pdf = base64.b64decode("".join(raw.split()), validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(400, "'pdf_base64' is not valid base64") from None
    if not pdf.startswith(b"%PDF-"):
        raise RequestError(415, f"'pdf_base64' does not hold a PDF: it starts with {pdf[:8]!r}, not b'%PDF-'")
    return _read(pdf, source, "pdf", "the PDF", max_chars, ocr)


def _schema_key(schema) -> str:
    return json.dumps(schema.to_dict(), ensure_ascii=False, sort_keys=True)


def request_schema(data: dict[str, Any], kind: str, schemas: dict[str, Any]):
    """The schema a request asks for: ``fields`` (extract) / ``labels`` (classify), or a
    named ``schema`` loaded with the server; RequestError otherwise."""
    from extractor.schema import Schema, as_schema
    from seqgpt.api import classification_schema

    given = "fields" if kind == "extract" else "labels"
    name = data.get("schema")
    if name is not None and data.get(given) is not None:
        raise RequestError(400, f"give either '{given}' or 'schema' (a name from GET /schemas), not both")
    if name is not None:
        if not isinstance(name, str):
            raise RequestError(
                400, f"'schema' must be the name of a loaded schema, got {type(name).__name__}"
            )
        if name not in schemas:
            known = ", ".join(sorted(schemas)) or "none: start the server with --schema FILE"
            raise RequestError(404, f"unknown schema {name!r} (loaded schemas: {known})")
        schema = schemas[name]
        if kind == "classify":
            classes = schema.classification_fields
            if not classes:
                raise RequestError(
                    400, f"schema {name!r} has no classification field (type: class) to classify with"
                )
            schema = Schema(list(classes), name=schema.name)
        return schema
    value = data.get(given)
    if value is None:
        example = (
            '"甲方,乙方,合同金额" or ["person", "company"]'
            if kind == "extract"
            else '["咨询", "投诉", "求助"]'
        )
        raise RequestError(
            400, f"no {given}: give '{given}' (e.g. {example}) or 'schema' (a name from GET /schemas)"
        )
    try:
        if kind == "extract":
            return as_schema(value)
        label = data.get("name", "label")
        if not isinstance(label, str) or not label.strip():
            raise RequestError(400, f"'name' must be a non-empty string, got {label!r}")
        return classification_schema(value, label)
    except SchemaError as exc:
        raise RequestError(400, f"bad {given}: {exc}") from None


def parse_request(
    body: bytes,
    kind: str,
    schemas: dict[str, Any],
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> Job:
    """Check one ``/extract`` or ``/classify`` request body; a :class:`Job` or RequestError."""
    data = _read_json(body, max_body_bytes)
    _check_keys(data, kind)
    source = data.get("source")
    if source is not None and not isinstance(source, str):
        raise RequestError(400, f"'source' must be a string, got {type(source).__name__}")
    schema = request_schema(data, kind, schemas)  # before the document: cheap checks first
    ocr: dict[str, Any] = {}
    text = document_text(data, max_chars, ocr)
    return Job(text, schema, source, _schema_key(schema), ocr or None)


def load_schemas(paths) -> dict[str, Any]:
    """``--schema FILE`` files by name: the schema's ``name``, else the file's stem
    (``SchemaError`` for a file that cannot be read and for two files with one name)."""
    from extractor.schema import Schema

    out: dict[str, Any] = {}
    for path in paths:
        schema = Schema.from_file(path)
        name = schema.name or Path(path).stem
        if name in out:
            raise SchemaError(f"two schemas are named {name!r} ({path}); give each file its own 'name:'")
        out[name] = schema
    return out


# ---------------------------------------------------------------------- the deployment
@dataclass(frozen=True)
class ServeOptions:
    """What every replica runs with: the model (:class:`~pipelines.config.ModelConfig`, as
    ``seqgpt extract`` loads it; its ``threads`` None on CPU: :func:`replica_threads`), the
    batching and the request limits."""

    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    max_batch_size: int = DEFAULT_MAX_BATCH
    batch_wait_s: float = DEFAULT_BATCH_WAIT_S
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_chars: int = DEFAULT_MAX_CHARS


def replica_threads(replicas: int) -> int:
    """torch threads of a CPU replica when ``--threads`` is not given: the default of the
    other commands (``extractor.loading.default_threads``: 1 on a machine of 2 cores or less,
    else half the cores) shared among the replicas, at least 1."""
    from extractor.loading import default_threads

    return max(1, default_threads() // max(1, replicas))


def _keep_replica_grpc_on_loopback() -> None:
    """In a replica of a local, loopback-only Ray (``pipelines.run.init_ray``): Ray Serve
    starts each replica's inter-deployment gRPC server on ``[::]:0`` (every address),
    whatever the node's address; bind it to 127.0.0.1 like the rest of the node.  A cluster
    joined through ``RAY_ADDRESS`` is left as it is."""
    import os

    from pipelines.run import LOOPBACK_ENV

    if os.environ.get(LOOPBACK_ENV) != "0":
        return
    try:
        from ray.serve._private import replica
    except ImportError:  # pragma: no cover - another Serve layout
        return
    add = getattr(replica, "add_port_to_grpc_server", None)
    if add is None or getattr(add, "_seqgpt_loopback", False):
        return

    def add_on_loopback(server, address: str):
        if address.startswith(("[::]:", "0.0.0.0:")):
            address = "127.0.0.1:" + address.rsplit(":", 1)[1]
        return add(server, address)

    add_on_loopback._seqgpt_loopback = True
    replica.add_port_to_grpc_server = add_on_loopback


def _error(status: int, message: str, *, close: bool = False):
    from fastapi.responses import JSONResponse

    headers = {"Connection": "close"} if close else None
    return JSONResponse({"error": message, "status": status}, status_code=status, headers=headers)


def build_app(
    options: ServeOptions,
    schema_files: dict[str, str] | None = None,
    *,
    replicas: int = 1,
    gpus_per_replica: float = 0.0,
    cpus_per_replica: float | None = None,
):
    """The Serve application: ``replicas`` copies of the deployment, each with one model;
    ``schema_files`` maps schema names to files every replica can read."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse
    from ray import serve

    api = FastAPI(
        title="seqgpt", description="Verbatim field extraction (SeqGPT-style)", docs_url=None, redoc_url=None
    )
    actor_options: dict[str, Any] = {"num_cpus": cpus_per_replica if cpus_per_replica is not None else (
        1.0 if gpus_per_replica else 0.5)}  # fmt: skip
    if gpus_per_replica:
        actor_options["num_gpus"] = gpus_per_replica

    @serve.deployment(
        name="seqgpt",
        num_replicas=replicas,
        ray_actor_options=actor_options,
        # a full batch can wait while the previous one decodes
        max_ongoing_requests=max(16, 4 * options.max_batch_size),
    )
    @serve.ingress(api)
    class SeqGPTServer:
        def __init__(self, options: ServeOptions, schema_files: dict[str, str]):
            import torch

            from extractor.schema import Schema
            from seqgpt.api import Extractor

            _keep_replica_grpc_on_loopback()
            self.options = options
            model = options.model
            on_cpu = not torch.cuda.is_available() or model.device == "cpu"
            if on_cpu and model.threads is None:  # replicas share the machine
                model = dataclasses.replace(model, threads=replica_threads(replicas))
            self.schemas = {name: Schema.from_file(path) for name, path in schema_files.items()}
            self.ex = model.load(cls=Extractor)
            self.pdf_pool = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="pdf"
            )  # pypdfium2: one thread
            self.run_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="extract")
            self.stats = {"requests": 0, "errors_4xx": 0, "batches": 0, "largest_batch": 0, "documents": 0}
            self._batch.set_max_batch_size(options.max_batch_size)
            self._batch.set_batch_wait_timeout_s(options.batch_wait_s)

        # -------------------------------------------------------------- batching
        def _run_jobs(self, jobs: list[Job]) -> list[tuple[int, Any]]:
            from extractor.engine import ExtractionError

            out: list[tuple[int, Any]] = [(500, "not run")] * len(jobs)
            groups: dict[str, list[int]] = {}
            for i, job in enumerate(jobs):
                groups.setdefault(job.key, []).append(i)
            for idx in groups.values():
                schema = jobs[idx[0]].schema
                try:
                    results = self.ex.extract_batch(
                        [jobs[i].text for i in idx], schema, sources=[jobs[i].source for i in idx]
                    )
                except ExtractionError as exc:
                    for i in idx:
                        out[i] = (422, str(exc))
                    continue
                except Exception as exc:  # an engine failure: the message, not the server's death
                    for i in idx:
                        out[i] = (500, f"extraction failed: {type(exc).__name__}: {exc}")
                    continue
                for i, r in zip(idx, results):
                    if jobs[i].ocr:  # read by OCR: its confidence, values from weak lines flagged
                        from connectors.ocr import flag_values

                        flag_values(r, jobs[i].ocr)
                    out[i] = (200, r.to_dict())
            return out

        @serve.batch(max_batch_size=DEFAULT_MAX_BATCH, batch_wait_timeout_s=DEFAULT_BATCH_WAIT_S)
        async def _batch(self, jobs: list[Job]) -> list[tuple[int, Any]]:
            self.stats["batches"] += 1
            self.stats["documents"] += len(jobs)
            self.stats["largest_batch"] = max(self.stats["largest_batch"], len(jobs))
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self.run_pool, self._run_jobs, jobs)

        # -------------------------------------------------------------- routes
        async def _handle(self, request: Request, kind: str):
            self.stats["requests"] += 1
            try:
                body = await read_body(request, self.options.max_body_bytes)
                loop = asyncio.get_running_loop()
                job = await loop.run_in_executor(
                    self.pdf_pool,
                    lambda: parse_request(
                        body,
                        kind,
                        self.schemas,
                        max_body_bytes=self.options.max_body_bytes,
                        max_chars=self.options.max_chars,
                    ),
                )
            except RequestError as exc:
                self.stats["errors_4xx"] += 1
                if exc.status == 413:  # the rest of the body is never read: end the connection
                    return _error(exc.status, exc.message, close=True)
                return _error(exc.status, exc.message)
            except Exception as exc:  # a bug in the checks: say so, keep serving
                return _error(500, f"could not read the request: {type(exc).__name__}: {exc}")
            status, payload = await self._batch(job)
            if status != 200:
                if status < 500:
                    self.stats["errors_4xx"] += 1
                return _error(status, payload)
            return JSONResponse(payload)

        @api.post("/extract")
        async def extract(self, request: Request):
            return await self._handle(request, "extract")

        @api.post("/classify")
        async def classify(self, request: Request):
            return await self._handle(request, "classify")

        @api.get("/health")
        async def health(self):
            return {
                "status": "ok",
                "model": self.ex.model_id,
                "untrained": bool(self.ex.untrained),
                "device": self.ex.info.get("device"),
                "max_batch_size": self.options.max_batch_size,
                "schemas": sorted(self.schemas),
                "stats": dict(self.stats),
            }

        @api.get("/schemas")
        async def list_schemas(self):
            return {"schemas": {name: s.to_dict() for name, s in self.schemas.items()}}

    return SeqGPTServer.bind(options, dict(schema_files or {}))


def _cluster_has_gpu() -> bool:
    import ray

    return ray.cluster_resources().get("GPU", 0) > 0


def _deploy_error() -> str | None:
    """The last line of the error that failed the deployment (the replica's exception)."""
    from ray import serve

    try:
        app = serve.status().applications.get(APP_NAME)
    except Exception:
        return None
    if app is None:
        return None
    messages = [d.message for d in app.deployments.values() if d.message] + [app.message or ""]
    lines = [line.strip() for m in messages for line in m.splitlines() if line.strip()]
    errors = [line for line in lines if "Error" in line.split(":", 1)[0]]
    return (errors or lines or [None])[-1]


class Server:
    """A running ``seqgpt serve``: ``url``, ``stop()``; also a context manager."""

    def __init__(self, url: str, started_ray: bool):
        self.url = url
        self._started_ray = started_ray

    def stop(self) -> None:
        from ray import serve

        serve.shutdown()
        if self._started_ray:
            import ray

            ray.shutdown()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _limit_bodies_in_the_proxy(max_body_bytes: int) -> None:
    """Before a local Ray starts (its processes inherit this environment): Serve's HTTP proxy
    calls :func:`proxy_middlewares`, so bodies over the limit stop at the proxy
    (:class:`BodyLimit`).  Left alone when a cluster is joined (``RAY_ADDRESS``: its proxies
    run with their nodes' environment), when Ray already runs in this process, and when the
    user set a proxy callback of their own."""
    import os

    import ray

    if os.environ.get("RAY_ADDRESS") or ray.is_initialized():
        return
    if os.environ.get(PROXY_CALLBACK_ENV, PROXY_CALLBACK) != PROXY_CALLBACK:
        return
    os.environ[PROXY_CALLBACK_ENV] = PROXY_CALLBACK
    os.environ[MAX_BODY_ENV] = str(int(max_body_bytes))


def start_server(
    options: ServeOptions | None = None,
    schema_files=(),
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    replicas: int = 1,
    gpus_per_replica: float | None = None,
    cpus_per_replica: float | None = None,
    timeout_s: float = 300.0,
    dashboard: bool = False,
) -> Server:
    """Start Ray (the cluster in ``RAY_ADDRESS``, or a local one: on 127.0.0.1 only, with its
    dashboard only if ``dashboard``; ``pipelines.run.init_ray``) and Serve on ``host:port``,
    deploy the app and wait until it answers ``GET /health``.  ``SchemaError`` for a schema
    file that cannot be used, :class:`ServeError` for a server that cannot start (nothing is
    left running then)."""
    import urllib.request

    options = options or ServeOptions()
    model = options.model.model
    if model and Path(model).expanduser().exists():  # replicas may run elsewhere
        local = dataclasses.replace(options.model, model=str(Path(model).expanduser().resolve()))
        options = dataclasses.replace(options, model=local)
    schemas = load_schemas(schema_files)  # fail here, not in every replica (and before Ray is imported)

    from ray import serve

    from pipelines.run import init_ray

    named = {name: str(Path(p).resolve()) for name, p in zip(schemas, schema_files)}
    _limit_bodies_in_the_proxy(options.max_body_bytes)
    try:
        started = init_ray(dashboard=dashboard)
    except Exception as exc:  # no cluster at RAY_ADDRESS, no room for a local Ray ...
        raise ServeError(f"seqgpt serve could not start Ray: {type(exc).__name__}: {exc}") from exc
    try:
        if gpus_per_replica is None:
            gpus_per_replica = 1.0 if _cluster_has_gpu() else 0.0
        serve.start(http_options={"host": host, "port": port})
        app = build_app(
            options,
            named,
            replicas=replicas,
            gpus_per_replica=gpus_per_replica,
            cpus_per_replica=cpus_per_replica,
        )
        try:
            serve.run(app, name=APP_NAME, route_prefix="/", blocking=False)
        except Exception as exc:  # say why the replica failed (a model that cannot load ...)
            raise ServeError(
                f"seqgpt serve could not start: {exc} -- {_deploy_error() or 'see the replica log above'}"
            ) from exc
        url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(url + "/health", timeout=10) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise ServeError(
                        f"seqgpt serve could not start: it did not answer {url}/health within {timeout_s:.0f} s"
                    ) from None
                time.sleep(0.2)
    except BaseException as exc:  # never leave a half-started server behind
        try:
            serve.shutdown()
        finally:
            if started:
                import ray

                ray.shutdown()
        if isinstance(exc, Exception) and not isinstance(exc, SeqgptError):  # Serve's own errors
            raise ServeError(f"seqgpt serve could not start: {type(exc).__name__}: {exc}") from exc
        raise
    return Server(url, started)


# ---------------------------------------------------------------------------- CLI
SERVE_EXAMPLES = """\b
Examples:
  seqgpt serve                                             # bundled model, http://127.0.0.1:8000
  seqgpt serve --model /models/seqgpt-560m --schema jobs/schemas/tickets.yaml --replicas 2
  curl -s localhost:8000/extract -d '{"text": "甲方：北京云杉科技有限公司", "fields": "甲方,乙方"}'
  curl -s localhost:8000/classify -d '{"text": "市民来电投诉噪音", "labels": ["咨询", "投诉", "求助"]}'
  curl -s localhost:8000/extract -d "{\\"pdf_base64\\": \\"$(base64 -w0 c.pdf)\\", \\"schema\\": \\"contracts\\"}"
"""


@click.command("serve", cls=Command, epilog=SERVE_EXAMPLES)
@model_options(
    threads_help="torch CPU threads per replica (default: 1 on a CPU of 2 cores or less, else half the cores, "
    "divided among the replicas)."
)
@click.option("--schema", "schema_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A schema file requests may name (repeatable); its name is its 'name:' or the file stem.")  # fmt: skip
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(1, 65535))
@click.option("--replicas", default=1, show_default=True, type=click.IntRange(min=1), help="Model replicas.")
@click.option("--gpus-per-replica", default=None, type=click.FloatRange(min=0),
              help="GPUs per replica [default: 1 if the cluster has GPUs, else 0].")  # fmt: skip
@click.option("--cpus-per-replica", default=None, type=click.FloatRange(min=0, min_open=True),
              help="Ray CPUs per replica [default: 0.5 on CPU, 1 with a GPU].")  # fmt: skip
@click.option("--max-batch-size", default=DEFAULT_MAX_BATCH, show_default=True, type=click.IntRange(min=1),
              help="Most requests decoded together.")  # fmt: skip
@click.option("--batch-wait-ms", default=DEFAULT_BATCH_WAIT_S * 1000, show_default=True,
              type=click.FloatRange(min=0), help="How long a batch waits for more requests.")  # fmt: skip
@click.option("--max-body-mb", default=DEFAULT_MAX_BODY_BYTES / 2**20, show_default=True,
              type=click.FloatRange(min=0, min_open=True), help="Largest request body (413 above).")  # fmt: skip
@click.option("--max-chars", default=DEFAULT_MAX_CHARS, show_default=True, type=click.IntRange(min=1),
              help="Longest document text (413 above).")  # fmt: skip
@click.option("--dashboard", is_flag=True,
              help="Start Ray's dashboard (http://127.0.0.1:8265) with the local Ray (off by default; a local Ray "
              "listens on 127.0.0.1 only; a cluster in RAY_ADDRESS is used as it is).")  # fmt: skip
def serve_cmd(
    model, device, dtype, quantize, threads, compile, schema_files, host, port, replicas, gpus_per_replica,
    cpus_per_replica, max_batch_size, batch_wait_ms, max_body_mb, max_chars, dashboard,
):  # fmt: skip
    """Serve extraction over HTTP (Ray Serve): POST /extract, POST /classify, GET /health,
    GET /schemas.

    Each replica loads the model once (as `seqgpt extract` loads it); concurrent requests
    are batched.  Documents are read and cleaned as `seqgpt extract` reads a file, and the
    answers are its JSON (`--format json`); bad requests get a 4xx with {"error": "..."}.
    Uses the Ray cluster in RAY_ADDRESS, or starts a local one (on 127.0.0.1 only).  Ctrl+C stops.
    """
    from pipelines.config import UNTRAINED_NOTE

    params = {
        "model": model, "device": device, "dtype": dtype, "compile": compile, "quantize": quantize,
        "threads": threads,
    }  # fmt: skip
    options = ServeOptions(
        model=model_config(params), max_batch_size=max_batch_size,
        batch_wait_s=batch_wait_ms / 1000, max_body_bytes=int(max_body_mb * 2**20), max_chars=max_chars,
    )  # fmt: skip
    if options.model.untrained:
        click.echo(f"{UNTRAINED_NOTE} (model: {options.model.label})", err=True)
    server = start_server(  # SchemaError and ServeError become a message (seqgpt.options.Command)
        options, list(schema_files), host=host, port=port, replicas=replicas,
        gpus_per_replica=gpus_per_replica, cpus_per_replica=cpus_per_replica, dashboard=dashboard,
    )  # fmt: skip
    click.echo(f"seqgpt serve: {server.url} ({replicas} replica(s)); Ctrl+C stops", err=True)
    import signal

    def _interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops it as cleanly as Ctrl+C
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        click.echo("stopping", err=True)
    finally:
        server.stop()
