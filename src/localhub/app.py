"""Assembling the local Hub: store, builder, service and HTTP server, started and stopped."""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

from localhub.builder import Builder, Changes
from localhub.server import LocalHubServer
from localhub.service import HubService, LocalHubSettings
from localhub.store import Store


class LocalHubApp:
    """One running local Hub: ``start()`` binds and serves, ``stop()`` ends it cleanly."""

    def __init__(
        self,
        data_dir: Path,
        settings: LocalHubSettings,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        build_seconds: float = 1.0,
        fail_requirements: frozenset[str] = frozenset(),
    ) -> None:
        self.store = Store(data_dir)
        self.changes = Changes()
        self.builder = Builder(
            self.store,
            self.changes,
            build_seconds=build_seconds,
            max_unpacked_bytes=settings.max_unpacked_bytes,
            fail_requirements=fail_requirements,
        )
        self.service = HubService(self.store, self.builder, self.changes, settings)
        self.host = host
        self.server = LocalHubServer((host, port), self.service)
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="localhub-http",
            daemon=True,
        )

    @property
    def url(self) -> str:
        """The base URL clients use (``JINA_HUBBLE_REGISTRY``)."""
        return f"http://{self.host}:{self.server.port}"

    def start(self) -> None:
        """Resume unfinished builds, then serve HTTP in a background thread."""
        self.builder.start()
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting requests, end open streams and stop the builders."""
        self.service.stopping.set()
        self.changes.notify()
        self.server.shutdown()
        self.builder.stop()
        self.server.server_close()


def write_port_file(path: Path, port: int) -> None:
    """Write the bound port atomically (a reader never sees a partial file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".port-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(f"{port}\n")
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
