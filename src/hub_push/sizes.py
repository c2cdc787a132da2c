"""Byte counts as people read them, in one format for the log, the summary and the errors."""

from __future__ import annotations

_UNITS = ("KiB", "MiB", "GiB", "TiB")


def format_size(size: int) -> str:
    """`17 B`, `2.0 KiB`, `512.0 MiB`, `1.9 GiB` (binary units, one decimal)."""
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in _UNITS:
        value /= 1024
        if value < 1024 or unit == _UNITS[-1]:
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover
