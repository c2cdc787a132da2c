"""One report for a whole matrix: every push run leaves a result file, `mode: report` reads them.

A matrix job's outputs are only the last job's (actions/runner#1835), so each push (and status)
run writes its `result` — with the repository, the run and its attempt, the executor and the
variant — to `.hub-push/results/` in the workspace (the `result-file` output: a path relative
to the workspace, which means the same in a later step although a Docker action sees the
workspace at another path). A final job downloads the matrix's files and runs hub-push with
`mode: report`: one table, one comment, one combined status, and the worst build status.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hub_push.errors import InputError
from hub_push.github_context import GitHubContext
from hub_push.grammar import HUB_NAMES
from hub_push.outcome import Outcome, Status

#: Where push runs leave their result files, in the workspace.
RESULTS = Path(".hub-push") / "results"
#: From worst to best: the report's build status is the worst of its rows.
WORST_FIRST: tuple[Status, ...] = (
    "error",
    "timeout",
    "cancelled",
    "failed",
    "refused",
    "preflight-failed",
    "invalid",
    "pending",
    "skipped",
    "dry-run",
    "succeeded",
)
#: The most result files a report reads (GitHub runs at most 256 jobs from one matrix).
MAX_FILES = 1024


@dataclass(frozen=True)
class Row:
    """One executor (one variant of it) in the report."""

    executor: str
    variant: str
    build_status: str
    tags: tuple[str, ...] = ()
    task_id: str = ""
    url: str = ""
    note: str = ""


def write(outcome: Outcome, context: GitHubContext, variant: str) -> str:
    """Write this run's result file; its path relative to the workspace."""
    name = outcome.executor_name or "executor"
    folder = context.workspace / RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    file = folder / f"{name}{variant}.json"
    record = {
        "repository": context.repository,
        "run_id": context.run_id,
        "run_attempt": context.run_attempt,
        "executor": name,
        "variant": variant.removeprefix("-") or "default",
        "build_status": outcome.status,
        "tags": list(outcome.tags),
        "task_id": outcome.task_id,
        "url": outcome.url,
        "error": outcome.error,
    }
    file.write_text(json.dumps(record, sort_keys=True) + "\n", encoding="utf-8")
    return file.relative_to(context.workspace).as_posix()


def read(folder: Path, context: GitHubContext, matrix: str) -> tuple[Row, ...]:
    """The rows of the result files under `folder` (refusing files of another repository or
    run), and a failed row for each `matrix` row that left no file."""
    rows: dict[tuple[str, str], Row] = {}
    files = sorted(folder.rglob("*.json"))[: MAX_FILES + 1]
    if len(files) > MAX_FILES:
        raise InputError("results", f"holds more than {MAX_FILES} result files")
    for file in files:
        record = _record(file, folder)
        if (record.get("repository"), record.get("run_id")) != (context.repository, context.run_id):
            raise InputError(
                "results",
                f"`{file.relative_to(folder)}` is the result of another repository or run "
                f"({record.get('repository')!s}, run {record.get('run_id')!s}); this run is "
                f"{context.repository}, run {context.run_id}",
            )
        row = _row(record)
        rows[(row.executor, row.variant)] = row
    for executor, variant in _expected(matrix):
        if (executor, variant) not in rows:
            rows[(executor, variant)] = Row(
                executor, variant, "error", note="no result file: the job ended before writing it"
            )
    return tuple(sorted(rows.values(), key=lambda row: (row.executor, row.variant)))


def worst(rows: tuple[Row, ...]) -> Status:
    """The worst build status of the rows (`error` for a status this version does not know)."""
    found = {row.build_status for row in rows}
    for status in WORST_FIRST:
        if status in found:
            return status
    return "error" if found else "succeeded"


def result(rows: tuple[Row, ...]) -> dict[str, Any]:
    """The report's `result` output."""
    return {"build_status": worst(rows), "rows": [asdict(row) for row in rows]}


def _record(file: Path, folder: Path) -> dict[str, Any]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise InputError(
            "results", f"`{file.relative_to(folder)}` is not a result file ({type(error).__name__})"
        ) from None
    if not isinstance(data, dict):
        raise InputError("results", f"`{file.relative_to(folder)}` is not a result file")
    return data


def _text(value: object, pattern: str | None = None) -> str:
    """A field of a result file: text (in the Hub's grammar for `pattern`), else ""."""
    if not isinstance(value, str) or len(value) > 512:
        return ""
    if pattern is not None and value and not HUB_NAMES[pattern].fullmatch(value):
        return ""
    return value


def _row(record: dict[str, Any]) -> Row:
    status = _text(record.get("build_status"))
    tags = record.get("tags")
    return Row(
        executor=_text(record.get("executor")) or "?",
        variant=_text(record.get("variant")) or "default",
        build_status=status if status in WORST_FIRST else "error",
        tags=tuple(t for t in (_text(t, "tag") for t in tags) if t)
        if isinstance(tags, list)
        else (),
        task_id=_text(record.get("task_id"), "task id"),
        url=_text(record.get("url")) if str(record.get("url", "")).startswith("http") else "",
        note=_text(record.get("error"))[:300],
    )


def _expected(matrix: str) -> list[tuple[str, str]]:
    """(name, variant) of each row of discover's `matrix` output ("": none expected)."""
    if not matrix.strip():
        return []
    try:
        data = json.loads(matrix)
        include = data["include"]
        return [(str(row["name"]), str(row.get("variant") or "default")) for row in include]
    except (ValueError, KeyError, TypeError):
        raise InputError(
            "matrix", 'must be the `matrix` output of `mode: discover` (`{"include": […]}`)'
        ) from None
