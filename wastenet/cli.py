"""``wastenet`` command line. Subcommands live in :mod:`wastenet.commands`."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from wastenet.commands import COMMAND_MODULES
from wastenet.errors import WastenetError

log = logging.getLogger("wastenet.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wastenet",
        description="Plan rural waste logistics: siting, routing and policy KPIs.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"wastenet.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"wastenet.commands.{name}":
                continue  # command not built in this checkout
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=min(level, logging.INFO), format="%(levelname)s %(name)s: %(message)s")
    if args.verbose == 0:
        logging.getLogger("wastenet").setLevel(logging.INFO)
    try:
        return int(args.func(args) or 0)
    except WastenetError as exc:
        print(f"wastenet: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
