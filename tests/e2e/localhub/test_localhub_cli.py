"""The command line: port 0 and the port file, the ready line, a clean stop on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


@pytest.mark.timeout(30)
def test_server_writes_its_port_prints_the_ready_line_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    port_file = tmp_path / "port"
    log = (tmp_path / "stderr.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "localhub",
            "--port",
            "0",
            "--data",
            str(tmp_path / "data"),
            "--port-file",
            str(port_file),
            "--user",
            "carol:carol-token",
        ],
        stdin=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 15
        while not port_file.exists():
            assert process.poll() is None, (tmp_path / "stderr.log").read_text()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        port = int(port_file.read_text())
        url = f"http://127.0.0.1:{port}"
        response = httpx.post(
            f"{url}/v2/rpc/user.identity.whoami",
            headers={"Authorization": "token carol-token"},
            trust_env=False,
        )
        assert response.json()["data"]["name"] == "carol"
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()
    stderr = (tmp_path / "stderr.log").read_text()
    assert f"local Hub listening on {url}" in stderr
    assert "carol-token" not in stderr
    assert (tmp_path / "data" / "hub.sqlite3").exists()


def test_user_without_a_token_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "localhub", "--data", str(tmp_path), "--user", "nobody"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "NAME:TOKEN" in result.stderr
