"""Checking an unpacked executor folder the way the Hub's normalizer does.

Modelled on ``jina-ai/executor-normalizer`` (``normalizer/core.py`` and its server's error
texts): ``config.yml`` must name the class in ``jtype``; ``py_modules`` may sit under
``metas`` or at the root, not both; exactly one class deriving from ``Executor`` (with that
name) must be found in the modules, read with :mod:`ast` and never imported; the Dockerfile a
push names must be in the archive; ``${NAME}`` placeholders in ``requirements.txt`` must be
supplied by the build-env.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from localhub import push_rules

# The normalizer's error codes (``ErrorCode`` in its server) and its texts.
EXECUTOR_NOT_FOUND = 4000
EXECUTOR_EXISTS = 4001
ILLEGAL_EXECUTOR = 4002
BROKEN_DEPENDENCY = 4003
OTHERS = 5000

NOT_FOUND_TEXT = (
    "We can not discover any Executor in your uploaded bundle. This is often due to one of "
    "the following errors: the bundle did not contain any valid executor; the config.yml's "
    "`jtype` is mismatched with the actual Executor class name."
)
EXISTS_TEXT = "Multiple executors are placed at one package, which is not allowed by Jina Hub now!"
ILLEGAL_TEXT = "The uploaded executor is illegal, please double check it!"
PY_MODULES_TWICE_TEXT = (
    "The parameter py_modules can only be appear in one of metas and root in config.yml"
)


class NormalizerError(Exception):
    """A bundle the Hub would refuse: the normalizer's code and a readable message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Normalized:
    """What the check found out about a valid bundle."""

    executor_class: str
    module: str
    dockerfile: str | None
    requirements: tuple[str, ...]


Log = Callable[[str], None]


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _inside(root: Path, name: str, what: str) -> Path:
    """``root/name`` for a relative ``name`` that stays in the folder."""
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or not pure.parts:
        raise NormalizerError(
            OTHERS, f"The {what} `{name}` must be a path inside the executor folder."
        )
    return root.joinpath(*pure.parts)


def load_config(root: Path) -> dict[str, Any] | None:
    """``config.yml`` as a mapping, None if absent; a refusal if it is unreadable."""
    path = root / "config.yml"
    if not path.is_file():
        return None
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise NormalizerError(OTHERS, f"config.yml is not valid YAML: {exc}") from None
    if not isinstance(loaded, dict):
        raise NormalizerError(OTHERS, "config.yml must be a mapping with at least `jtype`.")
    return loaded


def _class_name(config: dict[str, Any]) -> str:
    jtype = config.get("jtype")
    if not isinstance(jtype, str) or not jtype.strip():
        raise NormalizerError(
            OTHERS,
            "Not found jtype in config.yml: set `jtype` to the name of your Executor class.",
        )
    return jtype.strip()


def _py_modules(config: dict[str, Any], root: Path) -> list[Path] | None:
    metas = config.get("metas")
    in_metas = metas.get("py_modules") if isinstance(metas, dict) else None
    at_root = config.get("py_modules")
    if in_metas and at_root:
        raise NormalizerError(OTHERS, PY_MODULES_TWICE_TEXT)
    declared = in_metas or at_root
    if not declared:
        return None
    names = [declared] if isinstance(declared, str) else declared
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise NormalizerError(
            OTHERS, "py_modules in config.yml must be a file name or a list of them."
        )
    modules: list[Path] = []
    for name in names:
        path = _inside(root, name, "py_modules entry")
        if not path.is_file():
            raise NormalizerError(
                OTHERS,
                f"config.yml lists `{name}` in py_modules, but the archive has no such file.",
            )
        modules.append(path)
    return modules


def _default_modules(root: Path) -> list[Path]:
    """Without ``py_modules``: the ``*.py`` files at the top and in ``executor/``."""
    return sorted({*root.glob("*.py"), *root.glob("executor/*.py")})


def _derives_from_executor(node: ast.ClassDef) -> bool:
    for base in node.bases:
        if isinstance(base, ast.Name) and base.id == "Executor":
            return True
        if isinstance(base, ast.Attribute) and base.attr == "Executor":
            return True
    return False


def _legal_init(node: ast.ClassDef) -> bool:
    """The normalizer refuses an ``__init__`` that can't even take ``self``."""
    for item in node.body:
        if isinstance(item, ast.FunctionDef) and item.name == "__init__":
            positional = item.args.posonlyargs + item.args.args
            return len(positional) - len(item.args.defaults) >= 1 or item.args.vararg is not None
    return True


def find_executors(
    modules: list[Path], root: Path, class_name: str | None
) -> list[tuple[ast.ClassDef, Path]]:
    """Every class deriving from ``Executor`` (named ``class_name`` if given)."""
    found: list[tuple[ast.ClassDef, Path]] = []
    for module in modules:
        try:
            tree = ast.parse(module.read_bytes(), filename=_relative(module, root))
        except SyntaxError as exc:
            raise NormalizerError(
                OTHERS, f"{_relative(module, root)} can't be parsed: line {exc.lineno}: {exc.msg}"
            ) from None
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef) or not _derives_from_executor(node):
                continue
            if class_name and node.name != class_name:
                continue
            found.append((node, module))
    return found


def _check_dockerfile(root: Path, dockerfile: str | None, log: Log) -> str | None:
    if dockerfile:
        path = _inside(root, dockerfile, "Dockerfile")
        if not path.is_file():
            raise NormalizerError(
                OTHERS, f"The Dockerfile `{dockerfile}` named by the push is not in the archive."
            )
        log(f"Using the Dockerfile `{dockerfile}` (build-arg JINA_VERSION)")
        return dockerfile
    if (root / "Dockerfile").is_file():
        log("Using the Dockerfile `Dockerfile` (build-arg JINA_VERSION)")
        return "Dockerfile"
    log("No Dockerfile: generating one (jina base image, COPY . /workspace, entrypoint config.yml)")
    return None


def _check_requirements(root: Path, build_env: dict[str, str], log: Log) -> tuple[str, ...]:
    path = root / "requirements.txt"
    if not path.is_file():
        log("No requirements.txt")
        return ()
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    placeholders = push_rules.requirement_placeholders(lines)
    missing = push_rules.missing_build_env(placeholders, build_env)
    if missing:
        raise NormalizerError(OTHERS, push_rules.missing_build_env_message(missing))
    if placeholders:
        names = ", ".join(placeholders)
        log(f"requirements.txt: {len(placeholders)} placeholder(s) filled from build-env: {names}")
    packages = tuple(
        line.strip() for line in lines if line.strip() and not line.strip().startswith("#")
    )
    log(f"requirements.txt: {len(packages)} requirement(s)")
    return packages


def normalize(
    root: Path, *, dockerfile: str | None, build_env: dict[str, str], log: Log
) -> Normalized:
    """Check the unpacked bundle at ``root``.

    Raises :class:`NormalizerError` with the normalizer's code if the Hub wouldn't take it.
    """
    config = load_config(root)
    class_name: str | None = None
    modules: list[Path] | None = None
    if config is None:
        log("No config.yml: it will be generated from the Executor found")
    else:
        class_name = _class_name(config)
        log(f"config.yml: jtype {class_name}")
        modules = _py_modules(config, root)
    if modules is None:
        modules = _default_modules(root)
    log(
        "Looking for the Executor in: "
        + (", ".join(_relative(m, root) for m in modules) or "(no Python files)")
    )
    executors = find_executors(modules, root, class_name)
    if not executors:
        raise NormalizerError(EXECUTOR_NOT_FOUND, NOT_FOUND_TEXT)
    if len(executors) > 1:
        where = ", ".join(f"{node.name} ({_relative(path, root)})" for node, path in executors)
        raise NormalizerError(EXECUTOR_EXISTS, f"{EXISTS_TEXT} Found: {where}.")
    node, module = executors[0]
    if not _legal_init(node):
        raise NormalizerError(ILLEGAL_EXECUTOR, ILLEGAL_TEXT)
    log(f"Found Executor {node.name} in {_relative(module, root)}")
    used_dockerfile = _check_dockerfile(root, dockerfile, log)
    requirements = _check_requirements(root, build_env, log)
    return Normalized(
        executor_class=node.name,
        module=_relative(module, root),
        dockerfile=used_dockerfile,
        requirements=requirements,
    )
