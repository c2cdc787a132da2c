"""A first publish's name and SECRET, kept as repository secrets (sealed by PyGithub)."""

from __future__ import annotations

from github.Repository import Repository


def secret_names(prefix: str) -> tuple[str, str]:
    """The repository secrets a first publish is saved as: PREFIX_NAME, PREFIX_SECRET."""
    return f"{prefix}_NAME", f"{prefix}_SECRET"


def save(repo: Repository, values: dict[str, str], saved: list[str]) -> None:
    """Write each secret (a PUT: repeating it is harmless); `saved` lists those written."""
    for name, value in values.items():
        repo.create_secret(name, value)  # sealed with the repository's public key
        saved.append(name)
