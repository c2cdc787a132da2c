"""Executor folders labelled with Jina Hub's verdict: the table the build-check tests share.

Each :class:`Case` is a small folder written inline, the push options (Dockerfile, build-env)
and the verdict of the Hub's check (``jina-ai/executor-normalizer`` at ``bd2828d``): accepted
with a class, or rejected with a code, and where the rule points (file, line). ``source``
says how the label was established: ``run`` (the reference normalizer was run on the folder),
``read`` (from reading its code; used where running it is unsafe or pointless), ``sdk`` (a
rule of the official client and the Hub's build, not of the normalizer).

Other tests reuse the table with :func:`build`, e.g. to push every case to the local Hub::

    from support.rule_cases import CASES, build
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

NOT_FOUND, EXISTS, ILLEGAL, BROKEN_DEPENDENCY, OTHER = 4000, 4001, 4002, 4003, 5000


@dataclass(frozen=True)
class Accept:
    """The Hub accepts the folder: this class, in this module, at this line."""

    executor: str
    module: str
    line: int
    dockerfile: str | None = None
    requirements: tuple[str, ...] | None = None
    placeholders: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reject:
    """The Hub rejects the folder with ``code``; the rule points at ``file``/``line``."""

    code: int
    file: str | None
    line: int | None
    quirk: bool = False


@dataclass(frozen=True)
class Case:
    id: str
    files: Mapping[str, str | bytes]
    expect: Accept | Reject
    source: str = "run"
    dockerfile: str | None = None
    build_env: tuple[str, ...] = ()
    #: Symbolic links in the folder: name -> target (as written in the link).
    links: Mapping[str, str] = field(default_factory=dict)
    #: Files written next to the folder (targets of links that lead out of it).
    outside: Mapping[str, str] = field(default_factory=dict)


def build(case: Case, base: Path) -> Path:
    """Write the case's folder under ``base`` (which must be empty) and return it."""
    folder = base / "executor-folder"
    folder.mkdir(parents=True)
    for name, content in case.outside.items():
        (base / name).write_text(content, encoding="utf-8")
    for name, data in case.files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    for name, target in case.links.items():
        (folder / name).symlink_to(target)
    return folder


def executor(
    name: str = "MyExec",
    base: str = "Executor",
    init: str = "self, **kwargs",
    endpoint: str = "self, docs, **kwargs",
) -> str:
    """A module whose class statement is on line 4 and ``__init__`` on line 5."""
    return (
        "from jina import Executor, requests\n"
        "\n"
        "\n"
        f"class {name}({base}):\n"
        f"    def __init__({init}):\n"
        "        super().__init__()\n"
        "\n"
        "    @requests\n"
        f"    def foo({endpoint}):\n"
        "        return docs\n"
    )


def config(jtype: str = "MyExec", *modules: str) -> str:
    """``jtype`` on line 1, ``py_modules`` on line 2, its entries from line 3."""
    listed = "".join(f"  - {m}\n" for m in (modules or ("executor.py",)))
    return f"jtype: {jtype}\npy_modules:\n{listed}"


ENTRYPOINT = 'ENTRYPOINT ["jina", "executor", "--uses", "config.yml"]\n'
DOCKERFILE = "FROM jinaai/jina:3-py38-perf\nCOPY . /workspace\nWORKDIR /workspace\n" + ENTRYPOINT
BASIC = {"config.yml": config(), "executor.py": executor()}
ENCODER = "from jina import Executor\n\n\nclass MeshDataEncoder(Executor):\n    pass\n"
REEXPORT_CONFIG = "jtype: MeshDataEncoder\nmetas:\n  py_modules:\n    - __init__.py\n"

CASES: list[Case] = [
    # --- accepted ------------------------------------------------------------------------------
    Case("basic", BASIC, Accept("MyExec", "executor.py", 4)),
    Case(
        "metas-py-modules-string",
        {
            "config.yml": "jtype: MyExec\nmetas:\n  name: MyExec\n  py_modules: executor.py\n",
            "executor.py": executor(),
        },
        Accept("MyExec", "executor.py", 4),
    ),
    Case(
        "with-dockerfile-and-requirements",
        {**BASIC, "Dockerfile": DOCKERFILE, "requirements.txt": "numpy>=1.21\n# a comment\n"},
        Accept("MyExec", "executor.py", 4, dockerfile="Dockerfile", requirements=("numpy>=1.21",)),
    ),
    Case(
        "reexport-from-init-relative",
        {
            "config.yml": REEXPORT_CONFIG,
            "__init__.py": "from .encoder import MeshDataEncoder\n",
            "encoder.py": ENCODER,
        },
        Accept("MeshDataEncoder", "encoder.py", 4),
    ),
    Case(
        "reexport-package-in-subfolder",
        {
            "config.yml": "jtype: MeshDataEncoder\npy_modules: executor/__init__.py\n",
            "executor/__init__.py": "from .encoder import MeshDataEncoder\n\n__all__ = []\n",
            "executor/encoder.py": ENCODER,
        },
        Accept("MeshDataEncoder", "executor/encoder.py", 4),
    ),
    Case(
        "reexport-absolute-at-top",
        {
            "config.yml": REEXPORT_CONFIG,
            "__init__.py": "from encoder import MeshDataEncoder\n",
            "encoder.py": ENCODER,
        },
        Accept("MeshDataEncoder", "encoder.py", 4),
    ),
    Case(
        "reexport-chain-and-listed-twice",
        {
            "config.yml": "jtype: MeshDataEncoder\n"
            "py_modules:\n  - __init__.py\n  - impl/core.py\n",
            "__init__.py": "from .impl import MeshDataEncoder\n",
            "impl/__init__.py": "from .core import (\n    MeshDataEncoder,\n)\n",
            "impl/core.py": ENCODER,
        },
        Accept("MeshDataEncoder", "impl/core.py", 4),
    ),
    Case(
        "base-class-not-named-executor",
        {
            "config.yml": config(),
            "executor.py": "from base import BaseEncoder\n\n\nclass MyExec(BaseEncoder):\n"
            "    pass\n",
            "base.py": "from jina import Executor\n\n\nclass BaseEncoder(Executor):\n    pass\n",
        },
        Accept("MyExec", "executor.py", 4),
    ),
    Case(
        "no-config-top-level-module",
        {"executor.py": executor(), "helper.py": "def helper():\n    return 1\n"},
        Accept("MyExec", "executor.py", 4),
    ),
    Case(
        "no-config-executor-subfolder",
        {"executor/my.py": executor(base="jina.Executor")},
        Accept("MyExec", "executor/my.py", 4),
    ),
    Case(
        "empty-jtype-string-finds-the-executor-subclass",
        {"config.yml": 'jtype: ""\npy_modules: [executor.py]\n', "executor.py": executor()},
        Accept("MyExec", "executor.py", 4),
    ),
    Case(
        "named-dockerfile-multistage",
        {
            **BASIC,
            "Dockerfile.gpu": "FROM python:3.9 AS build\nRUN pip wheel numpy\n\n"
            'from jinaai/jina:3-py38-perf\n# the runtime stage\nentrypoint ["jina", \\\n'
            '  "executor", "--uses", "config.yml"]\n',
        },
        Accept("MyExec", "executor.py", 4, dockerfile="Dockerfile.gpu"),
        dockerfile="Dockerfile.gpu",
    ),
    Case(
        "named-dockerfile-missing-is-generated",
        BASIC,
        Accept("MyExec", "executor.py", 4, dockerfile=None),
        dockerfile="Dockerfile.custom",
    ),
    Case(
        "keyword-only-with-default-and-async-endpoint",
        {
            "config.yml": config(),
            "executor.py": executor(init="self, *, size: int = 1, **kwargs")
            + "\n    @requests(on='/x')\n    async def bar(self, *, docs, **kwargs):\n"
            "        return docs\n",
        },
        Accept("MyExec", "executor.py", 4),
    ),
    Case(
        "placeholders-supplied-and-crlf-blank-line",
        {
            **BASIC,
            "requirements.txt": "numpy\r\n\r\ngit+https://${TOKEN}@github.com/x/y.git\r\n",
        },
        Accept(
            "MyExec",
            "executor.py",
            4,
            requirements=("numpy", "git+https://${TOKEN}@github.com/x/y.git"),
            placeholders=("TOKEN",),
        ),
        build_env=("TOKEN",),
    ),
    Case(
        "pyproject-dependencies-appended",
        {
            **BASIC,
            "requirements.txt": "numpy",
            "pyproject.toml": '[project]\nname = "x"\ndependencies = ["torch>=2", "pillow"]\n',
        },
        Accept("MyExec", "executor.py", 4, requirements=("numpytorch>=2", "pillow")),
    ),
    Case(
        "symlink-inside-the-folder",
        {"config.yml": config("MyExec", "link.py"), "real/impl.py": executor()},
        Accept("MyExec", "link.py", 4),
        links={"link.py": "real/impl.py"},
    ),
    # --- rejected: the Hub's rules --------------------------------------------------------------
    Case(
        "config-without-py-modules",
        {"config.yml": "jtype: MyExec\nmetas:\n  name: MyExec\n", "executor.py": executor()},
        Reject(NOT_FOUND, "config.yml", None),
    ),
    Case(
        "py-modules-under-with",
        {
            "config.yml": "jtype: MyExec\nwith:\n  size: 1\n  py_modules:\n    - executor.py\n",
            "executor.py": executor(),
        },
        Reject(NOT_FOUND, "config.yml", 4),
    ),
    Case(
        "py-modules-at-root-and-in-metas",
        {
            "config.yml": "jtype: MyExec\npy_modules: executor.py\nmetas:\n"
            "  py_modules: [executor.py]\n",
            "executor.py": executor(),
        },
        Reject(OTHER, "config.yml", 2),
    ),
    Case(
        "jtype-typo", {**BASIC, "config.yml": config("MyExce")}, Reject(NOT_FOUND, "config.yml", 1)
    ),
    Case(
        "class-module-not-in-py-modules",
        {**BASIC, "config.yml": config("MyExec", "helper.py"), "helper.py": "X = 1\n"},
        Reject(NOT_FOUND, "config.yml", 2),
    ),
    Case(
        "py-modules-wrong-case",
        {**BASIC, "config.yml": config("MyExec", "Executor.py")},
        Reject(OTHER, "config.yml", 3),
    ),
    Case(
        "reexport-module-wrong-case",
        {
            "config.yml": REEXPORT_CONFIG,
            "__init__.py": "from .Encoder import MeshDataEncoder\n",
            "encoder.py": ENCODER,
        },
        Reject(NOT_FOUND, "__init__.py", 1),
    ),
    Case(
        "syntax-error",
        {**BASIC, "executor.py": executor().replace("return docs", "return docs)")},
        Reject(OTHER, "executor.py", 10),
    ),
    Case(
        "class-defined-twice-in-two-files",
        {**BASIC, "config.yml": config("MyExec", "executor.py", "old.py"), "old.py": executor()},
        Reject(EXISTS, "old.py", 4),
    ),
    Case(
        "class-defined-twice-in-one-file",
        {
            **BASIC,
            "executor.py": "import sys\nif sys.version_info >= (3, 9):\n"
            "    class MyExec:\n        pass\nelse:\n    class MyExec:\n        pass\n",
        },
        Reject(EXISTS, "executor.py", 6),
    ),
    Case(
        "init-without-self",
        {**BASIC, "executor.py": executor(init="**kwargs")},
        Reject(ILLEGAL, "executor.py", 5),
    ),
    Case(
        "init-with-only-star-args",
        {**BASIC, "executor.py": executor(init="*args, **kwargs")},
        Reject(ILLEGAL, "executor.py", 5),
    ),
    Case(
        "init-self-with-default",
        {**BASIC, "executor.py": executor(init="self=None, **kwargs")},
        Reject(ILLEGAL, "executor.py", 5),
    ),
    Case(
        "dockerfile-without-entrypoint",
        {**BASIC, "Dockerfile": "FROM jinaai/jina:3-py38-perf\nCOPY . /workspace\n"},
        Reject(OTHER, "Dockerfile", 1),
    ),
    Case(
        "dockerfile-entrypoint-only-in-first-stage",
        {**BASIC, "Dockerfile": "FROM python:3.9\n" + ENTRYPOINT + "FROM jinaai/jina:3-py38\n"},
        Reject(OTHER, "Dockerfile", 3),
    ),
    Case(
        "named-dockerfile-in-missing-folder",
        BASIC,
        Reject(OTHER, "docker/Dockerfile", None),
        dockerfile="docker/Dockerfile",
    ),
    Case(
        "no-config-two-executors",
        {"a.py": executor("A"), "b.py": executor("B")},
        Reject(EXISTS, "b.py", 4),
    ),
    Case(
        "no-config-base-not-named-executor",
        {"executor.py": executor(base="BaseExecutor")},
        Reject(NOT_FOUND, None, None),
    ),
    Case(
        "no-config-import-cycle",
        {"a.py": "import b\n" + executor("A"), "b.py": "import a\n"},
        Reject(BROKEN_DEPENDENCY, "a.py", None),
    ),
    Case(
        "jtype-missing",
        {**BASIC, "config.yml": "py_modules: [executor.py]\n"},
        Reject(OTHER, "config.yml", 1),  # annotated on line 1: where `jtype:` belongs
    ),
    Case(
        "jtype-null",
        {**BASIC, "config.yml": "jtype:\npy_modules: [executor.py]\n"},
        Reject(OTHER, "config.yml", 1),
    ),
    Case(
        "jtype-not-a-string",
        {**BASIC, "config.yml": "jtype: [MyExec]\npy_modules: [executor.py]\n"},
        Reject(NOT_FOUND, "config.yml", 1),
    ),
    Case(
        "config-not-yaml",
        {**BASIC, "config.yml": "jtype: MyExec\npy_modules: [a.py\n"},
        Reject(OTHER, "config.yml", 3),
    ),
    Case(
        "config-a-list",
        {**BASIC, "config.yml": "- jtype: MyExec\n"},
        Reject(OTHER, "config.yml", None),
    ),
    Case(
        "py-modules-entry-not-a-string",
        {**BASIC, "config.yml": "jtype: MyExec\npy_modules:\n  - executor.py\n  - 3\n"},
        Reject(OTHER, "config.yml", 4),
    ),
    Case(
        "py-modules-entry-is-a-folder",
        {**BASIC, "config.yml": config("MyExec", "pkg"), "pkg/__init__.py": ""},
        Reject(OTHER, "config.yml", 3),
    ),
    Case(
        "not-utf8-module",
        {**BASIC, "executor.py": executor().encode() + b"# caf\xe9\n"},
        Reject(OTHER, "executor.py", 11),
    ),
    Case(
        "requirements-placeholder-without-build-env",
        {**BASIC, "requirements.txt": "numpy\ngit+https://${TOKEN}@github.com/x/y.git\n"},
        Reject(OTHER, "requirements.txt", 2),
        source="sdk",
    ),
    # --- rejected: quirks of the Hub's check (valid folders it trips on) -------------------------
    Case(
        "quirk-requirements-whitespace-line",
        {**BASIC, "requirements.txt": "numpy\n  \ntorch\n"},
        Reject(OTHER, "requirements.txt", 2, quirk=True),
    ),
    Case(
        "quirk-reexport-indented",
        {
            "config.yml": REEXPORT_CONFIG,
            "__init__.py": "try:\n    from .encoder import MeshDataEncoder\nexcept ImportError:\n"
            "    raise\n",
            "encoder.py": ENCODER,
        },
        Reject(OTHER, "__init__.py", 2, quirk=True),
    ),
    Case(
        "quirk-reexport-double-space",
        {
            "config.yml": REEXPORT_CONFIG,
            "__init__.py": "from  .encoder import MeshDataEncoder\n",
            "encoder.py": ENCODER,
        },
        Reject(OTHER, "__init__.py", 1, quirk=True),
    ),
    Case(
        "quirk-reexport-tab",
        {
            "config.yml": REEXPORT_CONFIG,
            "__init__.py": "from\t.encoder import MeshDataEncoder\n",
            "encoder.py": ENCODER,
        },
        Reject(NOT_FOUND, "__init__.py", 1, quirk=True),
    ),
    Case(
        "quirk-reexport-star",
        {
            "config.yml": REEXPORT_CONFIG,
            "__init__.py": "import os\nfrom .encoder import *\n",
            "encoder.py": ENCODER,
        },
        Reject(NOT_FOUND, "__init__.py", 2, quirk=True),
    ),
    Case(
        "quirk-reexport-absolute-in-subfolder",
        {
            "config.yml": "jtype: MeshDataEncoder\npy_modules: [executor/__init__.py]\n",
            "executor/__init__.py": "from executor.encoder import MeshDataEncoder\n",
            "executor/encoder.py": ENCODER,
        },
        Reject(NOT_FOUND, "executor/__init__.py", 1, quirk=True),
    ),
    Case(
        "quirk-reexport-from-dot",
        {
            "config.yml": "jtype: MeshDataEncoder\npy_modules: [pkg/main.py]\n",
            "pkg/__init__.py": ENCODER,
            "pkg/main.py": "from . import MeshDataEncoder\n",
        },
        Reject(NOT_FOUND, "pkg/main.py", 1, quirk=True),
    ),
    Case(
        "quirk-reexport-loop",
        {
            "config.yml": REEXPORT_CONFIG,
            "__init__.py": "from .encoder import MeshDataEncoder\n",
            "encoder.py": ENCODER + "\n\nfrom .encoder import MeshDataEncoder as Self  # noqa\n",
        },
        Reject(OTHER, "encoder.py", None, quirk=True),
        source="run (the reference never returns: stopped after a timeout)",
    ),
    Case(
        "quirk-same-module-read-twice",
        {
            "config.yml": "jtype: MyExec\npy_modules:\n  - pkg/__init__.py\n  - executor.py\n",
            "pkg/__init__.py": "from ..executor import MyExec\n",
            "executor.py": executor(),
        },
        Reject(EXISTS, "executor.py", 4, quirk=True),
    ),
    Case(
        "quirk-init-positional-only-self",
        {**BASIC, "executor.py": executor(init="self, /, **kwargs")},
        Reject(ILLEGAL, "executor.py", 5, quirk=True),
    ),
    Case(
        "quirk-init-keyword-only-without-default",
        {**BASIC, "executor.py": executor(init="self, *, size: int, **kwargs")},
        Reject(OTHER, "executor.py", 5, quirk=True),
    ),
    Case(
        "quirk-endpoint-keyword-only-without-default",
        {**BASIC, "executor.py": executor(endpoint="self, *, docs, **kwargs")},
        Reject(OTHER, "executor.py", 9, quirk=True),
    ),
    Case(
        "quirk-module-with-bom",
        {**BASIC, "executor.py": b"\xef\xbb\xbf" + executor().encode()},
        Reject(OTHER, "executor.py", 1, quirk=True),
    ),
    Case(
        "quirk-syntax-newer-than-python-3-9",
        {
            **BASIC,
            "executor.py": executor() + "\n\ndef kind(x):\n    match x:\n"
            "        case 1:\n            return 'one'\n",
        },
        Reject(OTHER, "executor.py", 14, quirk=True),
    ),
    Case(
        "quirk-empty-metas",
        {**BASIC, "config.yml": "jtype: MyExec\nmetas:\npy_modules: [executor.py]\n"},
        Reject(OTHER, "config.yml", 2, quirk=True),
    ),
    Case(
        "quirk-empty-manifest",
        {**BASIC, "manifest.yml": "# nothing yet\n"},
        Reject(OTHER, "manifest.yml", None, quirk=True),
    ),
    Case(
        "quirk-dockerfile-inherits-entrypoint-from-stage",
        {
            **BASIC,
            "Dockerfile": "FROM jinaai/jina:3-py38 AS base\n" + ENTRYPOINT + "FROM base\n"
            "COPY . /workspace\n",
        },
        Reject(OTHER, "Dockerfile", 3, quirk=True),
    ),
    Case(
        "quirk-dockerfile-entrypoint-continued-at-end",
        {**BASIC, "Dockerfile": "FROM jinaai/jina:3-py38\n" + ENTRYPOINT.rstrip() + " \\\n"},
        Reject(OTHER, "Dockerfile", 2, quirk=True),
    ),
    # --- rejected: an untrusted folder -----------------------------------------------------------
    Case(
        "symlink-out-of-the-folder",
        {"config.yml": config()},
        Reject(OTHER, "executor.py", None),
        source="read",
        links={"executor.py": "../secret.py"},
        outside={"secret.py": executor()},
    ),
    Case(
        "symlink-loop",
        {"config.yml": config()},
        Reject(OTHER, "executor.py", None),
        source="read",
        links={"executor.py": "executor.py"},
    ),
    Case(
        "module-too-large",
        {**BASIC, "executor.py": executor() + "#" * (4 * 1024 * 1024) + "\n"},
        Reject(OTHER, "executor.py", None),
        source="read",
    ),
    Case(
        "py-modules-entry-outside-the-folder",
        {**BASIC, "config.yml": config("MyExec", "../executor.py")},
        Reject(OTHER, "config.yml", 3),
    ),
    Case(
        "deeply-nested-expression",
        {**BASIC, "executor.py": executor() + "X = " + "(" * 300 + "1" + ")" * 300 + "\n"},
        Reject(OTHER, "executor.py", 11),
    ),
    Case(
        "deeply-nested-yaml",
        {**BASIC, "config.yml": "jtype: MyExec\nx: " + "[" * 5000 + "]" * 5000 + "\n"},
        Reject(OTHER, "config.yml", None),
    ),
]
