"""Reading request bodies: multipart (streamed to disk), urlencoded and JSON forms.

The archive of a push is never held in memory: python-multipart's streaming parser hands over
the bytes of the ``file`` part piece by piece (read from the socket in pieces of up to
:data:`CHUNK` bytes), and they go straight to a file under ``DIR/uploads``. Nothing is hashed
on this path, so an upload is received at the speed of the socket and the disk: the
protocol's MD5 is checked by the build, which reads the archive anyway (``builder.py``). The
pieces are written by a thread of their own (``_DiskWriter``), so the disk's time overlaps the
parsing's: python-multipart's search for the boundary holds the GIL, a write does not.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import parse_qs

from python_multipart.multipart import MultipartParser, parse_options_header

from localhub.errors import (
    DATA_STREAM_BROKEN,
    PARAM_VALIDATION,
    SERVER_INTERNAL,
    TOO_LARGE_FILE,
    UNEXPECTED_MIME_TYPE,
    RpcError,
)

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

#: Largest piece of a body read at once (and written to disk at once).
CHUNK = 1024 * 1024
#: Pieces received but not written yet (memory: at most this many pieces).
_WRITE_BACKLOG = 8
#: Text fields and non-multipart bodies are small; anything bigger is refused.
MAX_FIELD_BYTES = 1024 * 1024


@dataclass
class UploadedFile:
    """The ``file`` part of a multipart body, saved on disk."""

    path: Path
    size: int
    #: The MD5 the push claims for it (its ``md5sum`` field); the build checks it.
    md5sum: str = ""

    def discard(self) -> None:
        """Remove the saved file (when the upload is refused)."""
        self.path.unlink(missing_ok=True)


@dataclass
class Form:
    """The fields of a request (last value wins) and the uploaded file, if any."""

    fields: dict[str, str] = field(default_factory=dict)
    file: UploadedFile | None = None

    def get(self, name: str) -> str | None:
        """The value of a field, or None when it was not sent."""
        return self.fields.get(name)


class Reader(Protocol):
    """What a body is read from (the handler's ``rfile``)."""

    def read(self, size: int, /) -> bytes: ...

    def readline(self, size: int, /) -> bytes: ...


class Body:
    """A request body read piece by piece: by Content-Length, or chunked transfer encoding.

    It remembers where it is, so that a refused request can be drained from where parsing
    stopped (the client then reads our answer instead of a connection reset).
    """

    def __init__(self, headers: Message, rfile: Reader) -> None:
        self._rfile = rfile
        self._chunked = "chunked" in (headers.get("Transfer-Encoding") or "").lower()
        self._remaining = 0
        self._done = False
        if not self._chunked:
            try:
                self._remaining = int(headers.get("Content-Length") or 0)
            except ValueError:
                self._done = True
                raise RpcError(
                    PARAM_VALIDATION, "The Content-Length header is not a number."
                ) from None
            self._done = self._remaining <= 0

    def __iter__(self) -> Iterator[bytes]:
        while True:
            piece = self.read_piece()
            if not piece:
                return
            yield piece

    def read_piece(self) -> bytes:
        """The next piece of the body, or b"" at its end."""
        if self._done:
            return b""
        if self._chunked and self._remaining == 0:
            self._next_chunk()
            if self._done:
                return b""
        data = self._rfile.read(min(CHUNK, self._remaining))
        if not data:
            self._done = True
            raise RpcError(DATA_STREAM_BROKEN, "The upload ended before it was complete.")
        self._remaining -= len(data)
        if self._remaining == 0:
            if self._chunked:
                self._rfile.readline(1024)  # the CRLF after each chunk
            else:
                self._done = True
        return data

    def _next_chunk(self) -> None:
        size_line = self._rfile.readline(1024)
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            self._done = True
            raise RpcError(DATA_STREAM_BROKEN, "The chunked upload is malformed.") from None
        if size == 0:
            while self._rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            self._done = True
        self._remaining = size

    def drain(self) -> None:
        """Read and drop what is left of the body."""
        with contextlib.suppress(RpcError, OSError):
            while self.read_piece():
                pass


def _small_body(body: Body) -> bytes:
    data = bytearray()
    for piece in body:
        data += piece
        if len(data) > MAX_FIELD_BYTES:
            body.drain()
            raise RpcError(PARAM_VALIDATION, "The request body is too large for this method.")
    return bytes(data)


def read_form(
    headers: Message,
    body: Body,
    *,
    uploads_dir: Path,
    max_upload_bytes: int | None = None,
) -> Form:
    """Parse the body by its Content-Type; multipart file parts are streamed to disk."""
    content_type, options = parse_options_header(headers.get("Content-Type") or "")
    if content_type == b"multipart/form-data":
        boundary = options.get(b"boundary")
        if not boundary:
            body.drain()
            raise RpcError(PARAM_VALIDATION, "The multipart body has no boundary.")
        return _MultipartReader(boundary, uploads_dir, max_upload_bytes).read(body)
    data = _small_body(body)
    if content_type in (b"application/x-www-form-urlencoded", b""):
        parsed = parse_qs(data.decode("utf-8", "replace"), keep_blank_values=True)
        return Form(fields={key: values[-1] for key, values in parsed.items()})
    if content_type == b"application/json":
        return Form(fields=_json_fields(data))
    raise RpcError(
        UNEXPECTED_MIME_TYPE,
        f"Unsupported Content-Type {content_type.decode('latin-1')!r}: send a form or JSON.",
    )


def _json_fields(body: bytes) -> dict[str, str]:
    if not body.strip():
        return {}
    try:
        loaded = json.loads(body)
    except json.JSONDecodeError:
        raise RpcError(PARAM_VALIDATION, "The request body is not valid JSON.") from None
    if not isinstance(loaded, dict):
        raise RpcError(PARAM_VALIDATION, "The request body must be a JSON object.")
    fields: dict[str, str] = {}
    for key, value in loaded.items():
        if isinstance(value, str):
            fields[key] = value
        elif isinstance(value, bool):
            fields[key] = "True" if value else "False"
        elif value is not None:
            fields[key] = json.dumps(value)
    return fields


class _DiskError(Exception):
    """Writing the upload to disk failed (not the socket: that is the client's doing)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error.strerror or str(error))


class _DiskWriter:
    """The file part's pieces, written to its file by a thread of its own, in order."""

    def __init__(self, fd: int) -> None:
        self._out = os.fdopen(fd, "wb", buffering=0)
        self._pieces: queue.Queue[memoryview | None] = queue.Queue(_WRITE_BACKLOG)
        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._run, name="localhub-write", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (piece := self._pieces.get()) is not None:
            while self._error is None and piece:
                try:
                    piece = piece[self._out.write(piece) or 0 :]
                except OSError as exc:
                    self._error = exc

    def write(self, piece: memoryview) -> None:
        """Queue a piece (its bytes must not change: a view of an immutable `bytes`)."""
        if self._error is not None:
            raise _DiskError(self._error)
        self._pieces.put(piece)

    def close(self) -> None:
        """Wait for the queued pieces, close the file; raise the write's error, if any."""
        if self._thread.is_alive():
            self._pieces.put(None)
            self._thread.join()
        self._out.close()
        if self._error is not None:
            raise _DiskError(self._error)


class _MultipartReader:
    """Callbacks for python-multipart: text fields in memory, the file part on disk."""

    def __init__(self, boundary: bytes, uploads_dir: Path, max_upload_bytes: int | None) -> None:
        self._boundary = boundary
        self._uploads_dir = uploads_dir
        self._max_upload = max_upload_bytes
        self._form = Form()
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._part_headers: dict[str, str] = {}
        self._name: str | None = None
        self._is_file = False
        self._value = bytearray()
        self._out: _DiskWriter | None = None
        self._out_path: Path | None = None
        self._size = 0
        self._too_large = False
        self._field_too_large = False

    def read(self, body: Body) -> Form:
        callbacks: MultipartCallbacks = {
            "on_part_begin": self._on_part_begin,
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
            "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end,
        }
        parser = MultipartParser(self._boundary, callbacks)
        try:
            for piece in body:
                parser.write(piece)
            parser.finalize()
        except RpcError:
            self._abort()
            raise
        except _DiskError as exc:
            self._abort()
            body.drain()
            raise RpcError(SERVER_INTERNAL, f"The Hub could not store the upload: {exc}.") from None
        except Exception as exc:  # python-multipart's own errors
            self._abort()
            body.drain()
            raise RpcError(DATA_STREAM_BROKEN, f"The multipart body is malformed: {exc}") from None
        finally:
            if self._out is not None:  # an error above, or a file part that never ended
                with contextlib.suppress(_DiskError):
                    self._out.close()
                self._out = None
            if self._out_path is not None:  # ... which no form holds: not left behind
                self._out_path.unlink(missing_ok=True)
                self._out_path = None
        if self._too_large:
            self._abort()
            raise RpcError(
                TOO_LARGE_FILE,
                f"The uploaded archive is larger than this Hub accepts ({self._max_upload} bytes).",
            )
        if self._field_too_large:
            self._abort()
            raise RpcError(PARAM_VALIDATION, "A form field of the request is too large.")
        return self._form

    def _abort(self) -> None:
        if self._out is not None:
            with contextlib.suppress(_DiskError):
                self._out.close()
            self._out = None
        if self._out_path is not None:
            self._out_path.unlink(missing_ok=True)
        if self._form.file is not None:
            self._form.file.discard()
            self._form.file = None

    def _on_part_begin(self) -> None:
        self._part_headers = {}
        self._name = None
        self._is_file = False
        self._value = bytearray()

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        key = self._header_field.decode("latin-1").strip().lower()
        self._part_headers[key] = self._header_value.decode("utf-8", "replace").strip()
        self._header_field = bytearray()
        self._header_value = bytearray()

    def _on_headers_finished(self) -> None:
        _, options = parse_options_header(self._part_headers.get("content-disposition", ""))
        raw_name = options.get(b"name")
        self._name = raw_name.decode("utf-8", "replace") if raw_name is not None else None
        self._is_file = b"filename" in options or self._name == "file"
        if self._is_file:
            if self._form.file is not None:
                self._form.file.discard()
                self._form.file = None
            fd, name = tempfile.mkstemp(prefix="upload-", suffix=".zip", dir=self._uploads_dir)
            self._out = _DiskWriter(fd)
            self._out_path = Path(name)
            self._size = 0

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        # No copy of the received bytes (immutable): the queued view keeps them alive.
        piece = memoryview(data if isinstance(data, bytes) else bytes(data))[start:end]
        if not self._is_file:
            if len(self._value) + len(piece) > MAX_FIELD_BYTES:
                self._field_too_large = True
            else:
                self._value += piece
            return
        self._size += len(piece)
        if self._max_upload is not None and self._size > self._max_upload:
            self._too_large = True
        if self._too_large or self._out is None:
            return
        self._out.write(piece)

    def _on_part_end(self) -> None:
        if self._is_file:
            if self._out is not None:
                out, self._out = self._out, None
                out.close()  # a disk error is raised here, once
            if self._out_path is not None and self._too_large:
                self._out_path.unlink(missing_ok=True)
            elif self._out_path is not None:
                self._form.file = UploadedFile(path=self._out_path, size=self._size)
            self._out_path = None
        elif self._name is not None:
            self._form.fields[self._name] = self._value.decode("utf-8", "replace")
