"""Minimal executor folders, for the tests and for trying the action by hand.

A folder like examples/hello-executor: `config.yml` naming the class and the executor,
`executor.py` with one Executor class, optionally `requirements.txt` and more files.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Mapping
from pathlib import Path

EXECUTOR_PY = """\
from jina import Executor, requests


class {cls}(Executor):
    @requests
    def hello(self, docs, **kwargs):
        return docs
"""

_counter = itertools.count(1)


def unique_name(prefix: str = "Exec") -> str:
    """An executor name no other test uses."""
    return f"{prefix}{next(_counter)}x{secrets.token_hex(3)}"


def make_executor_folder(
    root: Path,
    name: str | None = None,
    *,
    cls: str = "HelloExecutor",
    config: str | None = None,
    executor_py: str | None = None,
    requirements: str | None = None,
    files: Mapping[str, str] | None = None,
) -> Path:
    """An executor folder like examples/hello-executor: config.yml, executor.py, requirements."""
    name = name or unique_name()
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "config.yml").write_text(
        config
        if config is not None
        else f"jtype: {cls}\npy_modules:\n  - executor.py\nmetas:\n  name: {name}\n"
    )
    (folder / "executor.py").write_text(
        executor_py if executor_py is not None else EXECUTOR_PY.format(cls=cls)
    )
    if requirements is not None:
        (folder / "requirements.txt").write_text(requirements)
    for relative, text in (files or {}).items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder
