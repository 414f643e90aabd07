"""Command-line interface: ``python -m dash_core <command> ...``.

Every command calls the library; bad input is reported as a one-paragraph
``error:`` message (exit code 2), never as a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.util
import inspect
import json
import os
import re
import sys
import typing
from pathlib import Path
from typing import Any

from dash_core.io.errors import DashInputError

#: Modules contributing further subcommands through a ``register(subparsers)`` function.
COMMAND_MODULES = (
    "dash_core.studies",
    "dash_core.pathways_cli",
    "dash_core.signaling.cli",
)


# -- shared argument helpers -------------------------------------------------------
def number(kind: type = float, *, low: float | None = None, high: float | None = None, low_open: bool = False,
           high_open: bool = False, what: str | None = None):
    """An argparse ``type`` for a finite number of ``kind`` (int or float) in a range; NaN and inf are refused.

    Every numeric option of every command goes through this one parser (see
    :func:`harden_numeric_options`), so ``--lr nan`` or ``--steps-per-unit 0``
    is an ``error:`` line naming the option's valid range, never a traceback
    or a silently changed value.
    """
    def parse(text: str):
        try:
            value = float(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"expected {what or _range_text(kind, low, high, low_open, high_open)}, "
                                             f"got {text!r}") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
        if kind is int:
            if value != int(value) or not re.fullmatch(r"\s*[+-]?\d+(\.0*)?([eE]\+?\d+)?\s*", text):
                raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}")
            value = int(value)
        bad = ((low is not None and (value < low or (low_open and value == low)))
               or (high is not None and (value > high or (high_open and value == high))))
        if bad:
            raise argparse.ArgumentTypeError(f"must be {_range_text(kind, low, high, low_open, high_open)}, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def _range_text(kind: type, low, high, low_open: bool, high_open: bool) -> str:
    noun = "a whole number" if kind is int else "a number"
    if low is not None and high is not None:
        return f"{noun} {'above' if low_open else 'from'} {low:g} {'and below' if high_open else 'to'} {high:g}"
    if low is not None:
        return f"{noun} {'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f"{noun} {'<' if high_open else '<='} {high:g}"
    return noun


positive_int = number(int, low=1)
nonneg_int = number(int, low=0)
fraction = number(float, low=0.0, high=1.0)
open_fraction = number(float, low=0.0, high=1.0, low_open=True, high_open=True)
nonneg_float = number(float, low=0.0)
positive_float = number(float, low=0.0, low_open=True)
finite_float = number(float)
any_int = number(int)

#: Valid ranges of numeric options by destination, wherever they are defined (any command).
OPTION_RANGES = {
    "lr": positive_float, "lr_max": positive_float, "steps_per_unit": positive_float, "rtol": positive_float,
    "atol": positive_float, "alpha": open_fraction, "test_size": open_fraction, "reduction_factor":
    number(float, low=1.0, low_open=True), "batch_size": nonneg_int, "seed": nonneg_int, "patience": nonneg_int,
    "workers": nonneg_int, "max_retries": nonneg_int, "cpus_per_job": positive_float, "gpus_per_job": nonneg_float,
    # pruning (PruningConfig fields)
    **dict.fromkeys(("lambda_ppi", "lambda_motif", "first_amount", "amount", "late_amount", "pinn_mp_fraction",
                     "sparseflow_q", "sparseflow_target_sparsity", "gate_drop_in", "gate_drop_out"), fraction),
    **dict.fromkeys(("first_epoch", "late_epoch", "pinn_mp_finetune_epochs", "sparseflow_cycle_epochs"), nonneg_int),
    **dict.fromkeys(("interval", "sparseflow_max_cycles"), positive_int),
    **dict.fromkeys(("kappa_l0", "lambda_l1", "lambda_pathreg", "cnode_threshold"), nonneg_float),
    **dict.fromkeys(("l0_beta", "pathreg_beta", "sparseflow_tolerance"), positive_float),
}


def harden_numeric_options(parser: argparse.ArgumentParser) -> None:
    """Give every ``type=int`` / ``type=float`` option of ``parser`` and its subcommands the finite, ranged parser.

    Options listed in :data:`OPTION_RANGES` get their range; other plain ints and
    floats are at least required to be finite whole / real numbers.
    """
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                harden_numeric_options(sub)
            continue
        if action.type in (int, float):
            action.type = OPTION_RANGES.get(action.dest) or (any_int if action.type is int else finite_float)


def check_output_folder(path: str, option: str = "--out") -> Path:
    """Make sure ``path`` can hold a command's output *before* any work starts.

    It must not be a file, must be creatable and writable; it is created.
    """
    out = Path(path).expanduser()
    if out.exists() and not out.is_dir():
        raise DashInputError(f"{option} {path} is a file; give a folder (it is created if missing).")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".dash_write_test_{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise DashInputError(f"{option} {path} cannot be written ({exc.strerror or exc}); choose a folder you may "
                             "write to.") from None
    return out


def existing_file(text: str) -> str:
    p = Path(text)
    if not p.exists():
        raise argparse.ArgumentTypeError(f"file not found: {text}")
    if p.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; a file is expected")
    return text


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=\.)\s+(?=[A-Z(])", text.strip(), maxsplit=1)[0].rstrip(".")


def field_docs(cls: type) -> dict[str, str]:
    """First sentence of each field's entry in a numpy-style ``Attributes`` section of ``cls.__doc__``.

    An entry may document several fields (``a, b``); they share the text.
    """
    doc = inspect.getdoc(cls) or ""
    lines = doc.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == "Attributes") + 2
    except StopIteration:
        return {}
    out: dict[str, str] = {}
    names: list[str] = []
    text: list[str] = []

    def flush() -> None:
        if names and text:
            body = " ".join(t.strip() for t in text)
            first = _first_sentence(body)
            out.update(dict.fromkeys(names, first))

    for line in lines[start:]:
        if line and not line.startswith(" "):
            if line.strip().endswith("---") or not re.fullmatch(r"[A-Za-z_][\w, ]*", line.strip()):
                break
            flush()
            names, text = [n.strip() for n in line.split(",")], []
        elif line.strip():
            text.append(line)
    flush()
    try:  # fields documented by ``#:`` comments just above them (Sphinx style)
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        source = ""
    for block, name in re.findall(r"((?:^[ \t]*#:.*\n)+)[ \t]*(\w+)\s*:", source, flags=re.M):
        body = " ".join(line.strip()[2:].strip() for line in block.strip().splitlines())
        out.setdefault(name, _first_sentence(body))
    return {k: v.replace("``", "") for k, v in out.items()}


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls: type, *, skip: set[str] = frozenset(),
                            group_title: str | None = None, help_prefix: str = "") -> None:
    """Add one ``--field-name`` option per field of dataclass ``cls`` (default None = keep the config's value)."""
    hints = typing.get_type_hints(cls)
    docs = field_docs(cls)
    target = parser.add_argument_group(group_title) if group_title else parser
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        tp = hints[f.name]
        default = f.default if f.default is not dataclasses.MISSING else None
        kwargs: dict[str, Any] = {"default": None, "dest": f.name}
        args = typing.get_args(tp)
        if tp is bool:
            kwargs["type"] = _parse_bool
            kwargs["metavar"] = "true|false"
        elif typing.get_origin(tp) is typing.Literal:
            kwargs["choices"] = list(args)
        elif tp in (int, float, str):
            kwargs["type"] = tp
        else:
            continue
        about = docs.get(f.name)
        kwargs["help"] = f"{help_prefix}{about + '. ' if about else ''}default: {default}".replace("%", "%%")
        target.add_argument(_flag(f.name), **kwargs)


def _parse_bool(text: str) -> bool:
    t = text.strip().lower()
    if t in ("1", "true", "yes", "on"):
        return True
    if t in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def dataclass_overrides(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """Values given on the command line for the fields of ``cls``."""
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(cls)
            if getattr(args, f.name, None) is not None}


# -- simulate --------------------------------------------------------------------------
def _cmd_simulate(args: argparse.Namespace) -> int:
    from dash_core.simulate import SimulationConfig, simulate, write_simulation

    base = SimulationConfig.demo() if args.preset == "demo" else SimulationConfig.sim350()
    overrides: dict[str, Any] = {"seed": args.seed}
    if args.trajectories is not None:
        overrides["n_trajectories"] = args.trajectories
    if args.noise is not None:
        overrides["noise_sigma"] = args.noise
    if args.prior_corruption is not None:
        overrides["prior_corruption"] = args.prior_corruption
    if args.genes is not None and args.genes != base.n_genes:
        cfg = base.scaled(args.genes, **overrides)
    else:
        cfg = dataclasses.replace(base, **overrides)
    result = simulate(cfg)
    paths = write_simulation(result, args.out)
    _eprint(f"Simulated {cfg.n_genes} genes x {cfg.n_trajectories} trajectories "
            f"(noise sigma {cfg.noise_sigma}); wrote {len(paths)} files to {args.out}")
    return 0


# -- train -----------------------------------------------------------------------------
def add_data_arguments(p: argparse.ArgumentParser, *, prior_required: bool = True) -> None:
    """The input-file options shared by ``train``, ``sweep`` and ``benchmark``."""
    g = p.add_argument_group("input data")
    g.add_argument("--expression", type=existing_file, required=True,
                   help="expression time series: tidy CSV/TSV (trajectory,time,<genes>) or PHOENIX format")
    g.add_argument("--genes", type=existing_file, help="one-column gene-name file (PHOENIX format / unlabelled matrices)")
    g.add_argument("--test-expression", type=existing_file, help="held-out test trajectories (same genes)")
    g.add_argument("--prior", type=existing_file, required=prior_required,
                   help="prior TF->target network: source,target[,weight|sign] table or square matrix")
    g.add_argument("--ppi", type=existing_file, help="optional PPI network (symmetric; edge table or matrix)")
    g.add_argument("--truth", type=existing_file, help="optional gold-standard network for scoring")
    g.add_argument("--minmax-scale", action="store_true",
                   help="min-max scale expression to [0, 1] (offered when values lie far outside [0, 1])")


def load_data_from_args(args: argparse.Namespace):
    """Read and validate the input files named on the command line; print warnings."""
    from dash_core.io import load_dataset, minmax_scale

    dataset, report = load_dataset(args.expression, args.prior, genes=args.genes, ppi=args.ppi, truth=args.truth,
                                   test_expression=args.test_expression)
    for issue in report.issues:
        if issue.level != "info" or getattr(args, "verbose", False):
            _eprint(str(issue))
    if getattr(args, "minmax_scale", False):
        expr, (lo, hi) = minmax_scale(dataset.expression)
        dataset.expression = expr
        # test sets use the training range, so test MSE stays comparable
        if dataset.test_expression is not None:
            dataset.test_expression, _ = minmax_scale(dataset.test_expression, value_range=(lo, hi))
        if dataset.test_expression_clean is not None:
            dataset.test_expression_clean, _ = minmax_scale(dataset.test_expression_clean, value_range=(lo, hi))
        _eprint(f"[info] expression min-max scaled from [{lo:.4g}, {hi:.4g}] to [0, 1]")
    return dataset


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """Model, strategy and training options shared by ``train`` and studies."""
    from dash_core.models import MODELS
    from dash_core.pruning import STRATEGIES, PruningConfig

    g = p.add_argument_group("model and training")
    g.add_argument("--config", type=existing_file, help="a config.json of an earlier run to start from")
    g.add_argument("--model", choices=MODELS.names(), default=None, help="base model (default: phoenix)")
    g.add_argument("--strategy", choices=STRATEGIES.names(), default=None,
                   help="pruning strategy (default: none). See `python -m dash_core strategies`.")
    g.add_argument("--hidden", type=positive_int, help="hidden units per branch (default 40; MLP 50)")
    g.add_argument("--multiplier-grad", choices=["straight_through", "relu"], dest="multiplier_grad",
                   help="gradient of the gene multipliers ReLU(g) (PHOENIX): straight_through (default) lets a "
                        "gene frozen early in training (g < 0) come back; relu is the reference's plain gradient")
    g.add_argument("--lambda-data", type=fraction, dest="lambda_data",
                   help="weight of the data term; 1 - lambda-data weights the prior soft loss "
                        "(default: the strategy's, 0.99 for none/pinn_mp, else 1)")
    g.add_argument("--max-epochs", type=positive_int, dest="max_epochs", help="default 200")
    g.add_argument("--patience", type=int, help="early-stopping patience in epochs (default 40; 0 = off)")
    g.add_argument("--checkpoint-min-sparsity", type=fraction, dest="checkpoint_min_sparsity",
                   help="report the best-validation checkpoint among epochs at least this sparse (default 0: any "
                        "epoch); early stopping waits until the model gets that sparse")
    g.add_argument("--lr", type=float, help="initial learning rate (default 1e-3)")
    g.add_argument("--val-fraction", type=fraction, dest="val_fraction", help="validation share (default 10/150)")
    g.add_argument("--batching", choices=["trajectory", "pairs"], help="default trajectory")
    g.add_argument("--batch-size", type=positive_int, dest="batch_size", help="pairs mode batch size (default 16)")
    g.add_argument("--solver", choices=["rk4", "dopri5", "euler", "faithful", "fast"],
                   help="ODE solver or profile (default rk4; faithful = dopri5 rtol 1e-7/atol 1e-9)")
    g.add_argument("--steps-per-unit", type=float, dest="steps_per_unit", help="fixed-step solvers: steps per unit time")
    g.add_argument("--adjoint", action="store_true", help="dopri5 with adjoint back-propagation")
    g.add_argument("--seed", type=int, default=None, help="the run's seed (default 0)")
    g.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None, help="default auto (CUDA when present)")
    add_dataclass_arguments(p, PruningConfig, group_title="pruning strategy options")


def read_run_config(path: str):
    """A :class:`dash_core.experiment.RunConfig` from a ``config.json``; :class:`DashInputError` for any bad file."""
    from dash_core.experiment import RunConfig

    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DashInputError("not a text file: --config expects the config.json of an earlier run (UTF-8 JSON).",
                             source=path) from None
    except OSError as exc:
        raise DashInputError(f"cannot be read ({exc.strerror or exc}).", source=path) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DashInputError(f"not valid JSON ({exc})", source=path) from None
    if not isinstance(data, dict):
        raise DashInputError(f"a run config must be a JSON object {{...}} with model, train, strategy and pruning; "
                             f"this file holds a JSON {type(data).__name__}.", source=path)
    try:
        cfg = RunConfig.from_dict(data)
        cfg.train.validate()
    except DashInputError as exc:
        raise DashInputError(str(exc), source=path) from None
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        raise DashInputError(f"not a valid run config ({type(exc).__name__}: {exc}). Start from the config.json "
                             "written by `python -m dash_core train`.", source=path) from None
    return cfg


def run_config_from_args(args: argparse.Namespace):
    """Build a :class:`dash_core.experiment.RunConfig` from ``--config`` plus command-line overrides."""
    from dash_core.experiment import RunConfig
    from dash_core.integrate import SolverConfig
    from dash_core.pruning import PruningConfig

    base = RunConfig()
    if getattr(args, "config", None):
        base = read_run_config(args.config)
    model = base.model
    if args.model is not None:
        model = dataclasses.replace(model, model=args.model, hidden=50 if args.model == "mlp" and args.hidden is None
                                    else model.hidden)
    if args.hidden is not None:
        model = dataclasses.replace(model, hidden=args.hidden)
    if getattr(args, "multiplier_grad", None) is not None:
        model = dataclasses.replace(model, multiplier_grad=args.multiplier_grad)
    solver = base.train.solver
    if args.solver in ("faithful", "fast"):
        solver = SolverConfig.profile(args.solver)
    elif args.solver is not None:
        solver = dataclasses.replace(solver, method=args.solver)
    if args.steps_per_unit is not None:
        solver = dataclasses.replace(solver, steps_per_unit=args.steps_per_unit)
    if args.adjoint:
        solver = dataclasses.replace(solver, adjoint=True, method="dopri5")
    t = {k: getattr(args, k) for k in ("lambda_data", "max_epochs", "patience", "checkpoint_min_sparsity", "lr",
                                        "val_fraction", "batching", "batch_size", "device")
         if getattr(args, k, None) is not None}
    train = dataclasses.replace(base.train, solver=solver, **t)
    pruning = dataclasses.replace(base.pruning, **dataclass_overrides(args, PruningConfig))
    cfg = RunConfig(model=model, train=train, strategy=args.strategy or base.strategy, pruning=pruning,
                    seed=base.seed if args.seed is None else args.seed)
    cfg.train.validate()
    return cfg


class ProgressBar:
    """tqdm progress bar on stderr fed by :class:`dash_core.train.ProgressEvent`."""

    def __init__(self, total: int, desc: str = "training", disable: bool = False):
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc=desc, file=sys.stderr, unit="epoch", disable=disable, dynamic_ncols=True)

    def __call__(self, ev) -> None:
        self.bar.total = ev.max_epochs
        self.bar.n = ev.epoch
        self.bar.set_postfix(val=f"{ev.val_mse:.2e}", best=f"{ev.best_val_mse:.2e}", sparsity=f"{ev.sparsity:.3f}",
                             phase=ev.phase, refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


def _cmd_train(args: argparse.Namespace) -> int:
    from dash_core.experiment import run_experiment, save_run

    dataset = load_data_from_args(args)
    cfg = run_config_from_args(args)
    bar = ProgressBar(cfg.train.max_epochs, desc=f"{cfg.model.model}/{cfg.strategy}", disable=args.quiet)
    try:
        result = run_experiment(dataset, cfg, progress=bar)
    finally:
        bar.close()
    save_run(result, args.out)
    m = result.metrics
    summary = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in m.items())
    _eprint(f"done ({result.stop_reason}): {summary}\nwrote {args.out}/metrics.json, edges.csv, history.csv, "
            "config.json, model.pt")
    if not result.details.get("min_sparsity_reached", True):
        _eprint(f"warning: the run never reached --checkpoint-min-sparsity {cfg.train.checkpoint_min_sparsity:g}; "
                "the reported model is the best validation epoch overall. Train longer or prune more per event.")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from dash_core.models import MODELS
    from dash_core.pruning import STRATEGIES

    reg = STRATEGIES if args.command == "strategies" else MODELS
    for e in reg.entries():
        prior = "" if "uses_prior" not in e.extra else ("  [uses prior]" if e.extra["uses_prior"] else "  [data only]")
        print(f"{e.name:12s} {e.description}{prior}\n{'':12s} {e.citation}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dash_core",
        description="DASH Studio: interpretable gene regulatory and signaling models from data and prior knowledge.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("simulate", help="simulate SIM350-style expression data with prior and ground truth")
    p.add_argument("--preset", choices=["sim350", "demo"], default="sim350", help="starting configuration")
    p.add_argument("--genes", type=positive_int, help="number of genes (counts scale with the SIM350 ratios)")
    p.add_argument("--trajectories", type=positive_int, help="training + validation trajectories (default 150)")
    p.add_argument("--noise", type=nonneg_float, help="observation noise sigma (default 0.025 = 5%% noise)")
    p.add_argument("--prior-corruption", type=fraction, dest="prior_corruption",
                   help="fraction of prior edges moved at random (default: tied to noise, sigma / 0.5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(func=_cmd_simulate)

    p = sub.add_parser("train", help="train (and prune) one model; writes metrics, edges, history, config, checkpoint")
    add_data_arguments(p)
    add_run_arguments(p)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--verbose", action="store_true", help="also print informational validation notes")
    p.set_defaults(func=_cmd_train)

    for name, what in (("strategies", "pruning strategies"), ("models", "base models")):
        p = sub.add_parser(name, help=f"list the {what}")
        p.set_defaults(func=_cmd_list)

    for mod in COMMAND_MODULES:
        if importlib.util.find_spec(mod) is not None:
            importlib.import_module(mod).register(sub)
    return parser


def _eprint(*a: Any) -> None:
    print(*a, file=sys.stderr, flush=True)


#: Destinations of output-folder options, checked before a command runs.
OUTPUT_OPTIONS = ("out", "out_dir")
#: Set to 1 to see the traceback of an unexpected error.
DEBUG_ENV = "DASH_DEBUG"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    harden_numeric_options(parser)
    args = parser.parse_args(argv)
    try:
        for dest in OUTPUT_OPTIONS:
            if isinstance(getattr(args, dest, None), str):
                check_output_folder(getattr(args, dest), "--" + dest.replace("_", "-"))
        return int(args.func(args) or 0)
    except DashInputError as exc:
        _eprint(f"error: {exc}")
        return 2
    except MemoryError:
        _eprint("error: out of memory. Use fewer genes or trajectories, a smaller --hidden, or a machine with more "
                "memory.")
        return 3
    except UnicodeDecodeError as exc:
        _eprint(f"error: a file is not UTF-8 text ({exc.reason} at byte {exc.start}). Re-save it as UTF-8 CSV/TSV.")
        return 2
    except OSError as exc:
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        _eprint(f"error: {where}{exc.strerror or exc}")
        return 2
    except KeyboardInterrupt:
        _eprint("interrupted")
        return 130
    except FloatingPointError as exc:
        _eprint(f"error: training diverged: {exc}")
        return 3
    except Exception as exc:  # noqa: BLE001 - never a traceback for the user; DASH_DEBUG=1 shows it
        if os.environ.get(DEBUG_ENV, "") not in ("", "0"):
            raise
        _eprint(f"error: unexpected {type(exc).__name__}: {exc}. This is probably a bug in DASH Studio; run again "
                f"with {DEBUG_ENV}=1 for the details and report them.")
        return 1
