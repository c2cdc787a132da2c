"""Ask the Hub first: what a push would do there, decided before a byte is uploaded.

`decide` is pure: given what the Hub holds (the executor, with its owner and protected tags,
and what each tag of this push holds now) it says whether the push goes ahead, is refused as
the Hub would refuse it (a protected tag already released, a name another account owns), or
has nothing to do (`if-exists: skip` on a finished release, `skip-unchanged`), and how each
tag would move. A first publish without a login has nothing to ask: the Hub is not read then.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from hub_push.hub.models import ExecutorResult, ExistingTag, HubExecutor, PushRequest

#: The Hub's codes for a protected tag already pushed, and a name another account owns.
TAG_PROTECTED = 40901
NAME_TAKEN = 42202


@dataclass(frozen=True)
class OnTheHub:
    """What the Hub holds for a push: the executor (None: not there, or not readable with
    this login) and each tag of the push (None: not there)."""

    executor: HubExecutor | None
    tags: dict[str, ExistingTag | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """What to do: `push`, `refuse` (with the Hub's code) or `skip`; why; and tag by tag what
    the push does on the Hub."""

    action: Literal["push", "refuse", "skip"]
    reason: str = ""
    code: int | None = None
    lines: tuple[str, ...] = ()
    #: Shown as warnings (a tag whose content the Hub does not report).
    warnings: tuple[str, ...] = ()
    #: The executor as the Hub has it (recorded when the run is skipped), if it has it.
    executor: ExecutorResult | None = None


def tags_of(request: PushRequest) -> tuple[str, ...]:
    """Every tag the push sets: its tags, then the protected ones; `latest` when none."""
    tags = tuple(dict.fromkeys([*request.tags, *request.protected_tags]))
    return tags or ("latest",)


def decide(
    request: PushRequest,
    hub: OnTheHub,
    *,
    user: str,
    if_exists: str,
    skip_unchanged: bool,
) -> Decision:
    """The decision for `request` on the Hub as `hub` describes it (`user`: the login's name,
    "" when unknown)."""
    executor = hub.executor
    if executor is None:
        return Decision(
            "push", lines=(f"`{request.id}` is not on the Hub yet: the push makes it.",)
        )
    lines = list(_moves(request, hub))
    owner = executor.executor.owner
    if user and owner and owner != user:
        return Decision(
            "refuse",
            f"Executor name `{request.id}` is owned by another account (`{owner}`), not by "
            f"`{user}`: the Hub refuses this push (nothing was uploaded).",
            NAME_TAKEN,
            tuple(lines),
        )
    if not user:
        lines.append("Who owns the name was not checked: without a login the Hub does not say.")
    if if_exists == "skip" and request.protected_tags:
        released = _released(request, hub, lines)
        if released is not None:
            return replace(released, executor=executor.executor)
    clash = [tag for tag in tags_of(request) if tag in executor.protected_tags]
    if clash:
        listed = ", ".join(f"`{tag}`" for tag in clash)
        one = len(clash) == 1
        return Decision(
            "refuse",
            f"Tag{'' if one else 's'} {listed} of executor {request.id} "
            f"{'is' if one else 'are'} protected and {'was' if one else 'were'} already pushed; "
            "protected tags can never be pushed again (refused before the upload).",
            TAG_PROTECTED,
            tuple(lines),
        )
    if skip_unchanged:
        unchanged = _unchanged(request, hub)
        if unchanged:
            return Decision("skip", unchanged, lines=tuple(lines), executor=executor.executor)
        if request.dockerfile or request.platform:
            lines.append(
                "`dockerfile` or `platform` is given, which the Hub does not report for a tag: "
                "pushed whatever the tags hold."
            )
    return Decision("push", lines=tuple(lines))


def _moves(request: PushRequest, hub: OnTheHub) -> list[str]:
    lines = []
    for tag in tags_of(request):
        held = hub.tags.get(tag)
        if held is None:
            lines.append(f"`{tag}`: new")
        elif not held.md5:
            lines.append(f"`{tag}`: on the Hub (which archive it holds is not reported)")
        elif held.md5 == request.md5sum:
            lines.append(f"`{tag}`: already holds this archive (md5 {held.md5})")
        else:
            lines.append(f"`{tag}`: moves from archive md5 {held.md5}")
    return lines


def _released(request: PushRequest, hub: OnTheHub, lines: list[str]) -> Decision | None:
    """`if-exists: skip`: skipped when every protected tag holds this very archive; refused
    when one holds other content; None (go on) when one is not on the Hub yet."""
    found = {tag: hub.tags.get(tag) for tag in request.protected_tags}
    if any(held is None for held in found.values()):
        return None
    for tag, held in found.items():
        if held is not None and held.md5 and held.md5 != request.md5sum:
            return Decision(
                "refuse",
                f"Tag `{tag}` of {request.id} is already on the Hub with other content "
                f"(archive md5 {held.md5}, this one {request.md5sum}); a protected tag can "
                "never be pushed again.",
                TAG_PROTECTED,
                tuple(lines),
            )
    listed = ", ".join(f"`{tag}`" for tag in found)
    unknown = [tag for tag, held in found.items() if held is not None and not held.md5]
    warnings = (
        (
            f"The Hub does not say which archive {', '.join(unknown)} holds: skipped without "
            "comparing the content.",
        )
        if unknown
        else ()
    )
    return Decision(
        "skip",
        f"Already on the Hub with this archive: {listed}. Nothing was uploaded.",
        lines=tuple(lines),
        warnings=warnings,
    )


def _unchanged(request: PushRequest, hub: OnTheHub) -> str:
    """`skip-unchanged`: why nothing needs pushing ("" when something does)."""
    if request.dockerfile or request.platform:
        return ""
    wanted = set(request.build_env)
    for tag in tags_of(request):
        held = hub.tags.get(tag)
        if held is None or held.md5 != request.md5sum:
            return ""
        if held.build_env is not None and set(held.build_env) != wanted:
            return ""
    listed = ", ".join(f"`{tag}`" for tag in tags_of(request))
    return (
        f"Every tag of this push already holds this archive (md5 {request.md5sum}): {listed}. "
        "Nothing was uploaded, and no build was started (`skip-unchanged`)."
    )
