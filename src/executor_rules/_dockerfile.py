"""The Dockerfile rule: the Hub copies the final stage's ``ENTRYPOINT`` into its own Dockerfile.

The instructions are found the way the Hub's Dockerfile parser finds them: a line is
``WORD<whitespace>rest``; a trailing escape character (``\\``, or the one an ``# escape=``
directive sets) continues it; comment lines are skipped, also inside a continuation; a blank
line ends a continuation; an instruction still open at the end of the file is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from executor_rules._folder import Folder
from executor_rules._verdict import OTHER, refuse

_INSTRUCTION = re.compile(r"\s*(\S+)\s")
_COMMENT = re.compile(r"\s*#")
_ESCAPE = re.compile(r"\s*#\s*escape\s*=\s*([\\`])\s*", re.IGNORECASE)
_SYNTAX = re.compile(r"\s*#\s*syntax\s*=.*", re.IGNORECASE)
_FROM_STAGE = re.compile(r"\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", re.IGNORECASE)
_LOOSE_ENTRYPOINT = re.compile(r"\s*ENTRYPOINT\b", re.IGNORECASE)


@dataclass(frozen=True)
class Instruction:
    word: str
    line: int
    text: str


def _lines(data: bytes, where: str) -> list[str]:
    """Lines split on ``\\n`` only and decoded one by one as UTF-8 (as the Hub's parser does)."""
    raw = data.split(b"\n")
    chunks = [chunk + b"\n" for chunk in raw[:-1]]
    if raw[-1]:
        chunks.append(raw[-1])
    lines: list[str] = []
    for number, chunk in enumerate(chunks, start=1):
        try:
            lines.append(chunk.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise refuse(
                OTHER,
                f"{where} line {number} is not valid UTF-8; the Hub reads it as UTF-8: save "
                "the file in UTF-8.",
                file=where,
                line=number,
                hub_message=str(exc),
            ) from None
    return lines


def instructions(lines: list[str]) -> list[Instruction]:
    """The instructions the Hub's parser sees, with their 1-based first lines."""
    escape = "\\"
    directives = True
    found: list[Instruction] = []
    current: Instruction | None = None
    continued = False
    for number, line in enumerate(lines, start=1):
        if directives:
            match = _ESCAPE.fullmatch(line.rstrip("\n"))
            if match:
                escape = match.group(1)
            elif not _SYNTAX.fullmatch(line.rstrip("\n")):
                directives = False
        if _COMMENT.match(line):
            continue
        if not continued:
            match = _INSTRUCTION.match(line)
            if match is None:
                continue
            current = Instruction(match.group(1).upper(), number, line)
        else:
            assert current is not None
            current = Instruction(current.word, current.line, current.text + line)
        continued = line.rstrip().endswith(escape)
        if not continued:
            found.append(current)
    return found


def check(folder: Folder, parts: tuple[str, ...], where: str) -> None:
    """Refuse a Dockerfile whose final stage has no ``ENTRYPOINT`` the Hub can see."""
    lines = _lines(folder.read(parts), where)
    found = instructions(lines)
    entrypoint = False
    last_from: Instruction | None = None
    stages: dict[str, bool] = {}
    stage_name: str | None = None
    for instruction in found:
        if instruction.word == "FROM":
            if stage_name is not None:
                stages[stage_name.lower()] = entrypoint
            last_from, entrypoint = instruction, False
            match = _FROM_STAGE.match(instruction.text)
            stage_name = match.group(2) if match and match.group(2) else None
        elif instruction.word == "ENTRYPOINT":
            entrypoint = True
    if entrypoint:
        return
    start = last_from.line if last_from else 1
    missed = next(
        (n for n in range(start, len(lines) + 1) if _LOOSE_ENTRYPOINT.match(lines[n - 1])), None
    )
    parent = _FROM_STAGE.match(last_from.text) if last_from else None
    inherited = bool(parent and stages.get(parent.group(1).lower()))
    hub_message = 'can only concatenate str (not "NoneType") to str'
    if missed is not None:
        raise refuse(
            OTHER,
            f"{where} line {missed}: the Hub's Dockerfile parser does not see this ENTRYPOINT "
            "(it needs a value on the same line and no trailing line continuation at the end "
            "of the file) and fails (a quirk of the Hub's check): write it on one line, e.g. "
            'ENTRYPOINT ["jina", "executor", "--uses", "config.yml"], followed by a newline.',
            file=where,
            line=missed,
            quirk=True,
            hub_message=hub_message,
        )
    if inherited:
        raise refuse(
            OTHER,
            f"{where}: the final stage inherits its ENTRYPOINT from an earlier stage, but the "
            "Hub's check only looks at the final stage and fails (a quirk of the Hub's check): "
            'repeat the ENTRYPOINT in the final stage, e.g. ENTRYPOINT ["jina", "executor", '
            '"--uses", "config.yml"].',
            file=where,
            line=last_from.line if last_from else None,
            quirk=True,
            hub_message=hub_message,
        )
    raise refuse(
        OTHER,
        f"{where} has no ENTRYPOINT in its final stage (one inherited from the base image does "
        "not count); the Hub needs it to run the Executor: add "
        'ENTRYPOINT ["jina", "executor", "--uses", "config.yml"].',
        file=where,
        line=last_from.line if last_from else None,
        hub_message=hub_message,
    )
