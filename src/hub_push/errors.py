"""The ways a run can fail, each with a one-line message written for the workflow author.

The flow records an error in the `Outcome` and re-raises it; `cli.main` turns it into one
`::error` annotation and a non-zero exit. What the user can do about each kind of error is
the reporting side's business (`hints.py`), so these classes carry facts, not advice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Self


class HubPushError(Exception):
    """Base class: `str(error)` is the one-line message shown to the user."""

    #: The Hubble status code the Hub answered with, when there was one.
    code: int | None = None
    #: The build task the Hub named before the error, if it did: never lost.
    task_id: str = ""


class InputError(HubPushError):
    """An input of the action (or a CLI flag) has a value we cannot use."""

    def __init__(self, input_name: str, message: str) -> None:
        super().__init__(f"Input `{input_name}`: {message}")
        self.input_name = input_name


class InputErrors(HubPushError):
    """One or more inputs are invalid; each becomes its own annotation."""

    def __init__(self, errors: list[InputError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


class Cancelled(HubPushError):
    """The run was stopped (SIGTERM from the runner, or Ctrl-C)."""


class UnexpectedError(HubPushError):
    """A bug of ours: anything that is not one of the errors above."""

    def __init__(self, error: Exception) -> None:
        super().__init__(f"Unexpected error ({type(error).__name__}): {error}")


@dataclass(frozen=True)
class SourceLocation:
    """A place in the executor folder, for file/line annotations."""

    file: str
    line: int | None = None

    @classmethod
    def of(cls, folder: Path, file: str, root: Path | None, line: int | None = None) -> Self:
        """`file` of `folder` as an annotation names it: relative to `root` (the workspace)
        when it is inside it. Only the folder is resolved: the file itself may be a link (even
        a loop) and is not followed."""
        if root is not None:
            try:
                return cls((folder.resolve() / file).relative_to(root.resolve()).as_posix(), line)
            except (ValueError, OSError, RuntimeError):
                pass
        return cls((folder / file).as_posix(), line)


class ExecutorError(HubPushError):
    """The executor folder is not something the Hub can build."""

    def __init__(self, message: str, location: SourceLocation | None = None) -> None:
        where = ""
        if location is not None:
            where = location.file + (f":{location.line}" if location.line else "") + ": "
        super().__init__(where + message)
        self.location = location


class PreflightError(ExecutorError):
    """Jina Hub's build check, run here before the upload, rejects the folder."""

    def __init__(
        self, message: str, location: SourceLocation | None = None, *, code: int | None = None
    ) -> None:
        super().__init__(message, location)
        self.code = code  # the build check's code: 4000, 4001, 4002 or 5000


class ArchiveTooLargeError(ExecutorError):
    """The packed folder is larger than `max-archive-size`, the largest archive the Hub takes."""


class HubError(HubPushError):
    """The Hub answered something we cannot use (or could not be asked)."""

    def __init__(self, message: str, *, code: int | None = None, task_id: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.task_id = task_id


class DeadlineError(HubError):
    """The run's overall deadline (`timeout` plus a short grace) passed before it was done."""


class HubUnreachableError(HubError):
    """A safe call still failed on the network after its retries."""


class PushRefusedError(HubError):
    """The Hub refused the push before building it (credentials, tags, ownership, size…)."""


class LoginRefusedError(PushRefusedError):
    """The Hub does not accept the login token."""


class PushAnswerLostError(HubError):
    """The whole upload was sent, but its answer never arrived whole (a 5xx from a gateway, a
    cut stream, a read timeout): the Hub may have taken the push. It is never sent again."""


class UploadBrokenError(PushAnswerLostError):
    """The upload broke off on the network; it was not repeated."""


class PushUnfinishedError(PushAnswerLostError):
    """The Hub closed the push stream without saying how it ended."""


class NoBuildTaskError(HubError):
    """The Hub accepted the push but named no build task to wait for."""


class BuildError(HubPushError):
    """The Hub accepted the push, but the build did not end well; carries the log read."""

    def __init__(self, message: str, *, task_id: str, log: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.task_id = task_id
        self.log = log


class BuildFailedError(BuildError):
    """The build task ended `failed`."""


class BuildTimeoutError(BuildError):
    """The build was still running when the `timeout` ran out."""
