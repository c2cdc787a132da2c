"""The Hub's executor rules: Jina Hub's build check, rewritten as pure functions over a folder.

Jina Hub runs every pushed executor folder through a check (its "normalizer") before it builds
the image. :func:`judge` gives the verdict that check would give, without the network and
without importing or running the folder's code::

    verdict = judge(Path("my-executor"), build_env={"TOKEN"})
    if isinstance(verdict, Rejected):
        print(verdict.code, verdict.file, verdict.line, verdict.message)

:func:`read_folder` reads what the folder says about itself (name, ``jtype``, placeholders)
without judging it: the one reading behind reports, discover and ``preflight: false``.

Where the Hub's check itself trips on a valid folder, the verdict is still a rejection (the
Hub refuses the push), with ``quirk=True`` and a message saying what to change so it passes.
"""

from executor_rules._facts import (
    CONFIG,
    MANIFEST,
    FolderFacts,
    Placeholder,
    Problem,
    read_folder,
)
from executor_rules._folder import MAX_FILE_BYTES
from executor_rules._judge import judge
from executor_rules._requirements import PLACEHOLDER, REQUIREMENTS
from executor_rules._verdict import (
    BROKEN_DEPENDENCY,
    EXECUTOR_EXISTS,
    EXECUTOR_NOT_FOUND,
    HUB_MESSAGES,
    ILLEGAL_EXECUTOR,
    OTHER,
    Accepted,
    Rejected,
    Verdict,
)

__all__ = [
    "BROKEN_DEPENDENCY",
    "CONFIG",
    "EXECUTOR_EXISTS",
    "EXECUTOR_NOT_FOUND",
    "HUB_MESSAGES",
    "ILLEGAL_EXECUTOR",
    "MANIFEST",
    "MAX_FILE_BYTES",
    "OTHER",
    "PLACEHOLDER",
    "REQUIREMENTS",
    "Accepted",
    "FolderFacts",
    "Placeholder",
    "Problem",
    "Rejected",
    "Verdict",
    "judge",
    "read_folder",
]
