"""The step summary reporter: one compact Markdown section a run, HTML-escaped.

It reads the `Outcome` and a description of the inputs (`Settings.describe()`: secrets only
as set / not set), nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from hub_push.hints import hint_for
from hub_push.outcome import HEADLINES, LOG_TAIL, Outcome, Status
from hub_push.sizes import format_size

#: (input, value as text) pairs, as `Settings.describe()` gives them.
InputsDescription = Sequence[tuple[str, str]]

#: The icon of each ending's heading.
ICONS: dict[Status, str] = {
    "succeeded": "✅",
    "pending": "⏳",
    "dry-run": "🧪",
    "skipped": "⏭️",
    "discovered": "🔎",
    "preflight-failed": "🛑",
    "invalid": "⚠️",
    "refused": "⛔",
    "failed": "❌",
    "timeout": "⌛",
    "cancelled": "✋",
    "error": "❗",
}
#: The heading of each ending: its icon and the Outcome's headline (`{name}`: the executor, or
#: the `path` input, as code).
HEADINGS: dict[Status, str] = {status: f"{ICONS[status]} {HEADLINES[status]}" for status in ICONS}
#: When not even the `path` input could be read.
NAMELESS_HEADING = "⚠️ Nothing was pushed to Jina Hub: the inputs need fixing"


def _code(value: str) -> str:
    return f"<code>{escape(value)}</code>" if value else "—"


def _table(rows: list[tuple[str, str]], header: str = "| | |") -> str:
    """A two-column Markdown table of ready-made HTML cells (pipes escaped)."""
    lines = [header, "| --- | --- |"]
    lines += [f"| {label} | {value.replace('|', '&#124;')} |" for label, value in rows]
    return "\n".join(lines)


def render(
    outcome: Outcome,
    inputs: InputsDescription | None,
    notes: Sequence[str] = (),
    *,
    alerts: Sequence[str] = (),
    secret_saved: bool = False,
) -> str:
    """The Markdown section for this run (`inputs` None: they could not be read). `notes` and
    `alerts` are lines other reporters add (already safe Markdown: the saved secrets' names, a
    SECRET that could not be saved); `secret_saved` leaves out how to keep the SECRET."""
    if outcome.report_rows:
        return _report(outcome)
    described = dict(inputs or ())
    where = described.get("root") if outcome.status == "discovered" else described.get("path")
    name = outcome.executor_name or where
    heading = HEADINGS[outcome.status].format(name=_code(name)) if name else NAMELESS_HEADING
    lines = [f"## {heading}", ""]
    rows: list[tuple[str, str]] = [("Build status", _code(outcome.status))]
    if outcome.task_id:
        rows.append(("Task ID", _code(outcome.task_id)))
    if outcome.executor_id:
        page = f' (<a href="{escape(outcome.url)}">Hub page</a>)' if outcome.url else ""
        rows.append(
            ("Executor", f"{_code(outcome.executor_name)} · ID {_code(outcome.executor_id)}{page}")
        )
    if outcome.owner:
        rows.append(("Owner", _code(outcome.owner)))
    if outcome.visibility:
        rows.append(("Visibility", escape(outcome.visibility)))
    if outcome.status not in ("failed", "discovered"):  # a failed build published nothing
        published = outcome.ok
        rows.append(
            (
                "Tags" if published else "Tags asked for",
                ", ".join(_code(t) for t in outcome.tags) or "—",
            )
        )
        if outcome.protected_tags:
            rows.append(("Protected tags", ", ".join(_code(t) for t in outcome.protected_tags)))
        if outcome.uses and published:
            usage = _code(outcome.uses)
            if outcome.visibility == "private" and outcome.secret:
                usage += (
                    " — a private executor published without a login: pulling it needs its "
                    "SECRET too, <code>jinahub+docker://NAME:SECRET/TAG</code>"
                )
            rows.append(("Usage", usage))
    if outcome.secret:
        rows.append(("Secret", "returned by this first publish: in the masked `secret` output"))
    if outcome.archive_md5:
        size = f", {format_size(outcome.archive_size)}" if outcome.archive_size is not None else ""
        files = f", {outcome.archive_files} files" if outcome.archive_files is not None else ""
        rows.append(("Archive", f"md5 {_code(outcome.archive_md5)}{size}{files}"))
    rows.append(("Duration", f"{outcome.duration:.1f} s"))
    lines += [_table(rows), ""]
    for remark in outcome.remarks:
        lines += [f"> [!NOTE]\n> {escape(remark)}", ""]
    for note in notes:
        lines += [f"> [!NOTE]\n> {note}", ""]
    for warning in outcome.warnings:
        lines += [f"> [!WARNING]\n> {escape(warning)}", ""]
    for alert in alerts:
        lines += [f"> [!CAUTION]\n> {alert}", ""]
    if outcome.secret and not secret_saved:
        lines += [_keep_the_secret(outcome.executor_name or outcome.executor_id), ""]
    if outcome.error:
        body = escape(outcome.error)
        if hint := hint_for(outcome.error_kind, outcome.error_code, outcome.task_id):
            body += f"<br><br><b>What to do:</b> {escape(hint)}"
        lines += [f"<details open><summary><b>Error</b></summary>\n\n{body}\n\n</details>", ""]
    if outcome.log:
        tail = outcome.log[-LOG_TAIL:]
        title = f"Build log (last {len(tail)} of {len(outcome.log)} lines)"
        opened = " open" if outcome.status == "failed" else ""
        lines += [
            f"<details{opened}><summary>{title}</summary>\n\n"
            f"<pre>{escape(chr(10).join(tail))}</pre>\n\n</details>",
            "",
        ]
    if inputs is not None:
        shown = inputs
        if outcome.status == "discovered":  # the push's inputs play no part in a discovery
            shown = [(n, v) for n, v in inputs if n in ("mode", "root", "changed-since")]
        cells = [(name, escape(value) if value else "—") for name, value in shown]
        table = _table(cells, header="| input | value |")
        lines += [f"<details><summary>Inputs</summary>\n\n{table}\n\n</details>", ""]
    return "\n".join(lines) + "\n"


def _keep_the_secret(name: str) -> str:
    """How to keep a first publish's SECRET from the next step of the same job: the masked
    `secret` output is readable there, and nowhere else. (`name` is in the Hub's grammar for
    names, so it is safe in a code block, which Markdown does not unescape.)"""
    steps = [
        "      - id: hub                       # the hub-push step, with an id",
        "        uses: org/hub-push@v1",
        "        # ...",
        "      - if: ${{ always() && steps.hub.outputs.secret != '' }}",
        "        env:",
        "          GH_TOKEN: ${{ secrets.SECRETS_WRITER }}  # a fine-grained PAT: Secrets, write",
        "          SECRET: ${{ steps.hub.outputs.secret }}",
        "        run: |",
        '          gh secret set HUB_EXECUTOR_SECRET --body "$SECRET"',
        f'          gh secret set HUB_EXECUTOR_NAME --body "{name}"',
    ]
    return (
        "<details open><summary><b>Keep the SECRET</b>: the Hub returned it only this once"
        "</summary>\n\nIt is needed for every later update without a login, and it lives only "
        "in this step's masked <code>secret</code> output, which a later step of the same job "
        "can read (another job cannot). Store it as a repository secret there (the workflow's "
        "<code>GITHUB_TOKEN</code> cannot write secrets), or let hub-push do it with "
        "<code>save-secret-as</code>:\n\n```yaml\n" + "\n".join(steps) + "\n```\n\n</details>"
    )


def _report(outcome: Outcome) -> str:
    """`mode: report`: one table for the whole matrix, worst status first in the heading."""
    rows = outcome.report_rows
    icon = ICONS[outcome.status]
    lines = [f"## {icon} hub-push report: {len(rows)} executors, worst `{outcome.status}`", ""]
    lines += [
        "| executor | variant | tags | build status | task | link |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        link = f'<a href="{escape(row.url)}">Hub page</a>' if row.url else "—"
        note = f" ({escape(row.note)})" if row.note else ""
        cells = [
            _code(row.executor),
            escape(row.variant),
            ", ".join(_code(t) for t in row.tags) or "—",
            _code(row.build_status) + note,
            _code(row.task_id),
            link,
        ]
        lines.append("| " + " | ".join(c.replace("|", "&#124;") for c in cells) + " |")
    return "\n".join([*lines, ""]) + "\n"
