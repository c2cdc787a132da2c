"""The Hub's build check, step by step in the Hub's order; the first failure is the verdict."""

from __future__ import annotations

import ast
import difflib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from executor_rules import _dockerfile, _python, _requirements, _yaml
from executor_rules._facts import CONFIG, MANIFEST
from executor_rules._folder import Folder, normalized, shown
from executor_rules._python import Collected, Origin, Source
from executor_rules._verdict import (
    BROKEN_DEPENDENCY,
    EXECUTOR_EXISTS,
    EXECUTOR_NOT_FOUND,
    ILLEGAL_EXECUTOR,
    OTHER,
    Accepted,
    Refusal,
    Rejected,
    Verdict,
    refuse,
)

DOCKERFILE = "Dockerfile"
#: Without config.yml the Hub reads these (top-level ``*.py`` and ``executor/*.py``).
GLOB_DIRS: tuple[tuple[str, ...], ...] = ((), ("executor",))


def judge(
    folder: Path | str, *, dockerfile: str | None = None, build_env: Collection[str] = ()
) -> Verdict:
    """Check an executor folder as Jina Hub's build check does, without importing its code.

    :param folder: the executor folder (what the push uploads).
    :param dockerfile: the Dockerfile the push names, relative to the folder; None: the
        folder's ``Dockerfile`` if there is one, else the Hub generates one.
    :param build_env: the names of the build-env variables the push supplies.
    :return: :class:`Accepted` with what the Hub found, or :class:`Rejected` with its code.
    """
    root = Path(folder)
    if not root.is_dir():
        return Rejected(
            code=OTHER,
            message=f"The executor folder {root} does not exist or is not a folder.",
            hub_message=f'The folder "{root}" does not exist, can not normalize',
        )
    try:
        return _Check(Folder(root), dockerfile, build_env).run()
    except Refusal as refusal:
        return refusal.rejected
    except (RecursionError, MemoryError) as exc:
        return Rejected(
            code=OTHER,
            message=f"The folder is too deeply nested or too large to check ({exc!r}).",
        )


@dataclass(frozen=True)
class _Found:
    source: Source
    node: ast.ClassDef


class _Check:
    def __init__(self, folder: Folder, dockerfile: str | None, build_env: Collection[str]):
        self.folder = folder
        self.dockerfile = dockerfile
        self.build_env = build_env
        self.config: _yaml.YamlFile | None = None

    # --- the steps -----------------------------------------------------------------------------

    def run(self) -> Accepted:
        extra = _requirements.appended(self.folder)
        self._manifest()
        class_name: Any = None
        if self.folder.kind((CONFIG,)) is not None:
            self.config = _yaml.load(self.folder, CONFIG)
            class_name, entries = self._config(self.config)
            collected = _python.collect(self.folder, entries, class_name)
        else:
            collected = _python.collect(self.folder, self._glob(), None)
        found = self._inspect(collected, class_name)
        if self.config is None:
            loop = _python.import_cycle(self.folder, collected.sources)
            if loop:
                raise refuse(
                    BROKEN_DEPENDENCY,
                    "Without config.yml the Hub orders the modules by their imports, and these "
                    f"import each other in a cycle ({' -> '.join(loop)}): add a config.yml with "
                    "`jtype` and `py_modules`, or break the cycle.",
                    file=loop[0],
                )
        requirements = _requirements.read(self.folder, extra)
        used_dockerfile = self._dockerfile()
        if requirements is not None:
            _requirements.missing_build_env(requirements, self.build_env)
        return Accepted(
            executor=found.node.name,
            module=found.source.rel,
            line=found.node.lineno,
            dockerfile=used_dockerfile,
            requirements=requirements.texts if requirements else (),
            placeholders=tuple(n for n, _ in requirements.placeholders()) if requirements else (),
        )

    def _manifest(self) -> None:
        if self.folder.kind((MANIFEST,)) is None:
            return
        manifest = _yaml.load(self.folder, MANIFEST)
        if not isinstance(manifest.data, dict):
            empty = manifest.data is None
            raise refuse(
                OTHER,
                (
                    f"{MANIFEST} is empty, and the Hub's check fails on an empty manifest.yml "
                    "(a quirk of the Hub's check): delete it or give it a `name:`."
                    if empty
                    else f"{MANIFEST} must be a mapping (name, description, url, keywords)."
                ),
                file=MANIFEST,
                quirk=empty,
                hub_message=f"'{type(manifest.data).__name__}' object has no attribute 'items'",
            )

    def _config(self, config: _yaml.YamlFile) -> tuple[Any, list[tuple[PurePosixPath, Origin]]]:
        data = config.data
        if not isinstance(data, dict):
            raise refuse(
                OTHER,
                f"{CONFIG} is empty."
                if data is None
                else f"{CONFIG} must be a mapping with `jtype: <YourExecutorClass>`.",
                file=CONFIG,
                hub_message=_subscript_error(data),
            )
        if "jtype" not in data:
            raise refuse(
                OTHER,
                f"{CONFIG} has no `jtype`: set it to the name of your Executor class.",
                file=CONFIG,
                line=1,
                hub_message="'jtype'",
            )
        class_name = data["jtype"]
        if class_name is None:
            raise refuse(
                OTHER,
                f"{CONFIG}: `jtype` is empty: set it to the name of your Executor class.",
                file=CONFIG,
                line=config.line_of("jtype"),
                hub_message="Not found jtype in config.yml",
            )
        metas = data.get("metas", {})
        if not isinstance(metas, dict):
            empty = metas is None
            raise refuse(
                OTHER,
                (
                    f"{CONFIG}: `metas:` is empty, and the Hub's check fails on that (a quirk of "
                    "the Hub's check): delete the `metas:` line or give it content."
                    if empty
                    else f"{CONFIG}: `metas` must be a mapping."
                ),
                file=CONFIG,
                line=config.line_of("metas"),
                quirk=empty,
                hub_message=f"'{type(metas).__name__}' object has no attribute 'get'",
            )
        in_metas = metas.get("py_modules")
        at_root = data.get("py_modules")
        if in_metas and at_root:
            raise refuse(
                OTHER,
                f"{CONFIG} sets `py_modules` both at the top level (line "
                f"{config.line_of('py_modules')}) and under `metas:`; the Hub accepts only one: "
                "keep one of them.",
                file=CONFIG,
                line=config.line_of("py_modules"),
                hub_message=(
                    "The parameter py_modules can only be appear in one of metas and root in "
                    "config.yml"
                ),
            )
        key = ("metas", "py_modules") if in_metas else ("py_modules",)
        declared = in_metas or at_root
        if isinstance(declared, str):
            names: list[Any] = [declared]
        elif isinstance(declared, list):
            names = declared
        else:
            names = []
        lines = config.value_lines(*key)
        entries: list[tuple[PurePosixPath, Origin]] = []
        for index, name in enumerate(names):
            line = lines[index] if index < len(lines) else None
            if not isinstance(name, str):
                raise refuse(
                    OTHER,
                    f"{CONFIG}: each `py_modules` entry must be a file name, not "
                    f"{type(name).__name__} `{name}`.",
                    file=CONFIG,
                    line=line,
                    hub_message=(
                        "expected str, bytes or os.PathLike object, not " + type(name).__name__
                    ),
                )
            entries.append((self._entry(name, line), Origin(entry=name, line=line)))
        return class_name, entries

    def _entry(self, name: str, line: int | None) -> PurePosixPath:
        path = PurePosixPath(name)
        parts = normalized(path)
        if parts is None or not parts:
            where = "is outside the executor folder" if parts is None else "is the folder itself"
            raise refuse(
                OTHER,
                f"{CONFIG} lists `{name}` in py_modules, which {where}; list the Python "
                "files inside the folder, relative to it.",
                file=CONFIG,
                line=line,
                hub_message=(
                    f"[Errno 2] No such file or directory: '{name}'"
                    if parts is None
                    else "[Errno 21] Is a directory"
                ),
            )
        return path

    def _glob(self) -> list[tuple[PurePosixPath, Origin]]:
        entries: list[tuple[PurePosixPath, Origin]] = []
        for base in GLOB_DIRS:
            real = self.folder.locate(base)
            if real is None or not real.is_dir():
                continue
            for name in sorted(p.name for p in real.iterdir() if p.name.endswith(".py")):
                entries.append((PurePosixPath(*base, name), Origin()))
        return entries

    def _inspect(self, collected: Collected, class_name: Any) -> _Found:
        found: list[_Found] = []
        for source in collected.sources:
            for node in _python.classes(source.tree):
                if class_name:
                    if node.name != class_name:
                        continue
                elif "Executor" not in _python.base_names(node):
                    continue
                found.append(_Found(source, node))
        if not found:
            raise self._not_found(collected, class_name)
        if len(found) > 1:
            raise self._several(found, class_name)
        only = found[0]
        init = _python.init_of(only.node)
        if not _python.init_is_legal(init):
            raise self._illegal(only, init)
        bare = _python.bare_keyword_only(only.node)
        if bare:
            first = bare[0]
            errors = "\n".join(
                f"{b.location} -> default\n  none is not an allowed value "
                "(type=type_error.none.not_allowed)"
                for b in bare
            )
            plural = "s" if len(bare) > 1 else ""
            raise refuse(
                OTHER,
                f"{only.source.rel} line {first.function.lineno}: the keyword-only parameter "
                f"`{first.parameter}` of `{only.node.name}.{first.function.name}` has no default, "
                "and the Hub's check fails on that (a quirk of the Hub's check): give it a "
                f"default (`{first.parameter}=None`) or move it before the `*`.",
                file=only.source.rel,
                line=first.function.lineno,
                quirk=True,
                hub_message=f"{len(bare)} validation error{plural} for ExecutorModel\n{errors}",
            )
        return only

    def _dockerfile(self) -> str | None:
        parts: tuple[str, ...] | None = (DOCKERFILE,)
        if self.dockerfile is not None:
            parts = normalized(PurePosixPath(self.dockerfile))
        if parts is None:
            raise refuse(
                OTHER,
                f"The Dockerfile `{self.dockerfile}` named by the push is outside the "
                "executor folder; name a Dockerfile inside it.",
                hub_message="",
            )
        kind = self.folder.kind(parts)
        where = shown(parts)
        if kind is None:
            if self.dockerfile is None:
                return None
            if parts[:-1] and self.folder.kind(parts[:-1]) != "dir":
                raise refuse(
                    OTHER,
                    f"The Dockerfile `{self.dockerfile}` named by the push does not exist, nor "
                    "its folder: name an existing Dockerfile, or none to let the Hub generate "
                    "one.",
                    file=where,
                    hub_message=f"[Errno 2] No such file or directory: '{where}'",
                )
            return None
        _dockerfile.check(self.folder, parts, where)
        return where

    # --- messages ------------------------------------------------------------------------------

    def _listed(self, collected: Collected) -> str:
        names = [s.rel for s in collected.sources]
        return ", ".join(names) if names else "no files"

    def _folder_classes(self) -> dict[str, list[tuple[str, int]]]:
        """Every class in the folder's Python files (for hints; unreadable files skipped)."""
        found: dict[str, list[tuple[str, int]]] = {}
        for parts in self.folder.python_files():
            try:
                source = _python.parse(self.folder, PurePosixPath(*parts), parts)
            except Refusal:
                continue
            for node in _python.classes(source.tree):
                found.setdefault(node.name, []).append((source.rel, node.lineno))
        return found

    def _not_found(self, collected: Collected, class_name: Any) -> Exception:
        config = self.config
        listed = self._listed(collected)
        if config is None or not class_name:
            return self._no_executor_class(collected, class_name)
        jtype_line = config.line_of("jtype")
        if not isinstance(class_name, str):
            return refuse(
                EXECUTOR_NOT_FOUND,
                f"{CONFIG}: `jtype` must be the Executor class name (a string), not "
                f"{type(class_name).__name__}.",
                file=CONFIG,
                line=jtype_line,
            )
        if not collected.sources:
            return self._no_modules(config, class_name)
        for miss in collected.misses:
            rejected = self._quirky_miss(miss, class_name)
            if rejected is not None:
                return rejected
        for miss in collected.misses:
            if not miss.star and miss.why is None:
                statement = _python.statement(miss.node, class_name)
                return refuse(
                    EXECUTOR_NOT_FOUND,
                    f"{miss.source.rel} line {miss.node.lineno}: `{statement}` names a module "
                    "that is not in the folder (names are case-sensitive), so the Hub does not "
                    f"find `{class_name}`: fix the module name.",
                    file=miss.source.rel,
                    line=miss.node.lineno,
                )
        everywhere = self._folder_classes()
        read = {source.rel for source in collected.sources}
        elsewhere = [w for w in everywhere.get(class_name, []) if w[0] not in read]
        if elsewhere:
            where, line = elsewhere[0]
            return refuse(
                EXECUTOR_NOT_FOUND,
                f"`{class_name}` (jtype in {CONFIG}) is defined in {where} line {line}, which "
                f"py_modules does not list (it lists {listed}): add {where} to py_modules.",
                file=CONFIG,
                line=config.line_of("metas", "py_modules") or config.line_of("py_modules"),
            )
        listed_classes = sorted(
            {node.name for source in collected.sources for node in _python.classes(source.tree)}
        )
        candidates = listed_classes or sorted(everywhere)
        close = [c for c in candidates if c.lower() == class_name.lower()]
        close = close or difflib.get_close_matches(class_name, candidates, n=1, cutoff=0.6)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        return refuse(
            EXECUTOR_NOT_FOUND,
            f"{CONFIG}: `jtype: {class_name}` matches no class in the modules the Hub reads "
            f"({listed}).{hint} jtype must be the exact name of your Executor class.",
            file=CONFIG,
            line=jtype_line,
        )

    def _no_modules(self, config: _yaml.YamlFile, class_name: str) -> Exception:
        data = config.data
        declared = (data.get("metas") or {}).get("py_modules") or data.get("py_modules")
        if declared and not isinstance(declared, str | list):
            return refuse(
                EXECUTOR_NOT_FOUND,
                f"{CONFIG}: `py_modules` must be a file name or a list of file names, not "
                f"{type(declared).__name__}; the Hub reads no module and finds no Executor.",
                file=CONFIG,
                line=config.line_of("metas", "py_modules") or config.line_of("py_modules"),
            )
        nested = [
            (path, line)
            for path, line in config.nested_keys("py_modules")
            if path not in ("metas",)
        ]
        if nested:
            path, line = nested[0]
            return refuse(
                EXECUTOR_NOT_FOUND,
                f"{CONFIG} line {line}: `py_modules` sits under `{path}:`, where the Hub does not "
                "look for it: move it to the top level or under `metas:`.",
                file=CONFIG,
                line=line,
            )
        where = self._folder_classes().get(class_name, [])
        suggestion = where[0][0] if where else "executor.py"
        return refuse(
            EXECUTOR_NOT_FOUND,
            f"{CONFIG} lists no `py_modules`, and the Hub looks for `{class_name}` only in the "
            f"files listed there: add `py_modules: [{suggestion}]` under `metas:` or at the top "
            "level.",
            file=CONFIG,
        )

    def _quirky_miss(self, miss: _python.Miss, class_name: str) -> Exception | None:
        if miss.real is None or miss.why is None or not self._provides(miss.real, class_name):
            return None
        source, node = miss.source, miss.node
        at = f"{source.rel} line {node.lineno}"
        module = "." * node.level + (node.module or "")
        if miss.star:
            text = (
                f"{at}: `from {module} import *` does not bring `{class_name}` into the Hub's "
                "check, which follows only imports that name the class (a quirk of the Hub's "
                f"check): write `from {module} import {class_name}`."
            )
        elif miss.why == "line":
            text = (
                f"{at}: the Hub's check takes the module of `{_python.statement(node)}` from the "
                "second space-separated word of that line, so it does not follow it to "
                f"`{class_name}` (a quirk of the Hub's check): write it unindented on a line "
                f"of its own, as `{_python.statement(node, class_name)}`."
            )
        elif miss.why == "dot" or not _dotted(source.parts, miss.real):
            text = (
                f"{at}: the Hub's check does not follow `{_python.statement(node, class_name)}` "
                f"(a quirk of the Hub's check): list {shown(miss.real)}, which defines "
                f"`{class_name}`, in py_modules instead."
            )
        else:
            text = (
                f"{at}: the Hub's check resolves `{_python.statement(node, class_name)}` from "
                f"the folder of {source.rel}, not from the executor folder's top, so it does not "
                f"find {shown(miss.real)} (a quirk of the Hub's check): use a relative import, "
                f"`from .{_dotted(source.parts, miss.real)} import {class_name}`."
            )
        return refuse(EXECUTOR_NOT_FOUND, text, file=source.rel, line=node.lineno, quirk=True)

    def _provides(self, parts: tuple[str, ...], class_name: str) -> bool:
        try:
            source = _python.parse(self.folder, PurePosixPath(*parts), parts)
        except Refusal:
            return False
        for node in ast.walk(source.tree):
            if isinstance(node, ast.ClassDef) and node.name == class_name:
                return True
            if isinstance(node, ast.ImportFrom) and any(a.name == class_name for a in node.names):
                return True
        return False

    def _no_executor_class(self, collected: Collected, class_name: Any) -> Exception:
        listed = self._listed(collected)
        others = [
            f"{node.name} ({source.rel} line {node.lineno})"
            for source in collected.sources
            for node in _python.classes(source.tree)
            if node.bases
        ]
        note = (
            f"; {', '.join(others[:3])} derives from another base, and only a base written "
            "`Executor` or `<module>.Executor` counts"
            if others
            else ""
        )
        if self.config is None:
            return refuse(
                EXECUTOR_NOT_FOUND,
                "There is no config.yml, and none of the top-level *.py files and "
                f"executor/*.py ({listed}) has a class deriving from `Executor`{note}: add a "
                "config.yml with `jtype: <YourExecutorClass>` and `py_modules`.",
            )
        return refuse(
            EXECUTOR_NOT_FOUND,
            f"{CONFIG}: `jtype` is empty ({class_name!r}), so the Hub looks for a class deriving "
            f"from `Executor` in {listed} and finds none{note}: set `jtype` to your class name.",
            file=CONFIG,
            line=self.config.line_of("jtype"),
        )

    def _several(self, found: list[_Found], class_name: Any) -> Exception:
        places = ", ".join(
            f"{f.node.name} ({f.source.rel} line {f.node.lineno})" for f in found[:4]
        )
        second = found[1]
        same_file = len({(f.source.parts, f.node.lineno) for f in found}) == 1
        if same_file:
            idents = " and ".join(f"`{f.source.ident}`" for f in found[:2])
            return refuse(
                EXECUTOR_EXISTS,
                f"The Hub's check reads {second.source.rel} twice, as {idents}, and counts "
                f"`{second.node.name}` twice (a quirk of the Hub's check): import the class "
                "without `..` in the path, or list the module only once.",
                file=second.source.rel,
                line=second.node.lineno,
                quirk=True,
            )
        if class_name:
            lines = ", ".join(f"{f.source.rel} line {f.node.lineno}" for f in found[:4])
            return refuse(
                EXECUTOR_EXISTS,
                f"`{class_name}` is defined {len(found)} times in the modules the Hub reads "
                f"({lines}); the Hub needs exactly one: remove or rename the extra definition.",
                file=second.source.rel,
                line=second.node.lineno,
            )
        where = "without config.yml" if self.config is None else "with an empty `jtype`"
        return refuse(
            EXECUTOR_EXISTS,
            f"Several classes derive from `Executor`: {places}; {where} the Hub needs exactly "
            "one: name your Executor in config.yml (`jtype`, with `py_modules`).",
            file=second.source.rel,
            line=second.node.lineno,
        )

    def _illegal(self, found: _Found, init: ast.FunctionDef | None) -> Exception:
        assert init is not None
        at = f"{found.source.rel} line {init.lineno}"
        positional_only = init.args.posonlyargs
        if positional_only and len(positional_only) + len(init.args.args) > len(init.args.defaults):
            return refuse(
                ILLEGAL_EXECUTOR,
                f"{at}: `{found.node.name}.__init__` takes `{positional_only[0].arg}` as "
                "positional-only (before `/`), which the Hub's check does not count as `self` "
                "(a quirk of the Hub's check): remove the `/`.",
                file=found.source.rel,
                line=init.lineno,
                quirk=True,
            )
        return refuse(
            ILLEGAL_EXECUTOR,
            f"{at}: `{found.node.name}.__init__` must take `self` first, as a plain parameter "
            "without a default, e.g. `def __init__(self, **kwargs)`.",
            file=found.source.rel,
            line=init.lineno,
        )


def _dotted(source: tuple[str, ...], target: tuple[str, ...]) -> str:
    """``target`` as a module path relative to ``source``'s folder (best effort)."""
    here = source[:-1]
    rest = list(target[len(here) :] if target[: len(here)] == here else target)
    if rest and rest[-1] == "__init__.py":
        rest.pop()
    elif rest:
        rest[-1] = rest[-1].removesuffix(".py")
    return ".".join(rest)


def _subscript_error(data: object) -> str:
    if isinstance(data, list):
        return "list indices must be integers or slices, not str"
    if isinstance(data, str):
        return "string indices must be integers"
    return f"'{type(data).__name__}' object is not subscriptable"
