"""`mode: discover`: the executor folders under a root, for a workflow's `strategy.matrix`.

An executor folder holds a `config.yml` whose top-level `jtype` is a non-empty string. The
walk never enters hidden folders (`.git`, `.venv`, …), `node_modules`, `__pycache__`,
`site-packages` or a virtual environment (a folder with `pyvenv.cfg` or `conda-meta`), never
follows a symlinked folder, and does not look inside an executor folder: everything below it
is packed with it, so it belongs to that executor.

With `changed_since`, only the executors with a file changed between that base and `HEAD`
(what `git diff --name-only` lists) are kept: a full commit sha (`github.event.before`,
`github.event.pull_request.base.sha`) is compared with `HEAD` directly (`<sha> HEAD`), any
other ref (`main`, `origin/main`, `v1.2.0`) from where the two histories meet (`<ref>...HEAD`);
a name is looked up as `refs/remotes/origin/<name>`, `refs/heads/<name>`, `refs/tags/<name>`,
`refs/remotes/<name>`, `refs/<name>`, then as it is (`refs/…`, `HEAD`), so an abbreviated sha
or a revision expression (`main~1`) is not in the history. The zero sha of
a new branch, or a base that is not in the history (a shallow clone), counts every executor
as changed (the latter with a warning). A deleted executor is not in the matrix (its folder is
gone), a renamed one is (its new folder has changed files).

The repository is read in-process with dulwich (`git_changes.py`), with bounded work: past
its limits, every executor counts as changed, with a warning.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from executor_rules import CONFIG, read_folder
from hub_push.errors import InputError
from hub_push.git_changes import EveryExecutor, changed_paths

if TYPE_CHECKING:
    pass

#: Folders the walk never enters (besides hidden ones and virtual environments).
SKIPPED_FOLDERS = frozenset({"node_modules", "__pycache__", "site-packages"})
#: A folder holding one of these is a virtual environment.
VENV_MARKERS = ("pyvenv.cfg", "conda-meta")
#: GitHub runs at most this many jobs from one matrix.
MAX_MATRIX_JOBS = 256

_ZERO_SHA = re.compile(r"0{40}|0{64}")


@dataclass(frozen=True)
class FoundExecutor:
    """An executor folder, one variant of it: `path` is POSIX and relative to the discovery's
    base folder; a variant other than `default` is built from its own Dockerfile and pushed
    with its own tag suffix (`Dockerfile.gpu` → `gpu`, tags `…-gpu`)."""

    path: str
    name: str
    variant: str = "default"
    dockerfile: str = ""  # relative to the folder; "" for the default variant
    tag_suffix: str = ""

    def matrix_entry(self) -> dict[str, str]:
        return {
            "path": self.path,
            "name": self.name,
            "variant": self.variant,
            "dockerfile": self.dockerfile,
            "tag-suffix": self.tag_suffix,
        }


#: A variant's Dockerfile: `Dockerfile.gpu` or `gpu.Dockerfile` (Jina's two spellings).
_VARIANT_FILE = re.compile(r"Dockerfile\.([A-Za-z0-9_-]{1,32})|([A-Za-z0-9_-]{1,32})\.Dockerfile")


def variants(folder: Path, path: str, name: str) -> list[FoundExecutor]:
    """The rows of one executor folder: the default one (when it has a `Dockerfile`, or no
    Dockerfile at all) and one per variant Dockerfile, in name order."""
    try:
        files = sorted(entry.name for entry in os.scandir(folder) if entry.is_file())
    except OSError:
        files = []
    found = []
    for file in files:
        match = _VARIANT_FILE.fullmatch(file)
        if match:
            variant = match.group(1) or match.group(2)
            found.append(FoundExecutor(path, name, variant, file, f"-{variant}"))
    if "Dockerfile" in files or not found:
        found.insert(0, FoundExecutor(path, name))
    return found


@dataclass(frozen=True)
class Discovery:
    """What `discover` found; `executors` is what goes into the matrix."""

    #: The executors to push, sorted by path: the changed ones, or all of them.
    executors: tuple[FoundExecutor, ...]
    #: Every executor folder under the root, sorted by path.
    found: tuple[FoundExecutor, ...]
    #: How `executors` was chosen, one line for the log (`3 of 7 executors changed since `abc…``).
    note: str
    #: Things the user should know (shown as warnings): skipped config files, a base not in
    #: the history, duplicate names, a matrix too large for one workflow.
    warnings: tuple[str, ...] = ()

    def matrix(self) -> dict[str, list[dict[str, str]]]:
        """`{"include": [{"path": …, "name": …}, …]}` for `strategy.matrix`."""
        return {"include": [executor.matrix_entry() for executor in self.executors]}

    def matrix_json(self) -> str:
        """The matrix as compact JSON (`{"include":[]}` when nothing is to be pushed)."""
        return json.dumps(self.matrix(), separators=(",", ":"), ensure_ascii=False)


def discover(
    root: Path,
    *,
    changed_since: str | None = None,
    relative_to: Path | None = None,
) -> Discovery:
    """The executor folders under `root`, only those changed since `changed_since` if given.

    Paths in the result are relative to `relative_to` (default: `root` itself; the action
    passes the workspace, so `path: ${{ matrix.path }}` works as is) and never outside it.
    `changed_since` empty or None means no filter. Raises `InputError` (`root` or
    `changed-since`) when the root is not a folder inside `relative_to`, or the repository
    cannot be read (no repository, no commit at HEAD, a format dulwich does not read).
    """
    top = root.resolve()
    if not top.is_dir():
        raise InputError("root", f"`{root}` is not a folder")
    base_folder = top if relative_to is None else relative_to.resolve()
    if not top.is_relative_to(base_folder):
        raise InputError("root", f"`{root}` is outside the workspace `{base_folder}`")

    warnings: list[str] = []
    folders = _executor_folders(top, base_folder, warnings)
    rows = [
        (folder, variants(folder, _relative(folder, base_folder), name)) for folder, name in folders
    ]
    found = tuple(row for _, folder_rows in rows for row in folder_rows)

    base = (changed_since or "").strip()
    if not base:
        selected, note = found, f"all {_count(found)}: no base to compare with"
    elif _ZERO_SHA.fullmatch(base):
        selected = found
        note = f"all {_count(found)}: `{base[:12]}…` is the zero sha (a new branch or tag)"
    else:
        try:
            changed = changed_paths(top, base)
        except EveryExecutor as every:
            selected, note = found, f"all {_count(found)}: {every.note}"
            warnings.append(every.warning)
        else:
            touched = _touched_folders(changed)
            selected = tuple(
                executor
                for folder, folder_rows in rows
                for executor in folder_rows
                if _relative(folder, top) in touched
            )
            note = f"{len(selected)} of {_count(found)} changed since `{base}`"

    names: dict[str, list[str]] = {}
    for executor in selected:  # one folder's variants share a name on purpose
        paths = names.setdefault(executor.name + executor.tag_suffix, [])
        if executor.path not in paths:
            paths.append(executor.path)
    for name, paths in names.items():
        if len(paths) > 1:
            warnings.append(
                f"the executors in {', '.join(f'`{p}`' for p in paths)} share the name "
                f"`{name}`: their pushes would update the same Hub executor"
            )
    if len(selected) > MAX_MATRIX_JOBS:
        warnings.append(
            f"{len(selected)} executors: a matrix runs at most {MAX_MATRIX_JOBS} jobs; "
            "split the root"
        )
    return Discovery(executors=selected, found=found, note=note, warnings=tuple(warnings))


def _count(found: Sequence[FoundExecutor]) -> str:
    return f"{len(found)} executor" + ("" if len(found) == 1 else "s")


def _relative(folder: Path, base: Path) -> str:
    return folder.relative_to(base).as_posix() or "."


def _touched_folders(changed: set[str]) -> set[str]:
    """Every folder (POSIX, "." for the root) holding one of the `changed` paths, and the
    paths themselves (a submodule's changes are one path: the submodule's folder)."""
    touched = {"."} if changed else set()
    for path in changed:
        parts = path.split("/")
        touched.update("/".join(parts[:end]) for end in range(1, len(parts) + 1))
    return touched


# --- the walk ---------------------------------------------------------------------------


def _executor_folders(top: Path, base: Path, warnings: list[str]) -> list[tuple[Path, str]]:
    """(folder, name) of each executor folder under `top`, sorted by path."""
    found: list[tuple[Path, str]] = []
    stack = [top]
    while stack:
        folder = stack.pop()
        name = _executor_name(folder, top, base, warnings)
        if name is not None:
            found.append((folder, name))
            continue
        try:
            with os.scandir(folder) as entries:
                children = [
                    Path(entry.path)
                    for entry in entries
                    if entry.is_dir(follow_symlinks=False)
                    and not entry.name.startswith(".")
                    and entry.name not in SKIPPED_FOLDERS
                ]
        except OSError as exc:
            warnings.append(f"`{_relative(folder, base)}` cannot be read: {exc.strerror}")
            continue
        # Visited in order of name, so that warnings come in a stable order.
        stack.extend(sorted((c for c in children if not _is_venv(c)), reverse=True))
    return sorted(found, key=lambda item: _relative(item[0], base))


def _is_venv(folder: Path) -> bool:
    return any((folder / marker).exists() for marker in VENV_MARKERS)


def _executor_name(folder: Path, top: Path, base: Path, warnings: list[str]) -> str | None:
    """The executor's name, as the push picks it (`metas.name`, then manifest.yml's `name`,
    then the folder's name) when `folder` is an executor folder, else None."""
    config = folder / CONFIG
    shown = _relative(config, base)
    if config.is_symlink():
        target = config.resolve()
        if not target.is_relative_to(top):
            warnings.append(f"`{shown}` is a symlink to outside the root: not an executor")
            return None
    if not config.is_file():
        return None
    facts = read_folder(folder)
    if facts.problem is not None and facts.problem.file == CONFIG:
        line = f" (line {facts.problem.line})" if facts.problem.line else ""
        warnings.append(f"`{shown}` {facts.problem.message}{line}: not an executor")
        return None
    return facts.name_or_folder() if facts.names_class else None
