"""Run the local Hub as a subprocess (tests, the demo): start, stop, restart, its URL.

The server's stderr goes to ``DATA_DIR/server.log`` (appended across restarts), never to a
pipe that could fill up. The port is picked on the first start (``--port 0``) and kept for
restarts, so a client's URL stays valid.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

START_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0


@dataclass
class LocalHub:
    """One local Hub server process over a data folder."""

    data_dir: Path
    users: Mapping[str, str]
    build_seconds: float
    extra_args: Sequence[str]
    host: str = "127.0.0.1"
    port: int = 0
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _log: IO[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        """Where the server's stderr goes."""
        return self.data_dir / "server.log"

    @property
    def port_file(self) -> Path:
        return self.data_dir / "server.port"

    def command(self) -> list[str]:
        """The command line that starts the server."""
        cmd = [
            sys.executable,
            "-m",
            "localhub",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--data",
            str(self.data_dir),
            "--build-seconds",
            str(self.build_seconds),
            "--port-file",
            str(self.port_file),
        ]
        for name, token in self.users.items():
            cmd += ["--user", f"{name}:{token}"]
        return cmd + list(self.extra_args)

    def start(self) -> None:
        """Start the server and wait until it accepts connections (at most 15 s)."""
        if self._process is not None and self._process.poll() is None:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port_file.unlink(missing_ok=True)
        self._log = self.log_path.open("ab")
        env = dict(os.environ)
        src = str(Path(__file__).resolve().parents[2] / "src")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
        env["PYTHONUNBUFFERED"] = "1"
        self._process = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
            env=env,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._fail(f"the local Hub exited with code {self._process.returncode}")
            port = self._read_port()
            if port is not None and self._connects(port):
                self.port = port
                return
            time.sleep(0.05)
        self.stop()
        self._fail(f"the local Hub did not listen within {START_TIMEOUT:.0f} s")

    def stop(self) -> None:
        """SIGTERM, wait up to 5 s, then SIGKILL."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self) -> None:
        """Stop, then start again on the same port and data."""
        self.stop()
        self.start()

    def log_tail(self, lines: int = 40) -> str:
        """The last lines the server wrote to its log."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _read_port(self) -> int | None:
        try:
            text = self.port_file.read_text(encoding="ascii").strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def _connects(self, port: int) -> bool:
        try:
            with socket.create_connection((self.host, port), timeout=0.5):
                return True
        except OSError:
            return False

    def _fail(self, what: str) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        raise RuntimeError(f"{what}; its log ({self.log_path}) ends with:\n{self.log_tail()}")


@contextmanager
def local_hub(
    data_dir: Path,
    *,
    users: Mapping[str, str] | None = None,
    build_seconds: float = 0.2,
    extra_args: Sequence[str] = (),
) -> Iterator[LocalHub]:
    """A started local Hub over ``data_dir``; always stopped on exit."""
    hub = LocalHub(
        data_dir=Path(data_dir),
        users=dict(users or {}),
        build_seconds=build_seconds,
        extra_args=tuple(extra_args),
    )
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()
