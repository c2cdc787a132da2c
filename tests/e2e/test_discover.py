"""`mode: discover`: executor folders under a root, and the ones changed since a base ref,
over fixture git repositories with history built in tmp_path (by the git CLI; discover
itself reads them with dulwich and needs no git binary)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from hub_push import git_changes
from hub_push.discover import Discovery, FoundExecutor, discover
from hub_push.errors import InputError
from hub_push.executor import load_executor, name_of
from support.git import git

ZERO_SHA = "0" * 40


@dataclass(frozen=True)
class History:
    """A fixture repository: its folder, the executors' root in it, and two commits."""

    repo: Path
    root: Path
    base: str
    head: str


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Neither the machine's git configuration nor a surrounding repository leaks in."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def executor(folder: Path, cls: str = "MyExecutor", name: str | None = None) -> Path:
    metas = f"metas:\n  name: {name}\n" if name else ""
    write(folder / "config.yml", f"jtype: {cls}\n{metas}py_modules:\n  - executor.py\n")
    write(folder / "executor.py", f"class {cls}:\n    pass\n")
    return folder


def paths(discovery: Discovery) -> list[str]:
    return [found.path for found in discovery.executors]


@pytest.fixture
def repo(tmp_path: Path) -> History:
    """A repository with two commits: `base` (executors a, b, group/c, old, before, and
    things that are not executors) and `head` (a and group/c changed, old deleted, before
    renamed to after, changes outside any executor or in ignored folders)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    ex = repo / "executors"
    executor(ex / "a", "AExec", name="A")
    executor(ex / "b", "BExec")  # no metas.name: the folder's name
    executor(ex / "group" / "c", "CExec", name="C")  # nested one level deeper
    executor(ex / "old", "OldExec", name="Old")
    executor(ex / "before", "Renamed", name="Renamed")
    executor(ex / "a" / "tests" / "fixture", "Inner")  # inside an executor: part of it
    executor(ex / ".hidden" / "h", "Hidden")
    executor(ex / "node_modules" / "n", "Node")
    executor(ex / "env" / "lib" / "e", "InVenv")
    write(ex / "env" / "pyvenv.cfg", "home = /usr/bin\n")
    write(ex / "not-executor" / "config.yml", "settings:\n  x: 1\n")
    write(ex / "number-jtype" / "config.yml", "jtype: 123\n")
    write(ex / "empty-jtype" / "config.yml", "jtype: ''\n")
    write(ex / "list-jtype" / "config.yml", "jtype: [A]\n")
    write(ex / "tagged" / "config.yml", "jtype: Tagged\nwith:\n  x: !Custom 1\n")
    write(repo / "README.md", "monorepo\n")
    base = commit(repo, "base")

    write(ex / "a" / "executor.py", "class AExec:\n    changed = True\n")
    write(ex / "a" / "tests" / "fixture" / "data.txt", "x\n")
    write(ex / "group" / "c" / "requirements.txt", "numpy\n")
    git(repo, "rm", "-q", "-r", "executors/old")
    git(repo, "mv", "executors/before", "executors/after")
    write(ex / ".hidden" / "h" / "executor.py", "class Hidden:\n    changed = True\n")
    write(ex / "node_modules" / "n" / "executor.py", "class Node:\n    changed = True\n")
    write(repo / "README.md", "monorepo, changed\n")
    head = commit(repo, "head")
    return History(repo=repo, root=ex, base=base, head=head)


ALL = ["a", "after", "b", "group/c", "tagged"]


def test_without_a_base_every_executor_is_in(repo: History) -> None:
    found = discover(repo.root)
    assert paths(found) == ALL
    assert [f.path for f in found.found] == ALL
    assert found.warnings == ()
    assert found.note == "all 5 executors: no base to compare with"


def test_names_come_from_metas_or_the_folder(repo: History) -> None:
    found = discover(repo.root)
    assert found.executors == (
        FoundExecutor("a", "A"),
        FoundExecutor("after", "Renamed"),
        FoundExecutor("b", "b"),
        FoundExecutor("group/c", "C"),
        FoundExecutor("tagged", "tagged"),
    )


def test_changed_since_a_commit(repo: History) -> None:
    found = discover(repo.root, changed_since=repo.base)
    # a: changed; after: the renamed folder; group/c: nested, changed. b and tagged are
    # unchanged, old is deleted, hidden and node_modules folders are never looked at.
    assert paths(found) == ["a", "after", "group/c"]
    assert len(found.found) == 5
    assert found.warnings == ()
    assert found.note == f"3 of 5 executors changed since `{repo.base}`"


def test_nothing_changed_gives_an_empty_matrix(repo: History) -> None:
    found = discover(repo.root, changed_since=repo.head)
    assert paths(found) == []
    assert found.matrix_json() == '{"include":[]}'


def test_the_matrix_json(repo: History) -> None:
    found = discover(repo.root, changed_since=repo.base)
    assert json.loads(found.matrix_json()) == {
        "include": [
            {"path": "a", "name": "A", "variant": "default", "dockerfile": "", "tag-suffix": ""},
            {
                "path": "after",
                "name": "Renamed",
                "variant": "default",
                "dockerfile": "",
                "tag-suffix": "",
            },
            {
                "path": "group/c",
                "name": "C",
                "variant": "default",
                "dockerfile": "",
                "tag-suffix": "",
            },
        ]
    }
    assert found.matrix_json() == json.dumps(found.matrix(), separators=(",", ":"))


def test_paths_relative_to_the_workspace(repo: History) -> None:
    workspace = repo.repo
    found = discover(workspace / "executors", changed_since=repo.base, relative_to=workspace)
    assert paths(found) == ["executors/a", "executors/after", "executors/group/c"]
    whole = discover(workspace, changed_since=repo.base)
    assert paths(whole) == ["executors/a", "executors/after", "executors/group/c"]


def test_the_zero_sha_of_a_new_branch_counts_everything(repo: History) -> None:
    found = discover(repo.root, changed_since=ZERO_SHA)
    assert paths(found) == ALL
    assert found.warnings == ()
    assert "zero sha" in found.note


@pytest.mark.parametrize("base", ["", "   ", None])
def test_an_empty_base_means_no_filter(repo: History, base: str | None) -> None:
    assert paths(discover(repo.root, changed_since=base)) == ALL


@pytest.mark.parametrize(
    "base", ["1234567890" * 4, "abcdef0123" * 6 + "abcd", "no-such-branch", "v9.9.9", "--output=x"]
)
def test_an_unknown_base_counts_everything_with_a_warning(repo: History, base: str) -> None:
    found = discover(repo.root, changed_since=base)
    assert paths(found) == ALL
    assert len(found.warnings) == 1
    assert f"`{base}`" in found.warnings[0]
    assert "fetch-depth: 0" in found.warnings[0]
    assert "not in the history" in found.note


def test_a_branch_base_compares_from_where_the_histories_meet(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    executor(repo / "a")
    executor(repo / "b")
    commit(repo, "base")
    git(repo, "switch", "-q", "-c", "feature")
    write(repo / "a" / "executor.py", "class MyExecutor:\n    feature = True\n")
    commit(repo, "feature changes a")
    git(repo, "switch", "-q", "main")
    write(repo / "b" / "executor.py", "class MyExecutor:\n    main = True\n")
    commit(repo, "main changes b")
    git(repo, "switch", "-q", "feature")

    # `main...HEAD`: only what the feature branch changed, not what main did meanwhile.
    assert paths(discover(repo, changed_since="main")) == ["a"]
    # A full sha compares the two trees directly (a push's `before`).
    main_sha = git(repo, "rev-parse", "main")
    assert paths(discover(repo, changed_since=main_sha)) == ["a", "b"]


def test_a_base_without_common_history_counts_everything(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    executor(repo / "a")
    commit(repo, "main")
    git(repo, "switch", "-q", "--orphan", "other")
    commit(repo, "unrelated")
    git(repo, "switch", "-q", "main")
    found = discover(repo, changed_since="other")
    assert paths(found) == ["a"]
    assert len(found.warnings) == 1
    assert "no history in common with HEAD" in found.warnings[0]
    assert "fetch-depth: 0" in found.warnings[0]


def test_a_shallow_clone_without_the_base(repo: History, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    source = repo.repo
    git(tmp_path, "clone", "-q", "--depth", "1", source.as_uri(), str(clone))
    found = discover(clone / "executors", changed_since=repo.base)
    assert paths(found) == ALL
    assert "not in the history" in found.warnings[0]


def test_a_shallow_clone_and_a_branch_base(tmp_path: Path) -> None:
    """Both branch tips fetched with depth 1: the walk stops at the shallow boundary."""
    source = tmp_path / "source"
    source.mkdir()
    git(source, "init", "-q")
    executor(source / "a")
    executor(source / "b")
    commit(source, "base")
    git(source, "switch", "-q", "-c", "feature")
    write(source / "a" / "executor.py", "class MyExecutor:\n    feature = True\n")
    commit(source, "feature")
    git(source, "switch", "-q", "main")
    write(source / "b" / "executor.py", "class MyExecutor:\n    main = True\n")
    commit(source, "main")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", "--no-single-branch", "-b", "feature",
        source.as_uri(), str(clone))  # fmt: skip
    assert (clone / ".git" / "shallow").is_file()
    found = discover(clone, changed_since="main")
    assert paths(found) == ["a", "b"]
    assert "no history in common with HEAD" in found.warnings[0]
    assert "fetch-depth: 0" in found.warnings[0]
    git(clone, "fetch", "-q", "--unshallow")
    assert paths(discover(clone, changed_since="main")) == ["a"]


def test_the_root_itself_can_be_the_executor(tmp_path: Path) -> None:
    folder = executor(tmp_path / "repo", name="Solo")
    git(folder, "init", "-q")
    base = commit(folder, "base")
    found = discover(folder)
    assert found.executors == (FoundExecutor(".", "Solo"),)
    assert found.matrix_json() == (
        '{"include":[{"path":".","name":"Solo","variant":"default","dockerfile":"",'
        '"tag-suffix":""}]}'
    )
    assert paths(discover(folder, changed_since=base)) == []
    write(folder / "README.md", "x\n")
    commit(folder, "readme")
    assert paths(discover(folder, changed_since=base)) == ["."]


def test_symlinks_out_of_the_root_are_ignored(tmp_path: Path) -> None:
    root = tmp_path / "root"
    outside = executor(tmp_path / "outside", "Outside")
    executor(root / "real", name="Real")
    (root / "linked-outside").symlink_to(outside, target_is_directory=True)
    (root / "linked-inside").symlink_to(root / "real", target_is_directory=True)
    (root / "config-link").mkdir()
    (root / "config-link" / "config.yml").symlink_to(outside / "config.yml")
    write(root / "config-inside" / "real.yml", "jtype: Inside\n")
    (root / "config-inside" / "config.yml").symlink_to(root / "config-inside" / "real.yml")
    found = discover(root)
    assert paths(found) == ["config-inside", "real"]
    assert found.warnings == (
        "`config-link/config.yml` is a symlink to outside the root: not an executor",
    )
    assert all(not p.startswith("..") and not p.startswith("/") for p in paths(found))


def test_broken_config_files_are_warnings(tmp_path: Path) -> None:
    executor(tmp_path / "good")
    write(tmp_path / "bad" / "config.yml", "jtype: [unclosed\n")
    (tmp_path / "binary").mkdir()
    (tmp_path / "binary" / "config.yml").write_bytes(b"\xff\xfe\x00jtype")
    found = discover(tmp_path)
    assert paths(found) == ["good"]
    assert len(found.warnings) == 2
    assert found.warnings[0].startswith("`bad/config.yml` is not valid YAML: ")
    assert found.warnings[0].endswith(" (line 2): not an executor")
    assert found.warnings[1].startswith("`binary/config.yml` cannot be read")


def test_duplicate_names_are_a_warning(tmp_path: Path) -> None:
    executor(tmp_path / "one", name="Same")
    executor(tmp_path / "two", name="Same")
    found = discover(tmp_path)
    assert paths(found) == ["one", "two"]
    assert found.warnings == (
        "the executors in `one`, `two` share the name `Same`: their pushes would update "
        "the same Hub executor",
    )


def test_root_must_be_a_folder_inside_the_workspace(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^Input `root`: .* is not a folder"):
        discover(tmp_path / "missing")
    (tmp_path / "inside").mkdir()
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(InputError, match=r"^Input `root`: .* is outside the workspace"):
        discover(tmp_path / "elsewhere", relative_to=tmp_path / "inside")
    (tmp_path / "inside" / "up").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(InputError, match=r"outside the workspace"):
        discover(tmp_path / "inside" / "up", relative_to=tmp_path / "inside")


def test_changed_since_needs_a_repository(tmp_path: Path) -> None:
    executor(tmp_path / "a")
    assert paths(discover(tmp_path)) == ["a"]  # no base: no git needed
    with pytest.raises(InputError, match=r"^Input `changed-since`: .* not in a git repository"):
        discover(tmp_path, changed_since="main")


def test_changed_since_needs_no_git_binary(repo: History, monkeypatch: pytest.MonkeyPatch) -> None:
    """The action's image has no git: discover reads the repository in-process."""

    def no_process(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"discover started a process: {args}")

    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(shutil, "which", lambda *args, **kwargs: None)
    monkeypatch.setattr(subprocess, "Popen", no_process)
    monkeypatch.setattr(os, "posix_spawn", no_process)
    monkeypatch.setattr(os, "fork", no_process)
    assert paths(discover(repo.root, changed_since=repo.base)) == ["a", "after", "group/c"]
    assert paths(discover(repo.root, changed_since="main")) == []  # main is HEAD


def test_a_base_given_by_ref_name(repo: History) -> None:
    git(repo.repo, "tag", "light", repo.base)
    git(repo.repo, "tag", "-a", "-m", "annotated", "v1.0.0", repo.base)
    git(repo.repo, "update-ref", "refs/remotes/origin/main", repo.base)
    git(repo.repo, "branch", "old-main", repo.base)
    changed = ["a", "after", "group/c"]
    for base in ("light", "v1.0.0", "refs/tags/v1.0.0", "origin/main", "old-main"):
        assert paths(discover(repo.root, changed_since=base)) == changed, base
    # `main` is both a local branch (HEAD) and origin's (base): origin's is the one compared.
    assert paths(discover(repo.root, changed_since="main")) == changed
    assert paths(discover(repo.root, changed_since="HEAD")) == []
    # A full sha in upper case is still a sha.
    assert paths(discover(repo.root, changed_since=repo.base.upper())) == changed


@pytest.mark.parametrize(
    "base", ["../../config", "/etc/hostname", "refs/../HEAD", "main..HEAD", "main^", "@{-1}"]
)
def test_a_base_that_is_no_ref_name_is_not_looked_up(repo: History, base: str) -> None:
    found = discover(repo.root, changed_since=base)
    assert paths(found) == ALL
    assert "not in the history" in found.warnings[0]


def test_a_subfolder_root_sees_only_changes_under_it(repo: History) -> None:
    group = repo.root / "group"
    found = discover(group, changed_since=repo.base, relative_to=repo.repo)
    assert paths(found) == ["executors/group/c"]
    # The root's folder did not exist in the base: everything in it is new.
    executor(repo.repo / "later" / "x")
    commit(repo.repo, "later")
    found = discover(repo.repo / "later", changed_since=repo.head, relative_to=repo.repo)
    assert paths(found) == ["later/x"]


def test_too_much_history_to_walk_counts_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    executor(repo / "a")
    executor(repo / "b")
    commit(repo, "base")
    git(repo, "switch", "-q", "-c", "feature")
    for n in range(4):
        write(repo / "a" / "executor.py", f"class MyExecutor:\n    n = {n}\n")
        commit(repo, f"feature {n}")
    assert paths(discover(repo, changed_since="main")) == ["a"]
    monkeypatch.setattr(git_changes, "MAX_COMMITS_WALKED", 3)
    found = discover(repo, changed_since="main")
    assert paths(found) == ["a", "b"]
    assert found.warnings == (
        "`changed-since` `main`: no common commit with HEAD within the 3 most recent commits; "
        "every executor counts as changed. Compare with a closer base (a full commit sha "
        "compares two trees directly)",
    )
    assert found.note == "all 2 executors: no common commit of `main` and HEAD within 3 commits"


def test_too_many_changed_paths_count_everything(
    repo: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(git_changes, "MAX_CHANGED_PATHS", 3)
    found = discover(repo.root, changed_since=repo.base)
    assert paths(found) == ALL
    assert found.warnings == (
        f"`changed-since` `{repo.base}`: more than 3 files changed; "
        "every executor counts as changed",
    )


def test_a_repository_dulwich_cannot_read_is_an_input_error(repo: History) -> None:
    git(repo.repo, "config", "extensions.noSuchExtension", "true")
    git(repo.repo, "config", "core.repositoryFormatVersion", "1")
    with pytest.raises(
        InputError, match=r"^Input `changed-since`: cannot read the git repository in "
    ):
        discover(repo.root, changed_since=repo.base)
    assert paths(discover(repo.root)) == ALL  # no base: the repository is not read


def test_a_broken_git_folder_is_an_input_error(tmp_path: Path) -> None:
    executor(tmp_path / "a")
    (tmp_path / ".git").write_text("gitdir: /no/such/folder\n")
    with pytest.raises(InputError, match=r"^Input `changed-since`: cannot read the git"):
        discover(tmp_path, changed_since="main")


def test_a_missing_object_counts_everything(repo: History) -> None:
    """A history with holes (a clone that lacks an object) is like a shallow one."""
    tree = git(repo.repo, "rev-parse", f"{repo.base}:executors/a")
    obj = repo.repo / ".git" / "objects" / tree[:2] / tree[2:]
    obj.unlink()
    found = discover(repo.root, changed_since=repo.base)
    assert paths(found) == ALL
    assert "part of the history is missing" in found.warnings[0]


def test_a_repository_without_commits(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    executor(tmp_path / "a")
    with pytest.raises(InputError, match=r"^Input `changed-since`: the repository has no commit"):
        discover(tmp_path, changed_since="main")
    with pytest.raises(InputError, match=r"^Input `changed-since`: the repository has no commit"):
        discover(tmp_path, changed_since=ZERO_SHA[:-1] + "1")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to chown")
def test_a_workspace_owned_by_another_user(repo: History) -> None:
    """In the action's container, root reads a checkout owned by the runner's user: the git
    CLI refuses it ("dubious ownership", unless `safe.directory` says otherwise); dulwich has
    no such check, so discover needs no configuration for it."""
    source = repo.repo
    for path in [source, *source.rglob("*")]:
        os.lchown(path, 65534, 65534)
    refused = subprocess.run(
        ["git", "-C", str(source), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert refused.returncode != 0 and "dubious ownership" in refused.stderr
    found = discover(repo.root, changed_since=repo.base)
    assert paths(found) == ["a", "after", "group/c"]
    assert found.warnings == ()


def test_discover_and_the_push_name_a_manifest_named_executor_alike(tmp_path: Path) -> None:
    """Only manifest.yml names it: the matrix row and the push both say `ManifestNamed`."""
    folder = executor(tmp_path / "executors" / "from-manifest")
    write(folder / "manifest.yml", "name: ManifestNamed\n")
    found = discover(tmp_path)
    assert found.executors == (FoundExecutor("executors/from-manifest", "ManifestNamed"),)
    assert load_executor(folder).name == "ManifestNamed"
    assert name_of(folder) == "ManifestNamed"


def test_a_folder_with_variant_dockerfiles_gives_a_row_per_variant(tmp_path: Path) -> None:
    both = executor(tmp_path / "encoder", name="Encoder")
    write(both / "Dockerfile", "FROM jinaai/jina:3\n")
    write(both / "Dockerfile.gpu", "FROM jinaai/jina:3-cuda\n")
    only = executor(tmp_path / "three-d", name="ThreeD")
    write(only / "gpu.Dockerfile", "FROM jinaai/jina:3-cuda\n")
    found = discover(tmp_path)
    assert found.matrix()["include"] == [
        {
            "path": "encoder",
            "name": "Encoder",
            "variant": "default",
            "dockerfile": "",
            "tag-suffix": "",
        },
        {
            "path": "encoder",
            "name": "Encoder",
            "variant": "gpu",
            "dockerfile": "Dockerfile.gpu",
            "tag-suffix": "-gpu",
        },
        {
            "path": "three-d",
            "name": "ThreeD",
            "variant": "gpu",
            "dockerfile": "gpu.Dockerfile",
            "tag-suffix": "-gpu",
        },
    ]
    assert found.warnings == ()  # one folder's variants share a name on purpose


def test_an_abbreviated_sha_is_said_to_be_one(repo: History) -> None:
    found = discover(repo.root, changed_since=repo.base[:12])
    assert paths(found) == ALL
    (warning,) = found.warnings
    assert "looks like an abbreviated commit SHA" in warning and "full 40-character" in warning
