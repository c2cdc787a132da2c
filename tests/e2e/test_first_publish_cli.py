"""A first publish's SECRET outside Actions: printed only to a terminal (a pseudo-terminal
here), else kept in a file only its owner reads; `--secret-file` names that file."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

MakeExecutor = Callable[..., Path]
CLI = Path(sys.executable).parent / "hub-push"
pytestmark = pytest.mark.timeout(120)


def environment(shared_hub: Any, home: Path) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": str(home), "JINA_HUBBLE_REGISTRY": shared_hub.url}


def test_on_a_terminal_the_secret_is_shown_once(
    shared_hub: Any, make_executor: MakeExecutor, tmp_path: Path
) -> None:
    folder = make_executor()
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        [str(CLI), "--path", str(folder), "--timeout", "60s"],
        cwd=folder.parent,
        env=environment(shared_hub, tmp_path.with_name(tmp_path.name + "-home")),
        stdin=subprocess.DEVNULL,
        stdout=secondary,
        stderr=secondary,
    )
    os.close(secondary)
    output = b""
    deadline = time.monotonic() + 100
    while time.monotonic() < deadline:
        ready, _, _ = select.select([primary], [], [], 1)
        if ready:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # the terminal closed: the process is done
                break
            if not chunk:
                break
            output += chunk
        elif process.poll() is not None:
            break
    os.close(primary)
    assert process.wait(timeout=10) == 0, output.decode()
    text = output.decode()
    shown = re.search(r"SECRET ([0-9a-f]{32})", text)
    assert shown, text
    assert text.count(shown.group(1)) == 1  # once, and the outputs say `secret=***`
    assert "secret=***" in text


def test_secret_file_keeps_it_in_a_private_file(
    shared_hub: Any, make_executor: MakeExecutor, tmp_path: Path
) -> None:
    folder = make_executor()
    target = tmp_path.with_name(tmp_path.name + "-keep") / "secret.env"
    done = subprocess.run(
        [str(CLI), "--path", str(folder), "--timeout", "60s", "--secret-file", str(target)],
        cwd=folder.parent,
        env=environment(shared_hub, tmp_path.with_name(tmp_path.name + "-home")),
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    kept = dict(line.split("=", 1) for line in target.read_text().splitlines())
    assert kept["NAME"] == folder.name
    assert kept["SECRET"] not in done.stdout + done.stderr
    assert f"The SECRET of {folder.name} is in {target}" in done.stdout
