"""The few ways a run can fail, each with a message written for the workflow author.

`cli.main` turns any of these into one `::error` annotation and a non-zero exit; nothing
else in the package decides the exit code.
"""

from __future__ import annotations

from dataclasses import dataclass


class HubPushError(Exception):
    """Base class: `str(error)` is the one-line message shown to the user."""

    #: What the user can do about it, shown in the summary below the error.
    hint: str = ""


class InputError(HubPushError):
    """An input of the action (or a CLI flag) has a value we cannot use."""

    def __init__(self, input_name: str, message: str) -> None:
        super().__init__(f"Input `{input_name}`: {message}")
        self.input_name = input_name


@dataclass(frozen=True)
class SourceLocation:
    """A place in the executor folder, for file/line annotations."""

    file: str
    line: int | None = None


class ExecutorError(HubPushError):
    """The executor folder is not something the Hub can build."""

    def __init__(self, message: str, location: SourceLocation | None = None) -> None:
        where = ""
        if location is not None:
            where = location.file + (f":{location.line}" if location.line else "") + ": "
        super().__init__(where + message)
        self.location = location


class HubError(HubPushError):
    """The Hub refused the push, or answered something we cannot read."""

    def __init__(self, message: str, *, code: int | None = None, hint: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.hint = hint


class BuildError(HubPushError):
    """The Hub accepted the push, but the build did not end well; carries the log read."""

    def __init__(self, message: str, *, task_id: str, log: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.task_id = task_id
        self.log = log


class BuildFailedError(BuildError):
    """The build task ended `failed`."""

    hint = "Read the build log below (or rerun with `verbose: true`), fix the executor, push again."


class BuildTimeoutError(BuildError):
    """The build was still running when the `timeout` ran out."""

    hint = (
        "The push was accepted and the build goes on at the Hub. Raise `timeout`, or set "
        "`wait: false` and follow the task with `jina hub status --id TASK_ID`."
    )
