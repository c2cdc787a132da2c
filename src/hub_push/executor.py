"""What an executor folder is, and the problems the Hub would refuse it for.

Checked before anything is uploaded, each problem with the file and line to fix:
`config.yml` (with `jtype` and `metas.name`, `py_modules` in one place), the
`${NAME}` placeholders of `requirements.txt` against `build-env`, and the Dockerfile.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from hub_push.errors import ExecutorError, InputError, SourceLocation

CONFIG_FILE = "config.yml"
MANIFEST_FILE = "manifest.yml"
REQUIREMENTS_FILE = "requirements.txt"
PLACEHOLDER = re.compile(r"\$\{([A-Z0-9_]+)\}")


@dataclass(frozen=True)
class Placeholder:
    """A `${NAME}` in requirements.txt, filled in by the Hub from `build-env`."""

    name: str
    line: int


@dataclass(frozen=True)
class Executor:
    """An executor folder that passed the client-side checks."""

    folder: Path
    name: str
    jtype: str
    placeholders: tuple[Placeholder, ...]
    dockerfile: str  # relative to the folder; "" when the Hub generates one


def _load_yaml(path: Path, display: str) -> yaml.MappingNode | None:
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise ExecutorError(
            f"is not valid YAML: {exc.problem}", SourceLocation(display, line)
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ExecutorError(f"cannot be read: {exc}", SourceLocation(display)) from None
    if node is None:
        return None
    if not isinstance(node, yaml.MappingNode):
        raise ExecutorError("must be a mapping of keys to values", SourceLocation(display, 1))
    return node


def _child(node: yaml.MappingNode | None, key: str) -> tuple[yaml.Node, int] | None:
    """The value node under `key`, with the key's line (1-based)."""
    if node is None:
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value_node, key_node.start_mark.line + 1
    return None


def _scalar(found: tuple[yaml.Node, int] | None) -> tuple[str, int] | None:
    if found is None or not isinstance(found[0], yaml.ScalarNode):
        return None
    return str(found[0].value).strip(), found[1]


def display_path(folder: Path, file: str, root: Path | None) -> str:
    """The file as the annotation should name it: relative to the workspace when possible.

    Only the folder is resolved: the file itself may be a link (even a loop) and is not followed.
    """
    path = folder / file
    if root is not None:
        try:
            return (folder.resolve() / file).relative_to(root.resolve()).as_posix()
        except (ValueError, OSError, RuntimeError):
            pass
    return path.as_posix()


def read_placeholders(requirements: Path) -> tuple[Placeholder, ...]:
    """Every `${NAME}` on the non-comment lines of requirements.txt, with its line."""
    found: list[Placeholder] = []
    text = requirements.read_text(encoding="utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip().startswith("#"):
            continue
        found.extend(Placeholder(m.group(1), number) for m in PLACEHOLDER.finditer(line))
    return tuple(found)


def load_executor(
    folder: Path,
    *,
    build_env: Iterable[str] = (),
    dockerfile: str = "",
    name_override: str = "",
    workspace: Path | None = None,
) -> Executor:
    """Read and check an executor folder, or raise `ExecutorError` naming file and line.

    `name_override` (the `name` input) stands in for a missing `metas.name`; with it, as with
    `jina hub push`, a folder without `config.yml` can be pushed (the Hub writes one).
    """
    require_folder(folder)

    def shown(file: str) -> str:
        return display_path(folder, file, workspace)

    config_path = folder / CONFIG_FILE
    if not config_path.is_file() and name_override:
        return Executor(
            folder=folder,
            name=name_override,
            jtype="",
            placeholders=_placeholders(folder, build_env, shown),
            dockerfile=_check_dockerfile(folder, dockerfile, shown),
        )
    if not config_path.is_file():
        raise ExecutorError(
            f"No `{CONFIG_FILE}` in `{folder}`. An executor folder needs one, with `jtype:` "
            "naming the Executor class and `metas: name:` naming the executor.",
            SourceLocation(shown(CONFIG_FILE)),
        )
    config = _load_yaml(config_path, shown(CONFIG_FILE))
    jtype = _scalar(_child(config, "jtype"))
    if not jtype:  # an empty `jtype` is allowed: the Hub then finds the Executor subclass
        raise ExecutorError(
            "has no `jtype:`; it must name the Executor class, e.g. `jtype: MyExecutor`.",
            SourceLocation(shown(CONFIG_FILE), 1),
        )
    metas = _child(config, "metas")
    metas_node = metas[0] if metas and isinstance(metas[0], yaml.MappingNode) else None
    root_modules, meta_modules = _child(config, "py_modules"), _child(metas_node, "py_modules")
    if root_modules and meta_modules:
        raise ExecutorError(
            "sets `py_modules` both at the top level and under `metas`; keep one.",
            SourceLocation(shown(CONFIG_FILE), meta_modules[1]),
        )

    name = _scalar(_child(metas_node, "name"))
    if not name and (folder / MANIFEST_FILE).is_file():
        name = _scalar(_child(_load_yaml(folder / MANIFEST_FILE, shown(MANIFEST_FILE)), "name"))
    executor_name = name[0] if name and name[0] else name_override
    if not executor_name:
        raise ExecutorError(
            "has no executor name: add `metas:` with `name: MyExecutor` (or set the `name` input).",
            SourceLocation(shown(CONFIG_FILE), metas[1] if metas else 1),
        )

    return Executor(
        folder=folder,
        name=executor_name,
        jtype=jtype[0],
        placeholders=_placeholders(folder, build_env, shown),
        dockerfile=_check_dockerfile(folder, dockerfile, shown),
    )


def folder_in_workspace(path: str, workspace: Path, *, input_name: str = "path") -> Path:
    """The `path` input (or another folder input) as a real folder inside the workspace,
    links followed; else an `InputError` naming the input (only the workspace travels)."""
    try:
        root = workspace.resolve(strict=True)
        folder = (root / path).resolve()
    except (OSError, RuntimeError, ValueError) as exc:
        raise InputError(input_name, f"cannot be resolved ({type(exc).__name__})") from None
    if not folder.is_relative_to(root):
        raise InputError(
            input_name,
            "must be a folder inside the workspace (after following links); "
            f"`{path}` leads outside it",
        )
    return folder


def name_of(folder: Path) -> str:
    """The executor's name as far as it can be told without checking anything (metas.name,
    then manifest.yml's name, then the folder's name): for reports before the checks ran."""
    for file, keys in ((CONFIG_FILE, ("metas", "name")), (MANIFEST_FILE, ("name",))):
        try:
            node: object = yaml.safe_load((folder / file).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
            continue
        for key in keys:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, str) and node.strip():
            return node.strip()
    return folder.name


def require_folder(folder: Path) -> None:
    """`ExecutorError` unless `folder` is a folder."""
    if not folder.is_dir():
        raise ExecutorError(f"The executor folder `{folder}` does not exist or is not a folder.")


def _placeholders(
    folder: Path, build_env: Iterable[str], shown: Callable[[str], str]
) -> tuple[Placeholder, ...]:
    """The `${NAME}`s of requirements.txt; each must be set by `build-env`."""
    if not (folder / REQUIREMENTS_FILE).is_file():
        return ()
    placeholders = read_placeholders(folder / REQUIREMENTS_FILE)
    given = set(build_env)
    missing = [p for p in placeholders if p.name not in given]
    if missing:
        names = ", ".join(dict.fromkeys(p.name for p in missing))
        raise ExecutorError(
            f"uses {names} but `build-env` does not set "
            + ("it" if len({p.name for p in missing}) == 1 else "them")
            + f"; add `{missing[0].name}=…` lines to `build-env` (from a repository secret).",
            SourceLocation(shown(REQUIREMENTS_FILE), missing[0].line),
        )
    return placeholders


def dockerfile_in_folder(folder: Path, dockerfile: str) -> Path:
    """The `dockerfile` input as a file inside the executor folder (links followed), as
    `jina hub push` requires; else an error naming the input."""
    relative = Path(dockerfile)
    try:
        resolved = (folder / relative).resolve()
    except (OSError, RuntimeError):
        resolved = folder / relative
    if relative.is_absolute() or not resolved.is_relative_to(folder.resolve()):
        raise ExecutorError(
            f"Input `dockerfile`: `{dockerfile}` must be a file inside the executor folder "
            "(a path relative to `path`)."
        )
    if not resolved.is_file():
        raise ExecutorError(
            f"Input `dockerfile`: `{dockerfile}` does not exist in `{folder.name}`."
        )
    return resolved


def _check_dockerfile(folder: Path, dockerfile: str, shown: Callable[[str], str]) -> str:
    """The Dockerfile to send (relative to the folder), after checking it is there and sane."""
    if not dockerfile:
        return ""
    resolved = dockerfile_in_folder(folder, dockerfile)
    relative = Path(dockerfile)
    lines = resolved.read_text(encoding="utf-8", errors="replace").splitlines()
    instructions = [
        (n, line.split(None, 1)[0].upper())
        for n, line in enumerate(lines, start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    first = next((i for i in instructions if i[1] not in {"ARG"}), None)
    if first is None or first[1] != "FROM":
        raise ExecutorError(
            "must start with a `FROM` instruction (only `ARG` may come before it).",
            SourceLocation(shown(relative.as_posix()), first[0] if first else 1),
        )
    return relative.as_posix()
