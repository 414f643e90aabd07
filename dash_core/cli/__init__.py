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
import os

from dash_core.cli.args import check_output_folder, eprint, harden_numeric_options
from dash_core.io.errors import DashInputError

#: Modules adding subcommands through ``register(subparsers)``, in the order of ``--help``.
#: Imported when the parser is built (deliberately lazy: ``signaling`` is an optional feature
#: and each command module pulls in its part of the library).
COMMAND_MODULES = (
    "dash_core.cli.simulate",
    "dash_core.cli.train",
    "dash_core.cli.studies",
    "dash_core.cli.audit",
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


#: Destinations of output-folder options, checked before a command runs.
OUTPUT_OPTIONS = ("out", "out_dir")
#: Set to 1 to see the traceback of an unexpected error.
DEBUG_ENV = "DASH_DEBUG"


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit code (1 = unexpected error, 2 = bad input, 3 = training diverged or out of
    memory, 130 = interrupted). Output folders are checked before any work starts."""
    parser = build_parser()
    harden_numeric_options(parser)
    args = parser.parse_args(argv)
    try:
        for dest in OUTPUT_OPTIONS:
            if isinstance(getattr(args, dest, None), str):
                check_output_folder(getattr(args, dest), "--" + dest.replace("_", "-"))
        return int(args.func(args) or 0)
    except DashInputError as exc:
        eprint(f"error: {exc}")
        return 2
    except MemoryError:
        eprint("error: out of memory. Use fewer genes or trajectories, a smaller --hidden, or a machine with more "
               "memory.")
        return 3
    except UnicodeDecodeError as exc:
        eprint(f"error: a file is not UTF-8 text ({exc.reason} at byte {exc.start}). Re-save it as UTF-8 CSV/TSV.")
        return 2
    except OSError as exc:
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        eprint(f"error: {where}{exc.strerror or exc}")
        return 2
    except KeyboardInterrupt:
        eprint("interrupted")
        return 130
    except FloatingPointError as exc:
        eprint(f"error: training diverged: {exc}")
        return 3
    except Exception as exc:  # noqa: BLE001 - never a traceback for the user; DASH_DEBUG=1 shows it
        if os.environ.get(DEBUG_ENV, "") not in ("", "0"):
            raise
        eprint(f"error: unexpected {type(exc).__name__}: {exc}. This is probably a bug in DASH Studio; run again "
               f"with {DEBUG_ENV}=1 for the details and report them.")
        return 1


__all__ = ["COMMAND_MODULES", "build_parser", "main"]
