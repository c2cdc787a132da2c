"""``python -m localhub``: run the local Hub server."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from localhub.app import LocalHubApp, write_port_file
from localhub.service import LocalHubSettings
from localhub.unpack import MAX_UNPACKED_BYTES


def _user(value: str) -> tuple[str, str]:
    name, sep, token = value.partition(":")
    if not sep or not name.strip() or not token.strip():
        raise argparse.ArgumentTypeError("expected NAME:TOKEN")
    return name.strip(), token.strip()


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise argparse.ArgumentTypeError("must be a positive number of bytes")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m localhub",
        description="A local stand-in for Jina Hub: the push/status wire protocol on 127.0.0.1,"
        " with its state on disk.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    parser.add_argument("--data", type=Path, required=True, help="folder for the Hub's state")
    parser.add_argument(
        "--user",
        type=_user,
        action="append",
        default=[],
        metavar="NAME:TOKEN",
        help="a user that `user.identity.whoami` knows (repeatable)",
    )
    parser.add_argument(
        "--build-seconds", type=float, default=1.0, help="how long one build takes (default 1.0)"
    )
    parser.add_argument("--port-file", type=Path, help="write the bound port here once listening")
    parser.add_argument(
        "--no-task-id-in-stream",
        action="store_true",
        help="leave the build task id out of the push stream (as the real Hub does)",
    )
    parser.add_argument(
        "--max-upload-bytes",
        type=_positive_int,
        help="refuse larger archives with 41301 TooLargeFile",
    )
    parser.add_argument(
        "--max-unpacked-bytes",
        type=_positive_int,
        default=MAX_UNPACKED_BYTES,
        help="fail the build of an archive that unpacks to more than this"
        f" (default {MAX_UNPACKED_BYTES}, 8 GiB)",
    )
    parser.add_argument(
        "--fail-requirement",
        action="append",
        default=[],
        metavar="NAME",
        help="a requirement the build's pip cannot install (repeatable): its build fails with "
        "pip's words, as on Jina Hub",
    )
    parser.add_argument(
        "--stream-seconds",
        type=float,
        default=60.0,
        help="longest time one queryProgress stream stays open (default 60)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s localhub %(levelname)s %(message)s",
    )
    settings = LocalHubSettings(
        users=dict(args.user),
        task_id_in_stream=not args.no_task_id_in_stream,
        max_upload_bytes=args.max_upload_bytes,
        max_unpacked_bytes=args.max_unpacked_bytes,
        stream_seconds=args.stream_seconds,
    )
    app = LocalHubApp(
        args.data,
        settings,
        host=args.host,
        port=args.port,
        build_seconds=args.build_seconds,
        fail_requirements=frozenset(args.fail_requirement),
    )
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    app.start()
    if args.port_file is not None:
        write_port_file(args.port_file, app.server.port)
    print(f"local Hub listening on {app.url}", file=sys.stderr, flush=True)
    while not stop.wait(0.1):
        pass
    logging.getLogger("localhub").info("stopping")
    app.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
