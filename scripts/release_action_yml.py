"""Point action.yml at a prebuilt image: `runs.image: Dockerfile` -> `docker://IMAGE`.

    python3 scripts/release_action_yml.py ghcr.io/OWNER/hub-push:1.2.3 [--file action.yml]

The release workflow (.github/workflows/release.yml) runs it in the release commit that only
the version tags point to; the container test (tests/container) runs it on a copy of action.yml
pointing at a local registry. Only that one line changes (comments, order and quoting stay);
anything else in the file, or an `image:` that is not `Dockerfile`, is an error. Standard
library only: the release job runs it with the runner's python3.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

# registry/path:tag, lower case as registries require (the workflow lower-cases the owner).
IMAGE = re.compile(
    r"(?:[a-z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*"
    r":[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
)
# `image: Dockerfile` (quoted or not, maybe with a comment) in the block of the top-level `runs:`.
IMAGE_LINE = re.compile(
    r"(?P<key>[ \t]+image:[ \t]*)(?P<q>[\"']?)Dockerfile(?P=q)(?P<rest>[ \t]*(#.*)?)"
)


class ReleaseError(ValueError):
    """The image reference or action.yml is not what a release expects."""


def rewrite(text: str, image: str) -> str:
    """action.yml's text with `runs.image` set to `docker://image`; nothing else changes."""
    if not IMAGE.fullmatch(image):
        raise ReleaseError(f"not a lower-case image reference with a tag: {image!r}")
    lines = text.splitlines(keepends=True)
    in_runs, found = False, []
    for i, line in enumerate(lines):
        if line.strip() and not line[0].isspace():  # a top-level key starts or ends a block
            in_runs = line.rstrip().startswith("runs:")
        elif in_runs and IMAGE_LINE.fullmatch(line.rstrip("\r\n")):
            found.append(i)
    if len(found) != 1:
        raise ReleaseError("expected one `image: Dockerfile` under `runs:` in action.yml")
    line = lines[found[0]]
    match = IMAGE_LINE.fullmatch(line.rstrip("\r\n"))
    assert match is not None
    ending = line[len(line.rstrip("\r\n")) :]
    lines[found[0]] = f"{match['key']}docker://{image}{match['rest']}{ending}"
    return "".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", help="registry/name:tag, e.g. ghcr.io/owner/hub-push:1.2.3")
    parser.add_argument("--file", type=Path, default=Path("action.yml"), help="edited in place")
    args = parser.parse_args(argv)
    try:
        args.file.write_text(rewrite(args.file.read_text(), args.image))
    except (OSError, ReleaseError) as error:
        print(f"release_action_yml: {error}", file=sys.stderr)
        return 1
    print(f"{args.file}: runs.image is docker://{args.image}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
