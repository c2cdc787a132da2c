"""What the workflow author can do about an error: advice in the action's own terms.

The errors say what happened; this table, on the reporting side, says what to change, naming
the action's inputs (`token`, `wait`, `name`/`secret`, …). A Hubble status code (from
`jina-hubble-sdk`'s HubbleReturnStatus) is more precise than the kind of error, so it wins.
"""

from __future__ import annotations

from hub_push.errors import (
    ArchiveTooLargeError,
    BuildFailedError,
    BuildTimeoutError,
    Cancelled,
    DeadlineError,
    HubPushError,
    HubUnreachableError,
    InputErrors,
    LoginRefusedError,
    NoBuildTaskError,
    PushUnfinishedError,
    UploadBrokenError,
)

_NOT_ALLOWED = (
    "Check `name` and `secret` (or `token`): only the owner's token or the executor's "
    "SECRET may update it."
)

_TOO_LARGE = (
    "The archive is too large for the Hub (or over its upload quota): list data, models and "
    "build outputs in the executor's .gitignore. Set `max-archive-size` to the Hub's limit to "
    "learn this before uploading."
)

#: By Hubble status code.
BY_CODE: dict[int, str] = {
    40102: _NOT_ALLOWED,
    40301: _NOT_ALLOWED,
    40901: "A protected tag can be pushed only once, ever. Push a new version tag, or leave this "
    "one out of `protected-tags` and `tags`.",
    41301: _TOO_LARGE,
    41302: _TOO_LARGE,
    42202: "Another account owns this name. If the executor is yours, push with your `token` "
    "(or its `name` + `secret`): an empty `token` is a repository secret that is missing. "
    "Rename `metas.name` in config.yml only for a new executor of your own.",
    42205: "The Hub could not find exactly one Executor class matching `jtype` in config.yml.",
}

#: By kind of error (the most specific class that is listed applies).
BY_KIND: dict[type, str] = {
    ArchiveTooLargeError: "List data, models and build outputs the Hub does not need in the "
    "executor's .gitignore (or raise `max-archive-size` if the Hub takes more).",
    InputErrors: "Fix the inputs named above in the workflow file; nothing was uploaded.",
    Cancelled: "The run was cancelled; the Hub may still be building what was pushed.",
    HubUnreachableError: "Check `hub-url`, or rerun the job if the Hub was briefly down.",
    DeadlineError: "Check `hub-url` and the Hub's status, then rerun; raise `timeout` if the Hub "
    "is only slow.",
    LoginRefusedError: "Create a new token with `jina auth token create` and store it as the "
    "repository secret passed to `token`.",
    UploadBrokenError: "The upload was not repeated. Check the Hub's status and rerun the job.",
    PushUnfinishedError: "The push may or may not have been accepted; check the executor on the "
    "Hub before rerunning.",
    NoBuildTaskError: "Check the executor's build on the Hub, or set `wait: false`.",
    BuildFailedError: "Read the build log below (or rerun with `verbose: true`), fix the "
    "executor, push again.",
    BuildTimeoutError: "The push was accepted and the build goes on at the Hub. Raise `timeout`, "
    "or set `wait: false` and follow the task with `jina hub status --id {task_id}`.",
}


def hint_for(kind: type[HubPushError] | None, code: int | None = None, task_id: str = "") -> str:
    """The advice for an error of this kind and Hubble code, or "" when there is none."""
    if code is not None and code in BY_CODE:
        return BY_CODE[code]
    for cls in kind.__mro__ if kind is not None else ():
        if cls in BY_KIND:
            return BY_KIND[cls].format(task_id=task_id or "TASK_ID")
    return ""
