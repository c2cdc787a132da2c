"""What an executor folder is, and the problems the Hub would refuse it for.

Checked before anything is uploaded, each problem with the file and line to fix:
`config.yml` (with `jtype` and `metas.name`, `py_modules` in one place), the
`${NAME}` placeholders of `requirements.txt` against `build-env`, and the Dockerfile.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from executor_rules import CONFIG, REQUIREMENTS, FolderFacts, Placeholder, Problem, read_folder
from hub_push.errors import ExecutorError, InputError, SourceLocation


@dataclass(frozen=True)
class Executor:
    """An executor folder that passed the client-side checks."""

    folder: Path
    name: str
    jtype: str
    placeholders: tuple[Placeholder, ...]
    dockerfile: str  # relative to the folder; "" when the Hub generates one


def load_executor(
    folder: Path,
    *,
    build_env: Iterable[str] = (),
    dockerfile: str = "",
    name_override: str = "",
    workspace: Path | None = None,
    facts: FolderFacts | None = None,
) -> Executor:
    """Check an executor folder (its `facts`, read here when not given), or raise
    `ExecutorError` naming file and line.

    `name_override` (the `name` input) stands in for a missing `metas.name`; with it, as with
    `jina hub push`, a folder without `config.yml` can be pushed (the Hub writes one).
    """
    require_folder(folder)
    facts = facts or read_folder(folder)

    def shown(file: str) -> str:
        return SourceLocation.of(folder, file, workspace).file

    if not facts.has_config and name_override:
        return Executor(
            folder=folder,
            name=name_override,
            jtype="",
            placeholders=_placeholders(facts, build_env, shown),
            dockerfile=_check_dockerfile(folder, dockerfile, shown),
        )
    if not facts.has_config:
        raise ExecutorError(
            f"No `{CONFIG}` in `{folder}`. An executor folder needs one, with `jtype:` "
            "naming the Executor class and `metas: name:` naming the executor.",
            SourceLocation(shown(CONFIG)),
        )
    if facts.problem is not None and facts.problem.file == CONFIG:
        raise _unreadable(facts.problem, shown)
    if facts.jtype is None:  # an empty `jtype` is allowed: the Hub then finds the class
        raise ExecutorError(
            "has no `jtype:`; it must name the Executor class, e.g. `jtype: MyExecutor`.",
            SourceLocation(shown(CONFIG), 1),
        )
    if facts.py_modules_twice is not None:
        raise ExecutorError(
            "sets `py_modules` both at the top level and under `metas`; keep one.",
            SourceLocation(shown(CONFIG), facts.py_modules_twice),
        )
    if facts.problem is not None:  # manifest.yml, read for the name
        raise _unreadable(facts.problem, shown)
    executor_name = facts.name or name_override
    if not executor_name:
        raise ExecutorError(
            "has no executor name: add `metas:` with `name: MyExecutor` (or set the `name` input).",
            SourceLocation(shown(CONFIG), facts.metas_line or 1),
        )
    return Executor(
        folder=folder,
        name=executor_name,
        jtype=facts.jtype,
        placeholders=_placeholders(facts, build_env, shown),
        dockerfile=_check_dockerfile(folder, dockerfile, shown),
    )


def _unreadable(problem: Problem, shown: Callable[[str], str]) -> ExecutorError:
    return ExecutorError(problem.message, SourceLocation(shown(problem.file), problem.line))


def folder_in_workspace(
    path: str, workspace: Path, *, input_name: str = "path", on_runner: bool = True
) -> Path:
    """The `path` input (or another folder input) as a real folder inside the workspace,
    links followed; else an `InputError` naming the input, saying what the workspace is
    (only the workspace travels into the action's container)."""
    try:
        root = workspace.resolve(strict=True)
        folder = (root / path).resolve()
    except (OSError, RuntimeError, ValueError) as exc:
        raise InputError(input_name, f"cannot be resolved ({type(exc).__name__})") from None
    if not folder.is_relative_to(root):
        if not on_runner:
            where = f"outside Actions the workspace is the current folder, `{root}`"
        elif Path(path).is_absolute():
            where = (
                "give it relative to the workspace (`my-executor`): the runner's own paths "
                "(`/home/runner/work/…`) do not exist inside the action's container"
            )
        else:
            where = "the workspace is the checkout (`GITHUB_WORKSPACE`)"
        raise InputError(
            input_name,
            f"must be a folder inside the workspace (after following links); `{path}` leads "
            f"outside it: {where}",
        )
    return folder


def name_of(folder: Path) -> str:
    """The executor's name as far as it can be told without checking anything (metas.name,
    then manifest.yml's name, then the folder's name): for reports before the checks ran."""
    return read_folder(folder).name_or_folder()


def require_folder(folder: Path) -> None:
    """`ExecutorError` unless `folder` is a folder."""
    if not folder.is_dir():
        raise ExecutorError(f"The executor folder `{folder}` does not exist or is not a folder.")


def _placeholders(
    facts: FolderFacts, build_env: Iterable[str], shown: Callable[[str], str]
) -> tuple[Placeholder, ...]:
    """The `${NAME}`s of requirements.txt; each must be set by `build-env`."""
    given = set(build_env)
    missing = [p for p in facts.placeholders if p.name not in given]
    if missing:
        names = ", ".join(dict.fromkeys(p.name for p in missing))
        raise ExecutorError(
            f"uses {names} but `build-env` does not set "
            + ("it" if len({p.name for p in missing}) == 1 else "them")
            + f"; add `{missing[0].name}=…` lines to `build-env` (from a repository secret).",
            SourceLocation(shown(REQUIREMENTS), missing[0].line),
        )
    return facts.placeholders


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
