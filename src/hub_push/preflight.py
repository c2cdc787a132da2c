"""The preflight: Jina Hub's build check, run on the folder before anything is packed or sent.

The same rules as the local Hub's build (the shared `executor_rules` package, a rewrite of
`jina-ai/executor-normalizer`), so a folder the Hub's build would reject fails here, with the
file and line to fix, and nothing is uploaded. `preflight: false` skips it.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path

import executor_rules
from hub_push.errors import PreflightError, SourceLocation

SKIP_HINT = "If this check is wrong about your folder, set `preflight: false` to skip it."


def preflight(
    folder: Path, *, dockerfile: str, build_env: Collection[str], workspace: Path | None
) -> executor_rules.Accepted:
    """What the Hub's check finds in the folder, or `PreflightError` with its verdict."""
    verdict = executor_rules.judge(folder, dockerfile=dockerfile or None, build_env=build_env)
    if isinstance(verdict, executor_rules.Accepted):
        return verdict
    location = None
    message = verdict.message
    if verdict.file:
        location = SourceLocation.of(folder, verdict.file, workspace, verdict.line)
        # The annotation names the file already: `config.yml: config.yml has…` says it twice.
        message = (
            message.removeprefix(verdict.file).lstrip(": ")
            if message.startswith(verdict.file + " ") or message.startswith(verdict.file + ":")
            else message
        )
    # The check speaks the CLI's words (`--build-env NAME=YOUR_VALUE`): the action's input here.
    message = re.sub(r"\(--build-env [^)]*\)", "(lines `NAME=…` of the `build-env` input)", message)
    kind = "a quirk of Jina Hub's build check" if verdict.quirk else "Jina Hub's build check"
    raise PreflightError(
        f"{message} ({kind} would reject it: code {verdict.code}) {SKIP_HINT}",
        location,
        code=verdict.code,
    )
