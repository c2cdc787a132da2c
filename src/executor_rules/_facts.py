"""One reading of an executor folder: what the client, discover and reports need to know.

:func:`read_folder` never refuses: it returns the facts it could read and, in ``problem``, why
a file could not be read. Judging the folder is :func:`executor_rules.judge`'s job; this is
the lenient reading behind ``preflight: false``, the name in every report, and discover.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from executor_rules._requirements import PLACEHOLDER, REQUIREMENTS

if TYPE_CHECKING:
    import yaml

CONFIG = "config.yml"
MANIFEST = "manifest.yml"
#: A config.yml or manifest.yml larger than this is not read (an executor's has a few lines).
MAX_YAML_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Placeholder:
    """A ``${NAME}`` in requirements.txt, filled in by the Hub from build-env."""

    name: str
    line: int


@dataclass(frozen=True)
class Problem:
    """A file of the folder that could not be read: ``message`` reads after the file's name."""

    file: str
    message: str
    line: int | None = None


@dataclass(frozen=True)
class FolderFacts:
    """What the folder says about itself, without judging it."""

    folder: Path
    #: config.yml is there (a file).
    has_config: bool = False
    #: ``jtype`` as written (stripped); None when config.yml has no ``jtype`` scalar.
    jtype: str | None = None
    #: ``jtype`` is a non-empty string: it names the Executor class (discover's test).
    names_class: bool = False
    #: The executor's name as the Hub picks it: ``metas.name``, else manifest.yml's ``name``;
    #: "" when neither names it.
    name: str = ""
    #: The line of ``metas:`` in config.yml (for "add a name here"), None without one.
    metas_line: int | None = None
    #: The line of ``metas.py_modules`` when ``py_modules`` is also set at the top level.
    py_modules_twice: int | None = None
    #: The ``${NAME}`` placeholders of requirements.txt's non-comment lines, each use.
    placeholders: tuple[Placeholder, ...] = ()
    #: The first file that could not be read as YAML (config.yml, then manifest.yml).
    problem: Problem | None = None

    def name_or_folder(self) -> str:
        """The name reports use before anything is checked: the folder's when none is set."""
        return self.name or self.folder.name


def read_folder(folder: Path) -> FolderFacts:
    """The facts of ``folder`` (which must be a folder); never raises for its content."""
    import yaml

    config = _yaml(folder, CONFIG)
    if isinstance(config, Problem):
        return FolderFacts(folder, has_config=True, problem=config)
    node = config
    jtype = _scalar(_child(node, "jtype"))
    metas = _child(node, "metas")
    metas_node = metas[0] if metas and isinstance(metas[0], yaml.MappingNode) else None
    at_root, in_metas = _child(node, "py_modules"), _child(metas_node, "py_modules")
    name = _string(_child(metas_node, "name"))
    problem: Problem | None = None
    if not name:
        manifest = _yaml(folder, MANIFEST)
        if isinstance(manifest, Problem):
            problem = manifest
        else:
            name = _string(_child(manifest, "name"))
    return FolderFacts(
        folder,
        has_config=(folder / CONFIG).is_file(),
        jtype=jtype[0] if jtype else None,
        names_class=bool(_string(_child(node, "jtype"))),
        name=name,
        metas_line=metas[1] if metas else None,
        py_modules_twice=in_metas[1] if at_root and in_metas else None,
        placeholders=_placeholders(folder / REQUIREMENTS),
        problem=problem,
    )


def _yaml(folder: Path, file: str) -> yaml.MappingNode | Problem | None:
    """The top node of a YAML file of the folder (None when absent or empty), or a problem."""
    import yaml

    path = folder / file
    if not path.is_file():
        return None
    try:
        if path.stat().st_size > MAX_YAML_BYTES:
            return Problem(file, f"is larger than {MAX_YAML_BYTES // 1024} KiB: not read")
        node = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        return Problem(file, f"is not valid YAML: {exc.problem}", line)
    except yaml.YAMLError as exc:
        return Problem(file, f"is not valid YAML ({exc})")
    except RecursionError:
        return Problem(file, "is nested too deeply to be read")
    except (OSError, UnicodeDecodeError) as exc:
        return Problem(file, f"cannot be read: {exc}")
    if node is None:
        return None
    if not isinstance(node, yaml.MappingNode):
        return Problem(file, "must be a mapping of keys to values", 1)
    return node


def _child(node: object, key: str) -> tuple[yaml.Node, int] | None:
    """The value node under ``key`` of a mapping node, with the key's line (1-based)."""
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value_node, key_node.start_mark.line + 1
    return None


def _scalar(found: tuple[yaml.Node, int] | None) -> tuple[str, int] | None:
    import yaml

    if found is None or not isinstance(found[0], yaml.ScalarNode):
        return None
    return str(found[0].value).strip(), found[1]


def _string(found: tuple[yaml.Node, int] | None) -> str:
    """The text of a string scalar (a name is never a number or a boolean), else ""."""
    import yaml

    if found is None or not isinstance(found[0], yaml.ScalarNode):
        return ""
    if found[0].tag != "tag:yaml.org,2002:str":
        return ""
    return str(found[0].value).strip()


def _placeholders(requirements: Path) -> tuple[Placeholder, ...]:
    """Every ``${NAME}`` on requirements.txt's non-comment lines, with its line."""
    if not requirements.is_file():
        return ()
    try:
        text = requirements.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ()
    found: list[Placeholder] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip().startswith("#"):
            found.extend(Placeholder(m.group(1), number) for m in PLACEHOLDER.finditer(line))
    return tuple(found)
