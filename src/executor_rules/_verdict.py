"""The verdict of the Hub's build check: accepted, or rejected with the Hub's code."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, TypeAlias

#: No Executor class found (the Hub's ``ErrorCode.ExecutorNotFound``).
EXECUTOR_NOT_FOUND: Final = 4000
#: More than one class found (``ErrorCode.ExecutorExists``).
EXECUTOR_EXISTS: Final = 4001
#: The class was found but its ``__init__`` is refused (``ErrorCode.IllegalExecutor``).
ILLEGAL_EXECUTOR: Final = 4002
#: Without ``config.yml``: the modules import each other in a cycle (``BrokenDependency``).
BROKEN_DEPENDENCY: Final = 4003
#: Anything else the check trips on; the Hub then returns the error text itself.
OTHER: Final = 5000

#: What the Hub answers for each code (for 5000 the text depends on the error).
HUB_MESSAGES: Final[Mapping[int, str]] = MappingProxyType(
    {
        EXECUTOR_NOT_FOUND: (
            "We can not discover any Executor in your bundle. This is often due to one of the"
            " following errors:\n    The bundle did not contain any valid executor.\n    The"
            " config.yml's jtype is mismatched with the actual Executor class name."
        ),
        EXECUTOR_EXISTS: (
            "Multiple executors are placed at one package, which is not allowed by Jina Hub now!"
        ),
        ILLEGAL_EXECUTOR: "The uploaded executor is illegal, please double check it!",
        BROKEN_DEPENDENCY: "The uploaded executor contains cycing and missing dependencies",
    }
)


@dataclass(frozen=True)
class Accepted:
    """The Hub's check passes: what it found."""

    #: The Executor class name (``jtype``).
    executor: str
    #: The file that defines the class, relative to the folder (POSIX separators).
    module: str
    #: The 1-based line of the ``class`` statement.
    line: int
    #: The Dockerfile the build uses, relative to the folder; None: the Hub generates one.
    dockerfile: str | None
    #: The requirement lines the build installs (``requirements.txt``, plus what the Hub
    #: appends from ``pyproject.toml``), stripped, without blanks and ``#`` comments.
    requirements: tuple[str, ...]
    #: The ``${NAME}`` build-env placeholders those lines use, in order of appearance.
    placeholders: tuple[str, ...]

    @property
    def accepted(self) -> bool:
        return True


@dataclass(frozen=True)
class Rejected:
    """The Hub's check refuses the folder."""

    #: One of the codes above (4000 to 4003, or 5000).
    code: int
    #: One line for the workflow author: what is wrong, where, and what to change.
    message: str
    #: The file at fault, relative to the folder (POSIX separators), if one is.
    file: str | None = None
    #: Its 1-based line, if known.
    line: int | None = None
    #: True when the folder is valid but the Hub's check itself trips on it.
    quirk: bool = False
    #: What the Hub itself answers; empty when the refusal is a safety rule of this
    #: package (a symlink out of the folder, a file too large to read) and not the Hub's.
    hub_message: str = ""

    @property
    def accepted(self) -> bool:
        return False


Verdict: TypeAlias = Accepted | Rejected


class Refusal(Exception):
    """Raised inside the check to stop at the first rejection (never escapes :func:`judge`)."""

    def __init__(self, rejected: Rejected) -> None:
        super().__init__(rejected.message)
        self.rejected = rejected


def refuse(
    code: int,
    message: str,
    *,
    file: str | None = None,
    line: int | None = None,
    quirk: bool = False,
    hub_message: str | None = None,
) -> Refusal:
    """A :class:`Refusal` carrying a :class:`Rejected`; the Hub's text defaults by code."""
    text = HUB_MESSAGES.get(code, "") if hub_message is None else hub_message
    return Refusal(
        Rejected(code=code, message=message, file=file, line=line, quirk=quirk, hub_message=text)
    )
