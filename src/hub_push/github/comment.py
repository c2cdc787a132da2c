"""One pull-request comment per executor, found again by its hidden marker and edited."""

from __future__ import annotations

import re

from github.Repository import Repository


def marker(name: str) -> str:
    """The hidden first line that finds this executor's comment again."""
    return f"<!-- hub-push:{re.sub(r'[^A-Za-z0-9._/-]', '_', name)} -->"


def upsert(repo: Repository, number: int, head: str, body: str) -> None:
    """Edit the comment of pull request `number` that starts with `head`, else create it."""
    issue = repo.get_issue(number)
    for comment in issue.get_comments():
        if (comment.body or "").startswith(head):
            comment.edit(body)
            return
    issue.create_comment(body)
