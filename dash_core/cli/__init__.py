"""Command-line interface: ``python -m dash_core <command> ...``.

Every command calls the library with plain values and typed configs; bad input
is reported as a one-paragraph ``error:`` message (exit code 2), never as a
traceback. The library never imports this package (a test checks it).

=================  ======================================================================
``args``           option types and groups shared by the commands, config builders,
                   progress output
``simulate``       ``simulate``
``train``          ``train``, ``strategies``, ``models``
``studies``        ``sweep`` (grid or ``--search asha``) and ``benchmark``
``pathways``       ``pathways``
=================  ======================================================================

The ``signaling`` command lives with its feature (:mod:`dash_core.signaling.cli`).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util

from dash_core.cli.args import eprint
from dash_core.io.errors import DashInputError

#: Modules adding subcommands through ``register(subparsers)``, in the order of ``--help``.
#: Imported when the parser is built (deliberately lazy: ``signaling`` is an optional feature
#: and each command module pulls in its part of the library).
COMMAND_MODULES = (
    "dash_core.cli.simulate",
    "dash_core.cli.train",
    "dash_core.cli.studies",
    "dash_core.cli.pathways",
    "dash_core.signaling.cli",
)


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m dash_core`` parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="python -m dash_core",
        description="DASH Studio: interpretable gene regulatory and signaling models from data and prior knowledge.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for mod in COMMAND_MODULES:
        if importlib.util.find_spec(mod) is not None:
            importlib.import_module(mod).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit code (2 = bad input, 3 = training diverged, 130 = interrupted)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except DashInputError as exc:
        eprint(f"error: {exc}")
        return 2
    except KeyboardInterrupt:
        eprint("interrupted")
        return 130
    except FloatingPointError as exc:
        eprint(f"error: training diverged: {exc}")
        return 3


__all__ = ["COMMAND_MODULES", "build_parser", "main"]
