"""GitHub's size limits on the texts the reporters send, and how a text is cut to one."""

from __future__ import annotations

#: A commit status's description (characters).
DESCRIPTION_LIMIT = 140
#: A check run's `output.summary` and `output.text`, in bytes: GitHub's API description says
#: characters, but GitHub answers 422 "summary exceeds a maximum bytesize of 65535".
SUMMARY_BYTES = 65535
#: An annotation's message, in bytes (64 KB).
ANNOTATION_MESSAGE_BYTES = 65535
#: Annotations GitHub takes in one check-run request.
ANNOTATIONS_PER_REQUEST = 50
#: An issue comment's body (characters).
COMMENT_LIMIT = 65536
#: An annotation's title (characters).
TITLE_LIMIT = 255
CUT_NOTE = "\n\n… (cut to GitHub's size limit)"


def one_line(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    """`text` on one line (whitespace collapsed), cut to `limit` characters with `…`."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def truncate(text: str, limit: int) -> str:
    """`text`, or its start and a note saying it was cut, in at most `limit` characters."""
    return text if len(text) <= limit else text[: limit - len(CUT_NOTE)] + CUT_NOTE


def truncate_bytes(text: str, limit: int) -> str:
    """`text`, or its start and a note saying it was cut, in at most `limit` UTF-8 bytes
    (never cutting a character in two)."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    room = limit - len(CUT_NOTE.encode("utf-8"))
    return raw[:room].decode("utf-8", errors="ignore") + CUT_NOTE
