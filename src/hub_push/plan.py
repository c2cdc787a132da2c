"""The plan: what this run will do, decided before it does anything, from the inputs as given.

`make_plan` is pure: Settings (never rewritten), the GitHub context (read once) and the
executor folder's facts (`locate`: read once, leniently) become one frozen `Plan`: the mode,
the tags `tags: auto` stands for, the executor's name, the push request but its md5, whether
the run is a dry run and why, whether there is nothing to push and why, and which GitHub
reports are wanted. Its
decisions are `remarks`, shown in the summary beside the inputs as they were given. The flow
executes the plan; what it learns from the folder and the Hub goes into the `Outcome`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from executor_rules import FolderFacts, read_folder
from hub_push.errors import ExecutorError, HubPushError, InputError, InputErrors
from hub_push.executor import folder_in_workspace, require_folder
from hub_push.github_context import GitHubContext, GitHubFeatures
from hub_push.grammar import MAX_TAG_LENGTH, TAG, Mode
from hub_push.hub.models import PushRequest
from hub_push.ref_tags import AUTO, LATEST, RefTagsError, derive_tags, split_auto
from hub_push.settings import Settings


@dataclass(frozen=True)
class Target:
    """The executor folder as the inputs name it: found and read (leniently), or the error
    the run stops with when it gets there (`path` outside the workspace, no such folder)."""

    folder: Path | None = None
    facts: FolderFacts | None = None
    problem: HubPushError | None = None


def locate(path: str, workspace: Path, *, on_runner: bool = True) -> Target:
    """Find and read the executor folder `path` names; never raises for what it finds."""
    try:
        folder = folder_in_workspace(path, workspace, on_runner=on_runner)
        require_folder(folder)
    except ExecutorError:  # the input names a folder that is not there: the input's error
        return Target(problem=InputError("path", f"`{path}` does not exist or is not a folder"))
    except InputError as problem:
        return Target(problem=problem)
    return Target(folder, read_folder(folder))


@dataclass(frozen=True)
class Plan:
    """One run, decided: the flow reads it and never changes it."""

    settings: Settings
    context: GitHubContext
    mode: Mode
    #: The tags of this push (`auto` resolved), then the protected ones not already listed.
    tags: tuple[str, ...] = ()
    protected_tags: tuple[str, ...] = ()
    #: Check and pack only: the `dry-run` input, or a run that must never push.
    dry_run: bool = False
    #: Why there is nothing to push at all ("" when there is): the run ends `skipped`.
    skip: str = ""
    #: The plan's decisions in words, for the log and the summary.
    remarks: tuple[str, ...] = ()
    #: Things the user should know before anything runs (shown as warnings).
    warnings: tuple[str, ...] = ()
    #: Why a run that was not asked to be a dry run is one ("" when it is not).
    dry_run_reason: str = ""
    github: GitHubFeatures | None = None
    #: The executor folder (a push only).
    target: Target = Target()
    #: Why this push may not go ahead (no credential on Actions): raised before packing, once
    #: the folder's own problems have been said.
    refusal: InputErrors | None = None

    @property
    def executor_name(self) -> str:
        """The name reports use from the start: `name`, else the folder's (as the Hub picks
        it, else the folder's own name), else the `path` input."""
        facts = self.target.facts
        return self.settings.name or (facts.name_or_folder() if facts else self.settings.path)

    @property
    def push_name(self) -> str:
        """What the push names the executor by: `name` (a name or UUID8), else the folder's
        name ("" when neither is set: the client's checks stop the run before the upload)."""
        facts = self.target.facts
        return self.settings.name or (facts.name if facts else "")

    @property
    def all_tags(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*self.tags, *self.protected_tags]))

    def push_request(self, md5: str) -> PushRequest:
        """The Hub call this plan makes for the archive `md5`."""
        settings = self.settings
        return PushRequest(
            id=self.push_name,
            md5sum=md5,
            visibility=settings.visibility,
            # load_settings refuses a secret without a name: with one, this is an update
            secret=settings.secret.get_secret_value() if settings.secret else None,
            tags=self.tags,
            protected_tags=self.protected_tags,
            build_env={k: v.get_secret_value() for k, v in settings.build_env.items()},
            dockerfile=settings.dockerfile,
            platform=settings.platform,
            verbose=settings.verbose,
            no_cache=settings.no_cache,
        )


def make_plan(settings: Settings, context: GitHubContext, target: Target = Target()) -> Plan:
    """The plan for `settings` where `context` says the run is, for the folder `target`;
    raises `InputError` when the git ref cannot give the tags `tags: auto` asks for."""
    github = _github_features(settings)
    if settings.mode == "discover":
        return Plan(settings, context, "discover", github=github)
    if settings.mode == "status":  # it reads, never pushes: no dry run, no credential rule
        return Plan(settings, context, "status", github=github, target=target)
    if settings.mode == "report":  # one status `hub-push`, one comment, for the whole matrix
        if not settings.results:
            raise InputError("results", "is empty: `mode: report` reads the result files there")
        return Plan(settings, context, "report", github=github)
    if AUTO in settings.protected_tags:
        raise InputError(
            "protected-tags",
            "holds `auto`, which would become a tag named `auto`: `auto` belongs in `tags` "
            "(with `protect-version: true` to protect the exact version it derives)",
        )
    remarks: list[str] = []
    tags, protected = _tags(settings, context, remarks)
    if tags is None:
        return Plan(
            settings,
            context,
            "push",
            skip=remarks[-1],
            remarks=tuple(remarks),
            target=target,
            github=github,  # a skipped run reports on GitHub too
        )
    dry_run_reason = ""
    if not settings.dry_run:
        has_credential = bool(settings.token or settings.secret)
        if why := context.why_not_push(has_credential=has_credential):
            dry_run_reason = why
            remarks.append(f"Run as a dry run (the `dry-run` input is false): {why}.")
    refusal = None
    if not (settings.dry_run or dry_run_reason):
        if context.event_name == "merge_group":
            raise InputError(
                "dry-run",
                "is false on a `merge_group` run, whose commit is the merge queue's temporary "
                "one (`gh-readonly-queue/…`): publish from the merged commit instead (a push "
                "to the base branch, or a tag), and set `dry-run: true` here",
            )
        if context.on_runner:
            refusal = _credential_refusal(settings)
    warnings: tuple[str, ...] = ()
    if any(tag.startswith(LATEST) for tag in protected):
        warnings = (
            "`latest` is a protected tag here: it can be pushed once, ever, and then never "
            "moves again. Protect a version instead (`protected-tags: v1.2.3`, or `tags: auto` "
            "with `protect-version: true`) and let `latest` move.",
        )
    return Plan(
        settings,
        context,
        "push",
        warnings=warnings,
        tags=tags,
        protected_tags=protected,
        dry_run=settings.dry_run or bool(dry_run_reason),
        dry_run_reason=dry_run_reason,
        remarks=tuple(remarks),
        github=github,
        target=target,
        refusal=refusal,
    )


def _credential_refusal(settings: Settings) -> InputErrors | None:
    """A push on Actions needs a credential, unless a first publish without one is meant
    (`allow-anonymous`): an empty `token` is most often a repository secret that is missing,
    and pushing on would create a new executor nobody owns."""
    if settings.token or settings.secret or settings.allow_anonymous:
        return None
    if settings.name:
        return InputErrors(
            [
                InputError(
                    "name",
                    "is set, but neither `secret` nor `token` is: an update needs the SECRET "
                    "of the first publish (`secret`, from a repository secret) or a login "
                    "`token`; check that the repository secret exists and is not empty. To "
                    "publish a new executor under this name without a login, set "
                    "`allow-anonymous: true`.",
                )
            ]
        )
    return InputErrors(
        [
            InputError(
                "token",
                "is empty, and so are `name` and `secret`: without a credential the Hub "
                "would create a NEW executor that no account owns. If `token` comes from a "
                "repository secret, that secret is missing or empty in this repository (and "
                "secrets are empty on pull requests from forks); to update an executor "
                "published without a login, pass `name` and `secret`. To publish a new "
                "executor without a login on purpose, set `allow-anonymous: true`.",
            )
        ]
    )


def _tags(
    settings: Settings, context: GitHubContext, remarks: list[str]
) -> tuple[tuple[str, ...] | None, tuple[str, ...]]:
    """(tags, protected tags) of this push; (None, ()) when the ref releases another executor
    (the reason is the last remark)."""
    has_auto, explicit = split_auto(settings.tags)
    if not has_auto:
        return _suffixed(settings, tuple(settings.tags), tuple(settings.protected_tags), ())
    try:
        derived = derive_tags(
            context.tag_ref,
            explicit=explicit,
            tag_prefix=settings.tag_prefix,
            protect_version=settings.protect_version,
        )
    except RefTagsError as error:
        raise InputError(error.input_name, str(error)) from None
    if derived.skipped:
        remarks.append(f"Not for this executor: {derived.skipped_reason}")
        return None, ()
    protected = tuple(dict.fromkeys([*derived.protected, *settings.protected_tags]))
    # Tags made from a branch, a pull request or a non-version git tag may be cut to make room.
    cuttable = derived.tags if derived.kind in ("branch", "pull-request", "tag") else ()
    tags, protected = _suffixed(settings, derived.tags, protected, cuttable)
    shown = ", ".join(tags) + (f" (protected: {', '.join(protected)})" if protected else "")
    remarks.append(f"`tags: {AUTO}` on {context.tag_ref or 'no git ref'}: {shown}.")
    return tags, protected


def _suffixed(
    settings: Settings,
    tags: tuple[str, ...],
    protected: tuple[str, ...],
    cuttable: tuple[str, ...],
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """`tag-suffix` appended to every tag of the push, `latest` and protected ones included
    (no tags at all: `latest` and the suffix, sent explicitly). A `cuttable` tag is cut to
    make room; any other that becomes invalid is an input error."""
    suffix = settings.tag_suffix
    if not suffix:
        return tags, protected
    if not tags and not protected:
        tags = (LATEST,)

    def add(tag: str) -> str:
        full = tag + suffix
        if len(full) > MAX_TAG_LENGTH and tag in cuttable:
            full = tag[: MAX_TAG_LENGTH - len(suffix)].rstrip(".-") + suffix
        if not TAG.matches(full):
            raise InputError(
                "tag-suffix",
                f"makes the tag `{full}`, which {TAG.message.removeprefix('is ')}: shorten the "
                "tag or the suffix",
            )
        return full

    return tuple(add(tag) for tag in tags), tuple(add(tag) for tag in protected)


def _github_features(settings: Settings) -> GitHubFeatures | None:
    wanted = (settings.status_check, settings.check_run, settings.comment)
    if not any(wanted) and not settings.save_secret_as:
        return None
    return GitHubFeatures(
        token=settings.github_token.get_secret_value() if settings.github_token else "",
        status_check=settings.status_check,
        check_run=settings.check_run,
        comment=settings.comment,
        sha=settings.sha,
        save_secret_as=settings.save_secret_as,
        context=settings.status_context or ("hub-push" if settings.mode == "report" else ""),
        resume=settings.mode == "status",
        variant=settings.tag_suffix,
        secret_token=(
            settings.save_secret_token.get_secret_value() if settings.save_secret_token else ""
        ),
    )
