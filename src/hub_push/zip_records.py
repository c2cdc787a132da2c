"""The ZIP records of an archive, written front to back: local headers, data, the central
directory (ZIP64 where sizes or offsets need it), every byte final as written and fed to the md5
on a thread of its own. Entries carry a fixed time and mode, so the same files give the same
bytes.
"""

from __future__ import annotations

import hashlib
import os
import queue
import stat
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from hub_push.errors import ExecutorError, SourceLocation
from hub_push.folder_files import location

FIXED_TIME = (1980, 1, 1, 0, 0, 0)
CHUNK = 1024 * 1024
STORED, DEFLATED = 0, 8
_ZIP64_LIMIT = (1 << 31) - 1  # as `zipfile`: larger sizes and offsets take ZIP64 fields
_VERSION = 20  # "version needed to extract" of deflate and stored
_VERSION_ZIP64 = 45
_UNIX = 3
_DOS_DATE = (FIXED_TIME[0] - 1980) << 9 | FIXED_TIME[1] << 5 | FIXED_TIME[2]
_DOS_TIME = FIXED_TIME[3] << 11 | FIXED_TIME[4] << 5 | FIXED_TIME[5] // 2
_UTF8_NAME = 0x800
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_END64 = struct.Struct("<4sQ2H2L4Q")
_END64_LOCATOR = struct.Struct("<4sLQL")
_HASH_BACKLOG = 8  # written chunks waiting for the md5


@dataclass
class Entry:
    """One file, ready to be written: method, CRC-32 and sizes known, data at hand."""

    name: str
    #: The executor folder: where the entry's file is, for an error (`location`).
    folder: Path
    executable: bool
    method: int
    crc: int
    size: int
    compressed_size: int
    #: A large stored file: the open source, rewound, with its identity (size, mtime) when its
    #: CRC was taken; it is copied from there.
    source: IO[bytes] | None = None
    identity: tuple[int, int] = (0, 0)
    #: Otherwise the bytes to write, at hand: deflated (in memory, or spilled to a file when
    #: large), or a small stored file read whole.
    data: IO[bytes] | None = None
    offset: int = 0

    @property
    def location(self) -> SourceLocation:
        return location(self.folder, self.name)

    def close(self) -> None:
        for stream in (self.source, self.data):
            if stream is not None:
                stream.close()


class _Hashing:
    """One digest of the written bytes, kept by a thread of its own as they are written."""

    def __init__(self, name: str) -> None:
        self._digest = hashlib.new(name, usedforsecurity=False)
        self._queue: queue.Queue[bytes | None] = queue.Queue(_HASH_BACKLOG)
        self._thread = threading.Thread(target=self._run, name=f"hub-push-{name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            self._digest.update(chunk)

    def update(self, chunk: bytes) -> None:
        self._queue.put(chunk)

    def hexdigest(self) -> str:
        self.close()
        return self._digest.hexdigest()

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()


class Md5:
    """The archive's md5 (what the Hub checks it by) and, when asked, its sha256 (what a
    workflow attests), from the one read of the written bytes: each on a thread of its own,
    so the two cores share them with the compression. The sha256 is asked for only (by
    `keep-archive`): measured at 1 GiB it costs about 0.1 s, and the client side's target
    has no room for it."""

    def __init__(self, *, sha256: bool = False) -> None:
        self._md5 = _Hashing("md5")
        self._sha256 = _Hashing("sha256") if sha256 else None

    def update(self, chunk: bytes) -> None:
        self._md5.update(chunk)
        if self._sha256 is not None:
            self._sha256.update(chunk)

    def hexdigest(self) -> str:
        return self._md5.hexdigest()

    def sha256(self) -> str:
        return self._sha256.hexdigest() if self._sha256 is not None else ""

    def close(self) -> None:
        self._md5.close()
        if self._sha256 is not None:
            self._sha256.close()


class Writer:
    """Writes ZIP records front to back; every byte written also goes to the md5."""

    def __init__(self, out: IO[bytes], md5: Md5) -> None:
        self._out = out
        self._md5 = md5
        self._small = bytearray()  # headers and small entries, written in CHUNK-sized pieces
        self.offset = 0

    def write(self, data: bytes) -> None:
        if len(data) < CHUNK // 4:
            self._small += data
            if len(self._small) >= CHUNK:
                self.flush()
            return
        self.flush()
        self._emit(data)

    def flush(self) -> None:
        if self._small:
            self._emit(bytes(self._small))
            self._small.clear()

    def _emit(self, data: bytes) -> None:
        self._out.write(data)
        self._md5.update(data)
        self.offset += len(data)

    def entry(self, entry: Entry, on_bytes: Callable[[int], None]) -> None:
        entry.offset = self.offset + len(self._small)
        self.write(_local_header(entry))
        if entry.source is not None:
            copied = 0
            while chunk := entry.source.read(CHUNK):
                copied += len(chunk)
                if copied > entry.size:
                    break
                self.write(chunk)
                on_bytes(len(chunk))
            now = os.fstat(entry.source.fileno())
            if copied != entry.size or (now.st_size, now.st_mtime_ns) != entry.identity:
                raise ExecutorError(
                    "changed while it was being packed; push again once it is written",
                    entry.location,
                )
        elif entry.data is not None:
            while chunk := entry.data.read(CHUNK):
                self.write(chunk)
            on_bytes(entry.size)

    def central_directory(self, entries: list[Entry]) -> None:
        start = self.offset + len(self._small)
        for entry in entries:
            self.write(_central_header(entry))
        end = self.offset + len(self._small)
        count, size = len(entries), end - start
        if count > 0xFFFF or start > _ZIP64_LIMIT or size > _ZIP64_LIMIT:
            self.write(_END64.pack(b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, size, start))
            self.write(_END64_LOCATOR.pack(b"PK\x06\x07", 0, end, 1))
            count, size, start = min(count, 0xFFFF), min(size, 0xFFFFFFFF), min(start, 0xFFFFFFFF)
        self.write(_END.pack(b"PK\x05\x06", 0, 0, count, count, size, start, 0))
        self.flush()


def _encoded_name(name: str) -> tuple[bytes, int]:
    """The name's bytes and flag bits, as `zipfile` writes them (UTF-8 flagged when not ASCII)."""
    try:
        return name.encode("ascii"), 0
    except UnicodeEncodeError:
        return name.encode("utf-8"), _UTF8_NAME


def _local_zip64(entry: Entry) -> bool:
    return entry.size > _ZIP64_LIMIT or entry.compressed_size > _ZIP64_LIMIT


def _local_header(entry: Entry) -> bytes:
    name, flags = _encoded_name(entry.name)
    size, compressed_size, extra, version = entry.size, entry.compressed_size, b"", _VERSION
    if _local_zip64(entry):
        extra = struct.pack("<HHQQ", 1, 16, size, compressed_size)
        size = compressed_size = 0xFFFFFFFF
        version = _VERSION_ZIP64
    return (
        _LOCAL.pack(
            b"PK\x03\x04", version, 0, flags, entry.method, _DOS_TIME, _DOS_DATE, entry.crc,
            compressed_size, size, len(name), len(extra),
        )
        + name
        + extra
    )  # fmt: skip


def _central_header(entry: Entry) -> bytes:
    name, flags = _encoded_name(entry.name)
    size, compressed_size, offset = entry.size, entry.compressed_size, entry.offset
    fields: list[int] = []
    if size > _ZIP64_LIMIT or compressed_size > _ZIP64_LIMIT:
        fields += [size, compressed_size]
        size = compressed_size = 0xFFFFFFFF
    if offset > _ZIP64_LIMIT:
        fields.append(offset)
        offset = 0xFFFFFFFF
    extra = struct.pack(f"<HH{len(fields)}Q", 1, 8 * len(fields), *fields) if fields else b""
    version = _VERSION_ZIP64 if fields or _local_zip64(entry) else _VERSION
    mode = stat.S_IFREG | (0o755 if entry.executable else 0o644)
    return (
        _CENTRAL.pack(
            b"PK\x01\x02", version, _UNIX, version, 0, flags, entry.method, _DOS_TIME,
            _DOS_DATE, entry.crc, compressed_size, size, len(name), len(extra), 0, 0, 0,
            mode << 16, offset,
        )
        + name
        + extra
    )  # fmt: skip
