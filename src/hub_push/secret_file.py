"""A first publish's SECRET, kept where it can't be lost and never in a log.

On the runner it is masked and goes to the masked `secret` output (the reporters may also
save it as repository secrets). Outside Actions it is printed only to a terminal; otherwise it
is written to a file readable by its owner only, outside the current folder (often a git
checkout), and the log says where. `secret-file` asks for such a file in any case.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from hub_push import github_actions as gha


def keep(secret: str, *, name: str, secret_file: str) -> Path | None:
    """Keep `secret` (the SECRET of the executor `name`); the file written, if any."""
    gha.mask(secret)
    path: Path | None = None
    if secret_file:
        path = write_private(Path(secret_file).expanduser(), name, secret)
    elif not gha.on_runner() and not sys.stdout.isatty():
        path = write_private(default_path(name), name, secret)
    if not gha.on_runner() and path is None:  # a terminal: shown once, as `jina hub push` does
        print(
            f"\n  NAME   {name}\n  SECRET {secret}\n  Keep the SECRET: the Hub shows it only "
            f"this once, and it is needed to update {name}.\n",
            flush=True,
        )
    if path is not None:
        gha.info(
            f"The SECRET of {name} is in {path} (readable by you only): the Hub shows it only "
            "this once, and it is needed to update the executor."
        )
    return path


def default_path(name: str) -> Path:
    """`$XDG_STATE_HOME/hub-push/NAME-<time>.secret` (`~/.local/state` by default), or a new
    private temporary folder when that is inside the current folder."""
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    folder = state / "hub-push"
    if folder.resolve().is_relative_to(Path.cwd().resolve()):
        folder = Path(tempfile.mkdtemp(prefix="hub-push-"))
    return folder / f"{name or 'executor'}-{time.strftime('%Y%m%d-%H%M%S')}.secret"


def write_private(path: Path, name: str, secret: str) -> Path:
    """Write `NAME=…` and `SECRET=…` to a new file only its owner can read (never over
    another file: an existing one gets a numbered name beside it)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    candidate, number = path, 1
    while True:
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            break
        except FileExistsError:
            number += 1
            candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(f"NAME={name}\nSECRET={secret}\n")
    return candidate
