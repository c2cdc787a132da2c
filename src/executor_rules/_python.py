"""Python modules of the folder, read with :mod:`ast` the way the Hub's check reads them.

Nothing here imports or runs the checked code.
"""

from __future__ import annotations

import ast
import sys
from collections import deque
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from executor_rules._folder import Folder, decode_text, normalized, shown, split_lines
from executor_rules._verdict import OTHER, refuse

#: The Hub runs its check on Python 3.9 and parses modules with that grammar.
HUB_PYTHON = (3, 9)
#: Statements newer than Python 3.9 (the Hub's parser fails on them).
_NEWER_NODES = ("Match", "TryStar", "TypeAlias")


@dataclass(frozen=True)
class Source:
    """A parsed module. ``ident`` is the path as the Hub spells it (it may hold ``..``)."""

    ident: PurePosixPath
    parts: tuple[str, ...]
    tree: ast.Module
    lines: list[str]

    @property
    def rel(self) -> str:
        return shown(self.parts)


@dataclass(frozen=True)
class Origin:
    """Why a module is read: a ``py_modules`` entry of ``config.yml``, or the folder's glob."""

    entry: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class Miss:
    """A ``from ... import Class`` that the Hub's check does not follow."""

    source: Source
    node: ast.ImportFrom
    star: bool
    #: The module the import really names, if it is a file in the folder.
    real: tuple[str, ...] | None
    #: Why the Hub's reading differs (None: the module really is missing).
    why: str | None


@dataclass
class Collected:
    """The modules the Hub's check reads, in its order, and the re-exports it missed."""

    sources: list[Source] = field(default_factory=list)
    misses: list[Miss] = field(default_factory=list)


def parse(folder: Folder, ident: PurePosixPath, parts: tuple[str, ...]) -> Source:
    """Read and parse one module (a refusal naming the file if the Hub's check can't)."""
    where = shown(parts)
    text = decode_text(folder.read(parts), where)
    if text.startswith("\ufeff"):
        raise refuse(
            OTHER,
            f"{where} starts with a UTF-8 byte-order mark, which the Hub's check reads as an "
            "invalid character (a quirk of the Hub's check): save the file as UTF-8 without BOM.",
            file=where,
            line=1,
            quirk=True,
            hub_message=f"invalid non-printable character U+FEFF ({where}, line 1)",
        )
    try:
        tree = ast.parse(text, filename=where, feature_version=HUB_PYTHON)
    except SyntaxError as exc:
        raise _syntax_refusal(text, where, exc) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise refuse(
            OTHER,
            f"{where} can't be parsed ({str(exc) or type(exc).__name__}); simplify the "
            "deeply nested code.",
            file=where,
            hub_message=str(exc),
        ) from None
    return Source(ident=ident, parts=parts, tree=tree, lines=split_lines(text))


def _syntax_refusal(text: str, where: str, exc: SyntaxError) -> Exception:
    line = exc.lineno
    try:
        tree = ast.parse(text, filename=where)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        newer = False
    else:
        newer = True
        kinds = tuple(getattr(ast, name) for name in _NEWER_NODES if hasattr(ast, name))
        first = min((n.lineno for n in ast.walk(tree) if isinstance(n, kinds)), default=None)
        line = first or line
    at = f" line {line}" if line else ""
    if newer:
        return refuse(
            OTHER,
            f"{where}{at} uses syntax newer than Python 3.9 ({exc.msg}); the Hub parses "
            "executor modules as Python 3.9 and fails (a quirk of the Hub's check): write it "
            "in Python 3.9 syntax.",
            file=where,
            line=line,
            quirk=True,
            hub_message=f"invalid syntax ({where}, line {line})",
        )
    return refuse(
        OTHER,
        f"{where}{at} has a syntax error: {exc.msg}.",
        file=where,
        line=line,
        hub_message=str(exc),
    )


def classes(tree: ast.Module) -> list[ast.ClassDef]:
    """Every class statement, at any depth, in :func:`ast.walk` order."""
    return [node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]


def base_names(node: ast.ClassDef) -> list[str]:
    """The base classes as the Hub sees them: ``Name`` ids and ``Attribute`` attrs only."""
    names: list[str] = []
    for base in node.bases:
        if isinstance(base, ast.Name):
            names.append(base.id)
        elif isinstance(base, ast.Attribute):
            names.append(base.attr)
    return names


# --- re-exports -------------------------------------------------------------------------------


def _hub_module_word(source: Source, node: ast.ImportFrom) -> str:
    """The module name as the Hub reads it: the 2nd word of the line, split on single spaces."""
    line = source.lines[node.lineno - 1] if node.lineno <= len(source.lines) else ""
    words = line.split(" ")
    text = statement(node)
    if len(words) < 2:
        hub_error = "list index out of range"
    elif words[1] == "":
        hub_error = "local variable 'i' referenced before assignment"
    else:
        return words[1]
    raise refuse(
        OTHER,
        f"{source.rel} line {node.lineno}: the Hub's check reads `{text}` by splitting the "
        "line on single spaces and crashes on this form (a quirk of the Hub's check): write it "
        f"unindented, on a line of its own, with single spaces: `{text}`.",
        file=source.rel,
        line=node.lineno,
        quirk=True,
        hub_message=hub_error,
    )


def statement(node: ast.ImportFrom, name: str | None = None) -> str:
    module = "." * node.level + (node.module or "")
    names = name or ", ".join(alias.name for alias in node.names)
    return f"from {module} import {names}"


def _hub_path(word: str) -> str:
    """The path the Hub's check derives from a module word (``.a.b`` -> ``./a/b``)."""
    dots = len(word) - len(word.lstrip("."))
    if dots == len(word):
        dots = len(word) - 1
    if dots > 0:
        return word[:dots] + "/" + word[dots:].replace(".", "/")
    return word.replace(".", "/")


def _exists(folder: Folder, ident: PurePosixPath) -> bool:
    parts = normalized(ident)
    return parts is not None and folder.kind(parts) is not None


def _hub_target(folder: Folder, source: Source, word: str) -> PurePosixPath | None:
    path = _hub_path(word)
    if path.startswith("/"):
        return None
    base = source.ident.parent
    for candidate in (base / (path + ".py"), base / (path + "/__init__.py")):
        if _exists(folder, candidate):
            return candidate
    return None


def _module_file(
    folder: Folder, base: tuple[str, ...], module: str | None
) -> tuple[str, ...] | None:
    names = tuple(module.split(".")) if module else ()
    candidates = [(*base, *names, "__init__.py")]
    if names:
        candidates.insert(0, (*base, *names[:-1], names[-1] + ".py"))
    for parts in candidates:
        if folder.kind(parts) == "file":
            return parts
    return None


def _real_target(folder: Folder, source: Source, node: ast.ImportFrom) -> tuple[str, ...] | None:
    """The file the import names for Python (relative, or absolute from the folder's top)."""
    here = source.parts[:-1]
    if node.level > 0:
        up = node.level - 1
        if up > len(here):
            return None
        return _module_file(folder, here[: len(here) - up], node.module)
    for base in ((), here):
        found = _module_file(folder, base, node.module)
        if found is not None:
            return found
    return None


def _reexports(
    folder: Folder, source: Source, class_name: str, misses: list[Miss]
) -> list[PurePosixPath]:
    """The modules the Hub's check adds for ``from X import <class_name>`` in ``source``."""
    targets: list[PurePosixPath] = []
    for node in ast.walk(source.tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        for alias in node.names:
            if alias.name == "*":
                misses.append(Miss(source, node, True, _real_target(folder, source, node), "*"))
                continue
            if alias.name != class_name:
                continue
            word = _hub_module_word(source, node)
            target = _hub_target(folder, source, word)
            if target is not None:
                targets.append(target)
                break
            real = _real_target(folder, source, node)
            expected = "." * node.level + (node.module or "")
            if real is None:
                why = None
            elif node.module is None:
                why = "dot"
            elif word != expected:
                why = "line"
            else:
                why = "absolute"
            misses.append(Miss(source, node, False, real, why))
    return targets


def collect(
    folder: Folder,
    entries: list[tuple[PurePosixPath, Origin]],
    class_name: object,
) -> Collected:
    """Read the listed modules and follow re-exports of ``class_name`` as the Hub does.

    The Hub appends each re-exported module to the list it is walking, so a loop of
    re-exports never ends there; here it is a refusal.
    """
    result = Collected()
    seen: dict[PurePosixPath, Source] = {}
    edges: dict[PurePosixPath, list[PurePosixPath]] = {}
    queue: deque[tuple[PurePosixPath, Origin]] = deque(entries)
    while queue:
        ident, origin = queue.popleft()
        if ident in seen:
            continue
        parts = normalized(ident)
        if parts is None:
            raise refuse(
                OTHER,
                f"config.yml lists `{origin.entry}` in py_modules, a path outside the executor "
                "folder; list files inside the folder.",
                file="config.yml",
                line=origin.line,
                hub_message=f"[Errno 2] No such file or directory: '{origin.entry}'",
            )
        if origin.entry is not None:
            kind = folder.kind(parts)
            if kind is None:
                raise _missing_entry(folder, origin, parts)
            if kind == "dir":
                raise refuse(
                    OTHER,
                    f"config.yml lists `{origin.entry}` in py_modules, which is a folder; list "
                    "Python files (for a package, its `__init__.py`).",
                    file="config.yml",
                    line=origin.line,
                    hub_message=f"[Errno 21] Is a directory: '{origin.entry}'",
                )
        source = parse(folder, ident, parts)
        seen[ident] = source
        result.sources.append(source)
        if isinstance(class_name, str):
            edges[ident] = _reexports(folder, source, class_name, result.misses)
            queue.extend((target, Origin()) for target in edges[ident])
    loop = _find_loop(edges)
    if loop:
        chain = " -> ".join(shown(normalized(p) or ()) for p in loop)
        raise refuse(
            OTHER,
            f"The re-exports of `{class_name}` form a loop ({chain}); the Hub's check follows "
            "them forever and never answers (a quirk of the Hub's check): import the class only "
            "from the module that defines it.",
            file=shown(normalized(loop[0]) or ()),
            quirk=True,
            hub_message="",
        )
    return result


def _missing_entry(folder: Folder, origin: Origin, parts: tuple[str, ...]) -> Exception:
    entry = origin.entry
    hint = ""
    parent = folder.locate(parts[:-1]) if parts else None
    if parent is not None and parts:
        try:
            names = sorted(p.name for p in parent.iterdir())
        except OSError:
            names = []
        same = [n for n in names if n.lower() == parts[-1].lower()]
        with_py = [n for n in names if n == parts[-1] + ".py"]
        if same:
            hint = f" (there is `{shown((*parts[:-1], same[0]))}`: names are case-sensitive)"
        elif with_py:
            hint = f" (did you mean `{shown((*parts[:-1], with_py[0]))}`?)"
    return refuse(
        OTHER,
        f"config.yml lists `{entry}` in py_modules, but the folder has no such file{hint}.",
        file="config.yml",
        line=origin.line,
        hub_message=f"[Errno 2] No such file or directory: '{entry}'",
    )


def _find_loop(edges: dict[PurePosixPath, list[PurePosixPath]]) -> list[PurePosixPath]:
    """A cycle in the graph (as a path that ends where it starts), or an empty list."""
    state: dict[PurePosixPath, int] = {}
    for start in edges:
        if state.get(start):
            continue
        stack: list[tuple[PurePosixPath, int]] = [(start, 0)]
        path: list[PurePosixPath] = []
        while stack:
            node, index = stack.pop()
            if index == 0:
                state[node] = 1
                path.append(node)
            targets = edges.get(node, [])
            if index < len(targets):
                stack.append((node, index + 1))
                nxt = targets[index]
                if state.get(nxt) == 1:
                    return [*path[path.index(nxt) :], nxt]
                if not state.get(nxt):
                    stack.append((nxt, 0))
            else:
                state[node] = 2
                path.pop()
    return []


# --- the Executor class ------------------------------------------------------------------------


def init_of(node: ast.ClassDef) -> ast.FunctionDef | None:
    """The ``__init__`` the Hub inspects: the last plain ``def __init__`` in the class body."""
    found: ast.FunctionDef | None = None
    for item in node.body:
        if isinstance(item, ast.FunctionDef) and item.name == "__init__":
            found = item
    return found


def init_is_legal(init: ast.FunctionDef | None) -> bool:
    """The Hub's rule: at least one positional parameter without a default (``self``).

    Positional-only parameters (before ``/``) are not counted by the Hub.
    """
    if init is None:
        return True
    return len(init.args.args) - len(init.args.defaults) >= 1


def _is_endpoint(function: ast.FunctionDef) -> bool:
    """Decorated with ``@requests``/``@jina.requests``, or a call of either with ``on=``."""
    for decorator in function.decorator_list:
        if isinstance(decorator, ast.Call):
            if _names_requests(decorator.func) and any(k.arg == "on" for k in decorator.keywords):
                return True
        elif _names_requests(decorator):
            return True
    return False


def _names_requests(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return node.id == "requests"
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "requests"
        and isinstance(node.value, ast.Name)
        and node.value.id == "jina"
    )


@dataclass(frozen=True)
class BareKeywordOnly:
    """A keyword-only parameter without a default, which the Hub's report model refuses."""

    function: ast.FunctionDef
    parameter: str
    location: str


def bare_keyword_only(node: ast.ClassDef) -> list[BareKeywordOnly]:
    """Keyword-only parameters without default in ``__init__`` and in the endpoints."""
    found: list[BareKeywordOnly] = []
    init = init_of(node)
    functions: list[tuple[ast.FunctionDef, str]] = []
    if init is not None:
        functions.append((init, "init"))
    endpoints = [
        item
        for item in node.body
        if isinstance(item, ast.FunctionDef) and item.name != "__init__" and _is_endpoint(item)
    ]
    functions.extend((item, f"endpoints -> {i}") for i, item in enumerate(endpoints))
    for function, where in functions:
        args = function.args
        defaults: list[ast.expr | None] = [*args.defaults, *args.kw_defaults]
        names = [a.arg for a in (*args.args, *args.kwonlyargs)][
            len(args.args) - len(args.defaults) :
        ]
        for index, (name, default) in enumerate(zip(names, defaults, strict=False)):
            if default is None:
                found.append(BareKeywordOnly(function, name, f"{where} -> kwargs -> {index}"))
    return found


# --- without config.yml: the import order ------------------------------------------------------


def _imported_names(tree: ast.Module) -> list[str]:
    """Imported module names, spelled as the Hub's import finder spells them."""
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            for alias in node.names:
                if alias.name == "*":
                    names.append(module)
                else:
                    names.append((module if module.endswith(".") else module + ".") + alias.name)
    return names


def _hub_resolves(name: str, folder: Folder) -> bool:
    """Whether the Hub's Python finds ``name`` installed (so it is not an executor module).

    An approximation: the standard library is installed; relative imports and built-in
    modules are not looked up; other names count as the folder's own when the folder has a
    module by that name, else as installed packages.
    """
    if name.startswith("."):
        return False
    top = name.split(".")[0]
    if name in sys.builtin_module_names or name.startswith("__future__"):
        return False
    if top in sys.stdlib_module_names:
        return True
    return folder.kind((top + ".py",)) is None and folder.kind((top,)) != "dir"


def _local_module(name: str, folder: Folder) -> tuple[str, ...] | None:
    """The file the Hub maps an unresolved import to, searched from the folder's top."""
    remainder = name.lstrip(".")
    dots = len(name) - len(remainder)
    up = max(dots - 1, 0)
    if up:
        return None
    parts: tuple[str, ...] = tuple(p for p in remainder.split(".") if p)
    while True:
        kind = folder.kind(parts) if parts else "dir"
        if kind == "dir":
            init = (*parts, "__init__.py")
            return init if folder.kind(init) is not None else None
        if parts and folder.kind((*parts[:-1], parts[-1] + ".py")) is not None:
            return (*parts[:-1], parts[-1] + ".py")
        if not parts:
            return None
        parts = parts[:-1]


def import_cycle(folder: Folder, sources: list[Source]) -> list[str]:
    """Without ``config.yml`` the Hub orders the modules by their imports; a cycle is 4003."""
    edges: dict[PurePosixPath, list[PurePosixPath]] = {}
    for source in sources:
        targets: list[PurePosixPath] = []
        for name in _imported_names(source.tree):
            if _hub_resolves(name, folder):
                continue
            found = _local_module(name, folder)
            if found is not None:
                targets.append(PurePosixPath(*found))
        edges[PurePosixPath(*source.parts)] = targets
    return [str(p) for p in _find_loop(edges)]
