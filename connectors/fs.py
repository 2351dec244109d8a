"""One storage abstraction for local folders and S3: :class:`Folder`.

Every reader and writer of the project goes through a ``Folder`` (like datatrove's
``DataFolder``), built on :mod:`pyarrow.fs` so that :mod:`pyarrow.dataset` and
:mod:`pyarrow.parquet` can write to the same place (``folder.fs`` / ``folder.base``)::

    src = Folder.from_uri("s3://archive/contracts/2024")      # or a local path, or one file
    for path in src.list(["**/*.pdf"]):                        # sorted relative paths
        data = src.read_bytes(path)
        ...
    out = Folder.from_uri("/data/out")
    with out.open_output("part-0001.parquet") as f: ...

URIs: a local path (relative, absolute, ``~``, or ``file://``), or ``s3://bucket[/prefix]``.
A URI naming a single file is accepted as input: listing returns just that file, and paths
are relative to its folder.

S3 settings come from explicit options or from the usual AWS environment variables:
``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` (e.g. ``http://127.0.0.1:8333`` for
SeaweedFS or MinIO; the scheme picks http/https), ``AWS_REGION`` / ``AWS_DEFAULT_REGION``,
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``.  Without keys,
pyarrow's default AWS credential chain applies.  The settings are captured when the folder
is made and travel with it when pickled (Ray workers need them); credentials never appear
in ``repr()``, ``str()``, log records or :class:`ConnectorError` messages.

Listing (:meth:`Folder.list`) skips what is not a finished document: any path component
that starts with ``.`` or ``_`` (hidden files, ``_tmp/``, ``_SUCCESS``), Office lock files
(``~$x.docx``) and ``*.tmp`` / ``*.part`` files.  Zero-byte files are listed (readers turn
them into ``empty`` quarantine records rather than losing them silently).

:meth:`Folder.scan` is the listing of an *input*: the same files plus what was left out
and why (:class:`Skipped`), so that every file under the folder is accounted for.  A local
folder is walked with ``os.scandir`` (not through pyarrow, which follows directory links
without end and fails on file names that are not UTF-8):

- every real directory is walked once (a directory link to a folder already walked, or
  to one inside the folder, is ``link_loop``/``link_inside``: its files are read under
  their own path), and a file link to a file that is listed anyway is ``duplicate_link``;
- a symbolic link whose target lies outside the folder is not followed (``link_outside``)
  unless ``follow_links`` (``seqgpt run --follow-links``); followed links are still
  walked once and de-duplicated;
- a dangling link is ``broken_link``, a name that is not valid UTF-8 ``bad_file_name``
  (shown with its bytes escaped, ``caf\\xe9.txt``), a folder that cannot be read
  ``unreadable``: these are bad inputs, :attr:`Skipped.bad` (the pipeline quarantines them);
- FIFOs, sockets and devices are ``not_a_file``; hidden and temporary names (above) are
  ``hidden``; paths under ``exclude`` (the run's own output folder inside its input) are
  ``excluded``.
"""

from __future__ import annotations

import errno
import os
import posixpath
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pyarrow as pa
import pyarrow.fs as pafs

from connectors.records import ConnectorError, escape_unsafe

__all__ = [
    "ConnectorError",
    "Entry",
    "Folder",
    "Listing",
    "S3Options",
    "Skipped",
    "escape_name",
    "glob_to_regex",
]

_TEMP_SUFFIXES = (".tmp", ".part")


class _Secret:
    """A credential that does not print itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "'***'"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_Secret, (self._value,))


def _secret(value: str | _Secret | None) -> _Secret | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, _Secret) else _Secret(str(value))


@dataclass(frozen=True)
class S3Options:
    """How to reach S3.  ``repr`` shows the endpoint and region, never the keys."""

    endpoint_url: str | None = None
    region: str | None = None
    access_key: _Secret | None = None
    secret_key: _Secret | None = None
    session_token: _Secret | None = None
    anonymous: bool = False
    connect_timeout: float = 5.0
    request_timeout: float = 60.0
    retries: int = 5

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> S3Options:
        """Options from the AWS environment variables; non-None ``overrides`` win."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {
            "endpoint_url": env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or None,
            "region": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
            "access_key": env.get("AWS_ACCESS_KEY_ID") or None,
            "secret_key": env.get("AWS_SECRET_ACCESS_KEY") or None,
            "session_token": env.get("AWS_SESSION_TOKEN") or None,
        }
        unknown = set(overrides) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise TypeError(f"unknown S3 option(s): {', '.join(sorted(unknown))}")
        values.update({k: v for k, v in overrides.items() if v is not None})
        for key in ("access_key", "secret_key", "session_token"):
            values[key] = _secret(values[key])
        return cls(**values)

    def __repr__(self) -> str:
        keys = "anonymous" if self.anonymous else ("set" if self.access_key else "default chain")
        return f"S3Options(endpoint_url={self.endpoint_url!r}, region={self.region!r}, credentials={keys})"

    def secrets(self) -> list[str]:
        """The credential strings (for redaction only)."""
        return [s.reveal() for s in (self.access_key, self.secret_key, self.session_token) if s]

    def filesystem(self) -> pafs.S3FileSystem:
        kwargs: dict[str, Any] = {
            "connect_timeout": self.connect_timeout,
            "request_timeout": self.request_timeout,
            "retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=max(1, self.retries)),
        }
        if self.endpoint_url:
            parts = urlsplit(
                self.endpoint_url if "://" in self.endpoint_url else f"https://{self.endpoint_url}"
            )
            kwargs["scheme"] = parts.scheme or "https"
            kwargs["endpoint_override"] = parts.netloc + parts.path.rstrip("/")
        region = self.region or ("us-east-1" if self.endpoint_url else None)
        if region:
            kwargs["region"] = region
        if self.anonymous:
            kwargs["anonymous"] = True
        elif self.access_key and self.secret_key:
            kwargs["access_key"] = self.access_key.reveal()
            kwargs["secret_key"] = self.secret_key.reveal()
            if self.session_token:
                kwargs["session_token"] = self.session_token.reveal()
        return pafs.S3FileSystem(**kwargs)


@dataclass(frozen=True)
class Entry:
    """A listed file: its path relative to the folder and its size in bytes."""

    path: str
    size: int


@dataclass(frozen=True)
class Skipped:
    """A path under an input folder that is not listed as a document, and why (module
    docstring): ``reason`` a short code, ``detail`` a sentence.  ``bad`` is True for inputs
    that are broken (``broken_link``, ``bad_file_name``, ``unreadable``: quarantine rows), False
    for what is left out on purpose (links, hidden files, the output folder: the summary)."""

    path: str
    reason: str
    detail: str
    bad: bool = False


BAD_REASONS = ("broken_link", "bad_file_name", "unreadable")


@dataclass
class Listing:
    """What :meth:`Folder.scan` found: the documents (``entries``) and the rest (``skipped``)."""

    entries: list[Entry]
    skipped: list[Skipped]


def escape_name(name: str) -> str:
    """A path as printable UTF-8 text: bytes that are not UTF-8 (``os.fsdecode``'s surrogate
    escapes) become ``\\xNN``, control and invisible characters ``\\xNN``/``\\uNNNN``
    (:func:`connectors.records.escape_unsafe`)."""
    return escape_unsafe(name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace"))


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def glob_to_regex(pattern: str, *, case_sensitive: bool = False) -> re.Pattern[str]:
    """Compile a glob for relative POSIX paths: ``*`` and ``?`` stay inside one path
    component, ``**/`` matches zero or more folders, ``[abc]``/``[!abc]`` are classes."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        if pattern.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            j = i + 1
            if j < n and pattern[j] in "!^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j >= n:
                out.append(re.escape("["))
                i += 1
                continue
            body = pattern[i + 1 : j]
            negate = body[:1] in ("!", "^")
            if negate:
                body = body[1:]
            body = body.replace("\\", "\\\\")
            out.append(f"[{'^/' if negate else ''}{body}]")
            i = j + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z", 0 if case_sensitive else re.IGNORECASE)


def _skipped(rel: str) -> bool:
    """True for hidden, temporary, partial and lock files, and anything inside a hidden or
    underscore folder."""
    parts = rel.split("/")
    for part in parts:
        if not part or part.startswith((".", "_", "~$")):
            return True
    return parts[-1].lower().endswith(_TEMP_SUFFIXES)


def _clean_rel(path: str) -> str:
    """Validate a path relative to a folder (POSIX, no ``..``, no leading ``/``)."""
    path = str(path).replace("\\", "/")
    if path.startswith("/"):
        raise ValueError(f"expected a path relative to the folder, got {path!r}")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ValueError(f"'..' is not allowed in a folder path: {path!r}")
    return "/".join(parts)


class Folder:
    """A local folder or an S3 prefix (see the module docstring).

    Paths given to and returned by the methods are relative POSIX paths; ``uri(path)`` turns
    one into a full URI (``s3://bucket/prefix/a.pdf``) or an absolute local path.
    """

    def __init__(self, uri: str, *, s3: S3Options | None = None) -> None:
        self._uri, self._scheme, self._base = _parse_uri(uri)
        self._s3 = (s3 or S3Options.from_env()) if self._scheme == "s3" else None
        self._fs: pafs.FileSystem | None = None
        self._root: str | None = None  # resolved lazily: the base, or its parent for a file
        self._single: str | None = None  # the file name when the URI names one file
        self._kind = "unknown"  # "file", "dir" or "missing" once resolved

    @classmethod
    def from_uri(
        cls,
        uri: str | os.PathLike[str] | Folder,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        session_token: str | None = None,
        anonymous: bool | None = None,
        env: Mapping[str, str] | None = None,
        **s3_options: Any,
    ) -> Folder:
        """A folder for ``uri``; S3 options not given explicitly come from ``env``
        (default ``os.environ``).  Extra ``s3_options``: ``connect_timeout``,
        ``request_timeout``, ``retries``.  A :class:`Folder` is returned as is."""
        if isinstance(uri, Folder):
            return uri
        uri = os.fspath(uri)
        if str(uri).lower().startswith(("s3://", "s3a://")):
            s3 = S3Options.from_env(
                env,
                endpoint_url=endpoint_url,
                region=region,
                access_key=access_key,
                secret_key=secret_key,
                session_token=session_token,
                anonymous=anonymous,
                **s3_options,
            )
            return cls(uri, s3=s3)
        return cls(uri)

    # ------------------------------------------------------------------ identity

    @property
    def is_s3(self) -> bool:
        return self._scheme == "s3"

    @property
    def fs(self) -> pafs.FileSystem:
        """The :mod:`pyarrow.fs` filesystem (made on first use, also after unpickling)."""
        if self._fs is None:
            if self._s3 is not None:
                try:
                    self._fs = self._s3.filesystem()
                except Exception as e:
                    raise ConnectorError(
                        self._redact(f"cannot set up S3 access for {self._uri}: {e}")
                    ) from None
            else:
                self._fs = pafs.LocalFileSystem()
        return self._fs

    @property
    def base(self) -> str:
        """The folder's path inside :attr:`fs` (``bucket/prefix`` or ``/abs/path``); for a
        single-file URI, the file's folder."""
        return self._resolve()

    @property
    def single_file(self) -> str | None:
        """The file name when the URI names one file, else None."""
        self._resolve()
        return self._single

    def uri(self, path: str = "") -> str:
        """The full URI of ``path`` (``s3://...``) or its absolute local path."""
        full = self._full(path)
        return f"s3://{full}" if self.is_s3 else full

    def fs_path(self, path: str = "") -> str:
        """The path of ``path`` inside :attr:`fs` (``bucket/prefix/a.pdf`` or ``/abs/a.pdf``)."""
        return self._full(path)

    def child(self, path: str) -> Folder:
        """A folder for a sub-path, sharing the S3 settings."""
        sub = Folder.__new__(Folder)
        sub._scheme, sub._s3, sub._fs = self._scheme, self._s3, self._fs
        sub._base = self._full(path)
        sub._uri = f"s3://{sub._base}" if self.is_s3 else sub._base
        sub._root, sub._single, sub._kind = None, None, "unknown"
        return sub

    def __repr__(self) -> str:
        if self.is_s3:
            return f"Folder({self._uri!r}, endpoint={self._s3.endpoint_url if self._s3 else None!r})"
        return f"Folder({self._uri!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Folder) and (self._uri, self._s3) == (other._uri, other._s3)

    def __hash__(self) -> int:
        return hash(self._uri)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_fs"] = None  # rebuilt on the worker from the options
        return state

    # ------------------------------------------------------------------ listing

    def list(
        self,
        pattern: str | Iterable[str] | None = None,
        *,
        recursive: bool = True,
        case_sensitive: bool = False,
    ) -> list[str]:
        """Sorted relative paths of the files matching ``pattern`` (one glob or several).

        A pattern without ``/`` matches the file name at any depth (``"*.pdf"``), one with
        ``/`` matches the whole relative path (``"2024/**/*.pdf"``).  No pattern: all files.
        Matching ignores case unless ``case_sensitive``.  Hidden, temporary and partial files
        are skipped (module docstring).  Raises :class:`ConnectorError` when the folder does
        not exist or cannot be listed.
        """
        return [
            e.path for e in self.list_entries(pattern, recursive=recursive, case_sensitive=case_sensitive)
        ]

    def list_entries(
        self,
        pattern: str | Iterable[str] | None = None,
        *,
        recursive: bool = True,
        case_sensitive: bool = False,
    ) -> list[Entry]:
        """Like :meth:`list`, with each file's size (one listing, no extra requests)."""
        return self.scan(pattern, recursive=recursive, case_sensitive=case_sensitive).entries

    def scan(
        self,
        pattern: str | Iterable[str] | None = None,
        *,
        recursive: bool = True,
        case_sensitive: bool = False,
        follow_links: bool = False,
        exclude: Iterable[str] = (),
    ) -> Listing:
        """The files :meth:`list_entries` lists, and every other path met on the way with the
        reason it is not listed (module docstring).  ``exclude``: folders (paths inside
        :attr:`fs`, as :meth:`fs_path` gives them) whose contents are never listed.  Files
        that do not match ``pattern`` are neither listed nor reported."""
        root = self._resolve(must_exist=True)
        if self._single is not None:
            info = self._call(
                "read", self._single, lambda: self.fs.get_file_info(posixpath.join(root, self._single))
            )
            return Listing([Entry(self._single, int(info.size or 0))], [])
        if isinstance(pattern, str):
            pattern = [pattern]
        regexes = [(p, glob_to_regex(p, case_sensitive=case_sensitive)) for p in (pattern or [])]

        def wanted(rel: str) -> bool:
            return not regexes or any(
                rx.match(rel if "/" in p else posixpath.basename(rel)) for p, rx in regexes
            )

        excluded = [e.rstrip("/") for e in exclude if e]
        if self.is_s3:
            listing = self._scan_s3(root, recursive, excluded)
        else:
            listing = _LocalWalk(root, recursive, follow_links, excluded, wanted).run()
        entries = sorted((e for e in listing.entries if wanted(e.path)), key=lambda e: e.path)
        skipped = [  # folders and names that cannot be matched are always reported
            k
            for k in listing.skipped
            if k.path.endswith("/") or k.reason == "bad_file_name" or wanted(k.path)
        ]
        return Listing(entries, sorted(skipped, key=lambda k: (k.path, k.reason)))

    def _scan_s3(self, root: str, recursive: bool, excluded: list[str]) -> Listing:
        selector = pafs.FileSelector(root, recursive=recursive, allow_not_found=False)
        infos = self._call("list", "", lambda: self.fs.get_file_info(selector))
        prefix = root.rstrip("/") + "/"
        entries, skipped = [], []
        for info in infos:
            if info.type != pafs.FileType.File or not info.path.startswith(prefix):
                continue
            rel = info.path[len(prefix) :]
            if any(_inside(info.path, x) for x in excluded):
                skipped.append(Skipped(rel, "excluded", "inside the output folder"))
            elif _skipped(rel):
                skipped.append(Skipped(rel, "hidden", "a hidden, temporary or partial file"))
            else:
                entries.append(Entry(rel, int(info.size or 0)))
        return Listing(entries, skipped)

    # ------------------------------------------------------------------ files

    def open_input(self, path: str = "") -> Any:
        """A random-access readable pyarrow file (use as a context manager)."""
        return self._call("read", path, lambda: self.fs.open_input_file(self._full(path)))

    def read_bytes(self, path: str = "") -> bytes:
        with self.open_input(path) as f:
            return self._call("read", path, f.read)

    def open_output(self, path: str) -> Any:
        """A writable pyarrow stream (use as a context manager); local parent folders are
        created.  Writes are not atomic: write to a temporary name, then :meth:`rename`."""
        full = self._full(path)
        if not self.is_s3:
            self._call("write", path, lambda: self.fs.create_dir(posixpath.dirname(full), recursive=True))
        return self._call("write", path, lambda: self.fs.open_output_stream(full))

    def write_bytes(self, path: str, data: bytes) -> None:
        with self.open_output(path) as f:
            f.write(data)

    def exists(self, path: str = "") -> bool:
        info = self._call("read", path, lambda: self.fs.get_file_info(self._full(path)))
        return info.type != pafs.FileType.NotFound

    def size(self, path: str = "") -> int:
        info = self._call("read", path, lambda: self.fs.get_file_info(self._full(path)))
        if info.type == pafs.FileType.NotFound:
            raise ConnectorError(f"not found: {self.uri(path)}")
        return int(info.size or 0)

    def delete(self, path: str, *, missing_ok: bool = True) -> None:
        """Delete one file (folders: :meth:`delete_dir`)."""
        full = self._full(path)
        try:
            self.fs.delete_file(full)
        except FileNotFoundError:
            if not missing_ok:
                raise ConnectorError(f"cannot delete {self.uri(path)}: not found") from None
        except OSError as e:
            if not missing_ok or self.exists(path):
                raise ConnectorError(self._redact(f"cannot delete {self.uri(path)}: {e}")) from None

    def delete_dir(self, path: str) -> None:
        """Delete a sub-folder and everything in it (no error when it does not exist)."""
        full = self._full(path)
        if not _clean_rel(path):
            raise ValueError("refusing to delete the folder's own root; name a sub-folder")
        if self.exists(path):
            self._call("delete", path, lambda: self.fs.delete_dir(full))

    def rename(self, src: str, dst: str) -> None:
        """Move ``src`` to ``dst``, replacing ``dst``.  Atomic on local disks (``rename(2)``);
        on S3 a copy then a delete (readers see either the old or the complete new object)."""
        full_dst = self._full(dst)
        if not self.is_s3:
            self._call("write", dst, lambda: self.fs.create_dir(posixpath.dirname(full_dst), recursive=True))
        self._call("write", dst, lambda: self.fs.move(self._full(src), full_dst))

    # ------------------------------------------------------------------ internals

    def _full(self, path: str) -> str:
        rel = _clean_rel(path)
        root = self._resolve()
        if not rel:
            return posixpath.join(root, self._single) if self._single else root
        return f"{root.rstrip('/')}/{rel}" if root != "/" else f"/{rel}"

    def _resolve(self, must_exist: bool = False) -> str:
        """Find out once whether the URI names a file (then the root is its folder); a
        missing base is looked up again when it must exist (it may have been created)."""
        if self._root is None or (must_exist and self._kind == "missing"):
            info = self._call("read", "", lambda: self.fs.get_file_info(self._base), root=True)
            if info.type == pafs.FileType.File:
                self._root, self._single, self._kind = (
                    posixpath.dirname(self._base),
                    posixpath.basename(self._base),
                    "file",
                )
            else:
                self._root, self._single = self._base, None
                self._kind = "missing" if info.type == pafs.FileType.NotFound else "dir"
            if must_exist and self._kind == "missing":
                raise ConnectorError(self._not_found_message())
        return self._root

    def _not_found_message(self) -> str:
        if self.is_s3:
            bucket = self._base.split("/", 1)[0]
            try:
                bucket_info = self.fs.get_file_info(bucket)
            except OSError:
                bucket_info = None
            if bucket_info is not None and bucket_info.type == pafs.FileType.NotFound:
                return f"not found: {self._uri} (bucket {bucket!r} does not exist)"
            return f"not found: {self._uri} (no object or prefix by that name)"
        return f"not found: {self._uri} (no such file or folder)"

    def _redact(self, message: str) -> str:
        for secret in self._s3.secrets() if self._s3 else ():
            if secret:
                message = message.replace(secret, "***")
        return message

    def _call(self, action: str, path: str, fn: Any, *, root: bool = False) -> Any:
        """Run a pyarrow call; turn its errors into ConnectorError naming the URI."""
        try:
            return fn()
        except ConnectorError:
            raise
        except FileNotFoundError:
            target = self._uri if root else self.uri(path)
            raise ConnectorError(f"cannot {action} {target}: not found") from None
        except (OSError, pa.ArrowException) as e:
            target = self._uri if root else self.uri(path)
            where = f" (endpoint {self._s3.endpoint_url})" if self._s3 and self._s3.endpoint_url else ""
            raise ConnectorError(self._redact(f"cannot {action} {target}{where}: {e}")) from None


class _LocalWalk:
    """The walk of a local input folder (module docstring): real directories first, each
    once, then the links met on the way (so a file is listed under its real path when it
    has one), then the folders the followed links lead to, and so on."""

    def __init__(self, root: str, recursive: bool, follow_links: bool, excluded: list[str], wanted) -> None:
        self.root = os.path.realpath(root)
        self.wanted = wanted
        self.recursive = recursive
        self.follow = follow_links
        self.excluded = [os.path.realpath(x) for x in excluded]
        self.entries: list[Entry] = []
        self.skipped: list[Skipped] = []
        self.seen_dirs: set[tuple[int, int]] = set()
        self.seen_files: dict[tuple[int, int], str] = {}  # identity -> the listed path
        self.links: list[tuple[str, str]] = []  # (rel, full) of links not resolved yet

    def skip(self, rel: str, reason: str, detail: str) -> None:
        self.skipped.append(Skipped(escape_name(rel), reason, detail, reason in BAD_REASONS))

    def run(self) -> Listing:
        try:
            st = os.stat(self.root)
        except OSError as e:
            raise ConnectorError(f"cannot list {self.root}: {e.strerror or e}") from None
        self.seen_dirs.add((st.st_dev, st.st_ino))
        self.walk(self.root, "")
        while self.links:
            links, self.links = sorted(self.links), []
            for rel, full in links:
                self.link(rel, full)
        return Listing(self.entries, self.skipped)

    def walk(self, full: str, rel: str) -> None:
        """A real directory and every real folder under it (with a stack, not recursion: a
        hostile tree may nest thousands of folders deep)."""
        stack = [(full, rel)]
        while stack:
            stack.extend(reversed(self.walk_one(*stack.pop())))

    def walk_one(self, full: str, rel: str) -> list[tuple[str, str]]:
        """One real directory: its files are listed, its links kept for later; returns its
        sub-folders to walk."""
        folders: list[tuple[str, str]] = []
        try:
            with os.scandir(full) as it:
                children = sorted(it, key=lambda d: os.fsencode(d.name))
        except OSError as e:
            if rel:
                self.skip(rel + "/", "unreadable", f"the folder cannot be read: {e.strerror or e}")
                return folders
            raise ConnectorError(f"cannot list {full}: {e.strerror or e}") from None
        for d in children:
            child = f"{rel}/{d.name}" if rel else d.name
            try:
                is_link = d.is_symlink()
                is_dir = not is_link and d.is_dir(follow_symlinks=False)
                is_file = not is_link and d.is_file(follow_symlinks=False)
            except OSError as e:
                self.skip(child, "unreadable", f"cannot stat it: {e.strerror or e}")
                continue
            if not _utf8(d.name):
                what = "folder" if is_dir else "file"
                self.skip(
                    child + ("/" if is_dir else ""),
                    "bad_file_name",
                    f"the {what} name is not valid UTF-8 (shown with its bytes escaped); rename it "
                    "(e.g. `convmv -f gbk -t utf-8`)"
                    + (" to read the files in it" if is_dir else " to read it"),
                )
                continue
            if _skipped(child):
                self.skip(child + ("/" if is_dir else ""), "hidden", "a hidden, temporary or partial name")
                continue
            if is_link:
                self.links.append((child, d.path))
            elif is_dir:
                if any(_inside(os.path.realpath(d.path), x) for x in self.excluded):
                    self.skip(child + "/", "excluded", "the run's output folder: never read as input")
                    continue
                if not self.recursive:
                    continue
                try:
                    st = d.stat(follow_symlinks=False)
                except OSError as e:
                    self.skip(child + "/", "unreadable", f"cannot stat it: {e.strerror or e}")
                    continue
                if (st.st_dev, st.st_ino) in self.seen_dirs:  # a bind mount of a walked folder
                    self.skip(child + "/", "link_loop", "the same folder as one already read")
                    continue
                self.seen_dirs.add((st.st_dev, st.st_ino))
                folders.append((d.path, child))
            elif is_file:
                try:
                    st = d.stat(follow_symlinks=False)
                except OSError as e:  # gone since the folder was read, or no permission
                    self.skip(child, "unreadable", f"cannot stat it: {e.strerror or e}")
                    continue
                self.add(child, st)
            else:
                self.skip(child, "not_a_file", "not a regular file (a FIFO, socket or device)")
        return folders

    def add(self, rel: str, st: os.stat_result) -> None:
        if self.wanted(rel):
            self.seen_files.setdefault((st.st_dev, st.st_ino), rel)
            self.entries.append(Entry(rel, int(st.st_size)))

    def link(self, rel: str, full: str) -> None:
        target = os.path.realpath(full)
        try:
            st = os.stat(full)
        except OSError as e:
            why = (
                "a loop of links"
                if e.errno == errno.ELOOP
                else f"{escape_name(target)}, which does not exist"
            )
            self.skip(rel, "broken_link", f"a symbolic link to {why}")
            return
        inside = _inside(target, self.root)
        if not inside and not self.follow:
            self.skip(
                rel + ("/" if stat.S_ISDIR(st.st_mode) else ""),
                "link_outside",
                f"a symbolic link to {escape_name(target)}, outside the input folder (--follow-links reads it)",
            )
            return
        if any(_inside(target, x) for x in self.excluded):
            self.skip(rel, "excluded", "a link into the run's output folder: never read as input")
            return
        key = (st.st_dev, st.st_ino)
        if stat.S_ISDIR(st.st_mode):
            if key in self.seen_dirs:
                self.skip(rel + "/", "link_loop", f"a link to a folder already read ({escape_name(target)})")
            elif inside:
                self.skip(
                    rel + "/", "link_inside", "a link to a folder inside the input: read under its own path"
                )
            elif self.recursive:
                self.seen_dirs.add(key)
                self.walk(full, rel)
        elif stat.S_ISREG(st.st_mode):
            if key in self.seen_files:
                self.skip(
                    rel, "duplicate_link", f"a link to {escape_name(self.seen_files[key])}, which is read"
                )
            else:
                self.add(rel, st)
        else:
            self.skip(rel, "not_a_file", "a link to something that is not a regular file")


def _parse_uri(uri: str) -> tuple[str, str, str]:
    """(display URI, scheme, base path inside the filesystem)."""
    uri = str(uri)
    if "://" in uri:
        parts = urlsplit(uri)
        scheme = parts.scheme.lower()
        if scheme in ("s3", "s3a"):
            bucket = parts.netloc
            if not bucket:
                raise ConnectorError(f"no bucket in S3 URI {uri!r} (expected s3://bucket/prefix)")
            key = unquote(parts.path).strip("/")
            base = f"{bucket}/{key}" if key else bucket
            return f"s3://{base}", "s3", base
        if scheme == "file":
            path = unquote(parts.path)
        else:
            raise ConnectorError(f"unsupported URI scheme {scheme!r} in {uri!r} (use a local path or s3://)")
    else:
        path = uri
    local = Path(path).expanduser().resolve(strict=False).as_posix()
    return local, "file", local
