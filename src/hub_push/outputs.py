"""The job outputs reporter: every output on every path, and why an empty one is empty."""

from __future__ import annotations

import json

from hub_push import github_actions as gha
from hub_push.outcome import Outcome

#: The action's outputs, in action.yml order.
OUTPUT_NAMES = (
    "task-id",
    "build-status",
    "executor-id",
    "executor-name",
    "visibility",
    "tags",
    "uses",
    "url",
    "archive-md5",
    "archive-sha256",
    "archive-path",
    "secret",
    "result",
    "result-file",
    "matrix",
)


#: Outputs empty on most runs by design; their emptiness is not said in the log.
QUIET_WHEN_EMPTY = frozenset({"secret", "matrix", "archive-path", "archive-sha256", "result-file"})


def outputs(outcome: Outcome, result_file: str = "") -> dict[str, str]:
    """Every output, always: an unknown value is an empty string (see `why_empty`)."""
    values = {
        "task-id": outcome.task_id,
        "build-status": outcome.status,
        "executor-id": outcome.executor_id,
        "executor-name": outcome.executor_name,
        "visibility": outcome.visibility,
        "tags": ",".join(outcome.tags),
        "uses": outcome.uses,
        "url": outcome.url,
        "archive-md5": outcome.archive_md5,
        "archive-sha256": outcome.archive_sha256,
        "archive-path": outcome.archive_path,
        "secret": outcome.secret,
    }
    result: dict[str, object] = {
        name.replace("-", "_"): value for name, value in values.items() if name != "secret"
    }
    result.update(
        tags=list(outcome.tags),
        protected_tags=list(outcome.protected_tags),
        error=outcome.error,
    )
    if outcome.report_rows:  # `mode: report`: the worst status and every row
        from hub_push.report import result as report_result

        result = report_result(outcome.report_rows)
    values["result"] = json.dumps(result, sort_keys=True)
    values["result-file"] = result_file
    values["matrix"] = outcome.matrix
    return values


def why_empty(outcome: Outcome, result_file: str = "") -> dict[str, str]:
    """For each empty output, the reason, so the log says why instead of leaving a blank."""
    uploaded = outcome.upload_started
    if outcome.mode == "status":
        default = "`mode: status` follows a build and uploads nothing; the Hub did not report it"
    elif outcome.status == "dry-run":
        default = "this was a dry run: nothing was uploaded"
    elif not uploaded:
        default = "nothing was uploaded (see the error above)"
    else:
        default = "the Hub did not report it"
    reasons: dict[str, str] = {}
    for name, value in outputs(outcome, result_file).items():
        if value:
            continue
        if name == "secret" and uploaded:
            reasons[name] = "the Hub returns a SECRET only on a first publish without a login"
        elif name == "task-id" and uploaded:
            reasons[name] = "the Hub did not report a build task"
        elif name in ("archive-md5", "secret") and outcome.mode == "status":
            reasons[name] = "`mode: status` uploads nothing"
        elif name in ("archive-path", "archive-sha256") and outcome.archive_md5:
            reasons[name] = "only `keep-archive: true` keeps the archive (and its sha256)"
        elif name == "result-file":
            reasons[name] = "written on the runner by a push or a status run"
        elif name == "matrix":
            reasons[name] = "only `mode: discover` sets it"
        elif outcome.status == "discovered":
            reasons[name] = "`mode: discover` pushes nothing"
        else:
            reasons[name] = default
    return reasons


def report(outcome: Outcome, result_file: str = "") -> None:
    """Write every output (in the Result log group), with the reasons for empty ones."""
    with gha.group("Result"):
        gha.set_outputs(outputs(outcome, result_file), unredacted=frozenset({"secret"}))
        by_reason: dict[str, list[str]] = {}
        for name, reason in why_empty(outcome, result_file).items():
            if name in QUIET_WHEN_EMPTY and outcome.mode != "discover":
                continue  # empty on most runs by design: not worth a line each time
            by_reason.setdefault(reason, []).append(name)
        for reason, names in by_reason.items():
            gha.info(f"empty output{'s' if len(names) > 1 else ''} {', '.join(names)}: {reason}")
