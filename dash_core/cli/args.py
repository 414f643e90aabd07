"""Argument parsing shared by the CLI commands: option types, option groups, config builders, progress output.

Command modules (:mod:`dash_core.cli.train`, :mod:`dash_core.cli.studies`,
:mod:`dash_core.cli.pathways`, :mod:`dash_core.signaling.cli`) build their parsers
from these helpers and turn the parsed options into the plain values and typed
configs the library takes. The library never imports this package.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import math
import os
import re
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from dash_core.device import DEVICES
from dash_core.experiment import RunConfig
from dash_core.integrate import SolverConfig
from dash_core.io import load_dataset, minmax_scale_dataset
from dash_core.io.errors import DashInputError
from dash_core.io.h5ad import H5adOptions
from dash_core.models import MODELS
from dash_core.presets import PRESETS, apply_preset
from dash_core.pruning import STRATEGIES, PruningConfig
from dash_core.runs.executors import EXECUTORS, ExecutorConfig, checked_executor_config
from dash_core.split import SPLIT_RULES, SplitConfig
from dash_core.studies.datasets import DatasetSpec
from dash_core.studies.table import PointProgress, is_missing
from dash_core.timescale import TIME_SCALES


def eprint(*a: Any) -> None:
    """Print to stderr (stdout is kept for results a script may parse)."""
    print(*a, file=sys.stderr, flush=True)


# -- option types ----------------------------------------------------------------------
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


def existing_dir(text: str) -> str:
    p = Path(text)
    if not p.is_dir():
        raise argparse.ArgumentTypeError(f"folder not found: {text}")
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



def add_data_arguments(p: argparse.ArgumentParser, *, prior_required: bool = True) -> None:
    """The input-file options shared by ``train``, ``sweep`` and ``benchmark``."""
    g = p.add_argument_group("input data")
    g.add_argument("--expression", type=existing_file, required=True,
                   help="expression time series: tidy CSV/TSV (trajectory,time,<genes>) or PHOENIX format")
    g.add_argument("--genes", type=existing_file, help="one-column gene-name file (PHOENIX format / unlabelled matrices)")
    g.add_argument("--test-expression", type=existing_file, help="held-out test trajectories (same genes)")
    g.add_argument("--val-expression", type=existing_file, dest="val_expression",
                   help="a separate validation series (same genes, e.g. a second replicate): chooses the reported "
                        "checkpoint; without it blocks of time or whole trajectories are held out (--split-rule)")
    g.add_argument("--prior", type=existing_file, required=prior_required,
                   help="prior TF->target network: source,target[,weight|sign] table or square matrix")
    g.add_argument("--ppi", type=existing_file, help="optional PPI network (symmetric; edge table or matrix)")
    g.add_argument("--truth", type=existing_file, help="optional gold-standard network for scoring")
    g.add_argument("--minmax-scale", action="store_true",
                   help="min-max scale expression to [0, 1] (offered when values lie far outside [0, 1])")
    h = p.add_argument_group("AnnData (.h5ad) expression")
    h.add_argument("--time-key", dest="time_key", help="obs column with each cell's time (e.g. dpt_pseudotime)")
    h.add_argument("--trajectory-key", dest="trajectory_key",
                   help="obs column splitting cells into trajectories / lineages (default: one trajectory)")
    h.add_argument("--bins", type=positive_int, help="time points per trajectory: cells are binned along time and "
                                                       "averaged (default 20)")
    h.add_argument("--layer", help="read this layer instead of X")
    h.add_argument("--binning", choices=["quantile", "width"],
                   help="quantile: equal cells per bin (default); width: equal time width")


def h5ad_options_from_args(args: argparse.Namespace):
    """:class:`dash_core.io.H5adOptions` from the AnnData options (defaults where not given)."""
    given = {k: getattr(args, k, None) for k in ("time_key", "trajectory_key", "bins", "layer", "binning")}
    return H5adOptions(**{k: v for k, v in given.items() if v is not None})


def load_data_from_args(args: argparse.Namespace):
    """Read and validate the input files named on the command line; print warnings."""
    dataset, report = load_dataset(args.expression, args.prior, genes=args.genes, ppi=args.ppi, truth=args.truth,
                                   test_expression=args.test_expression,
                                   validation_expression=getattr(args, "val_expression", None),
                                   h5ad=h5ad_options_from_args(args))
    for issue in report.issues:
        if issue.level != "info" or getattr(args, "verbose", False):
            eprint(str(issue))
    if getattr(args, "minmax_scale", False):
        dataset, (lo, hi) = minmax_scale_dataset(dataset)  # test and validation sets use the training range
        eprint(f"[info] expression min-max scaled from [{lo:.4g}, {hi:.4g}] to [0, 1]")
    return dataset


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """Model, strategy and training options shared by ``train`` and studies."""
    g = p.add_argument_group("model and training")
    g.add_argument("--config", type=existing_file, help="a config.json of an earlier run to start from")
    if "--preset" not in p._option_string_actions:  # the benchmark's --preset also names its data
        g.add_argument("--preset", dest="run_preset", choices=PRESETS.names(), default=None,
                       help="the paper's settings for a kind of data (`python -m dash_core presets` lists them); "
                            "options given explicitly override the preset")
    g.add_argument("--time-scale", dest="time_scale", choices=list(TIME_SCALES),
                   help="time unit of the ODE: " + "; ".join(f"{k}: {v}" for k, v in TIME_SCALES.items()))
    g.add_argument("--split-rule", dest="split_rule", choices=SPLIT_RULES,
                   help="validation without --val-expression: auto (whole trajectories from "
                        f"{SplitConfig.min_trajectories} trajectories on, else time blocks), trajectories, time_blocks "
                        "(contiguous blocks of time from each trajectory) or pairs (random pairs, the reference)")
    g.add_argument("--block-fraction", dest="block_fraction", type=fraction,
                   help=f"time blocks: share of each trajectory's pairs held out (default {SplitConfig.block_fraction})")
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
    g.add_argument("--batching", choices=["auto", "trajectory", "pairs"],
                   help="default auto: pairs for a single time course, else one step per trajectory")
    g.add_argument("--batch-size", type=positive_int, dest="batch_size", help="pairs mode batch size (default 16)")
    g.add_argument("--solver", choices=["rk4", "dopri5", "euler", "faithful", "fast"],
                   help="ODE solver or profile (default rk4; faithful = dopri5 rtol 1e-7/atol 1e-9)")
    g.add_argument("--steps-per-unit", type=float, dest="steps_per_unit",
                   help="fixed-step solvers: at least this many steps per unit time (default 1)")
    g.add_argument("--max-step-rate", type=float, dest="max_step_rate",
                   help="fixed-step solvers: more steps when the largest gene rate x step exceeds this (default 2; "
                        "0 = off, steps-per-unit alone)")
    g.add_argument("--adjoint", action="store_true", help="dopri5 with adjoint back-propagation")
    g.add_argument("--seed", type=int, default=None, help="the run's seed (default 0)")
    g.add_argument("--device", choices=DEVICES, default=None, help="default auto (CUDA when present)")
    add_dataclass_arguments(p, PruningConfig, group_title="pruning strategy options")


def read_run_config(path: str):
    """A :class:`dash_core.experiment.RunConfig` from a ``config.json``; :class:`DashInputError` for any bad file."""
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
    base = RunConfig()
    if getattr(args, "config", None):
        base = read_run_config(args.config)
    base = apply_preset(base, getattr(args, "run_preset", None), strategy=args.strategy or base.strategy)
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
    if getattr(args, "max_step_rate", None) is not None:
        solver = dataclasses.replace(solver, max_step_rate=args.max_step_rate or None)
    if args.adjoint:
        solver = dataclasses.replace(solver, adjoint=True, method="dopri5")
    t = {k: getattr(args, k) for k in ("lambda_data", "max_epochs", "patience", "checkpoint_min_sparsity", "lr",
                                        "val_fraction", "batching", "batch_size", "device")
         if getattr(args, k, None) is not None}
    train = dataclasses.replace(base.train, solver=solver, **t)
    pruning = dataclasses.replace(base.pruning, **dataclass_overrides(args, PruningConfig))
    split = base.split
    if getattr(args, "split_rule", None) is not None:
        split = dataclasses.replace(split, rule=args.split_rule)
    if getattr(args, "block_fraction", None) is not None:
        split = dataclasses.replace(split, block_fraction=args.block_fraction)
    split.validate()
    cfg = RunConfig(model=model, train=train, strategy=args.strategy or base.strategy, pruning=pruning,
                    seed=base.seed if args.seed is None else args.seed, split=split,
                    time_scale=getattr(args, "time_scale", None) or base.time_scale)
    cfg.train.validate()
    return cfg


class ProgressBar:
    """tqdm progress bar on stderr fed by :class:`dash_core.train.ProgressEvent`."""

    def __init__(self, total: int, desc: str = "training", disable: bool = False):
        self.bar = tqdm(total=total, desc=desc, file=sys.stderr, unit="epoch", disable=disable, dynamic_ncols=True)

    def __call__(self, ev) -> None:
        self.bar.total = ev.max_epochs
        self.bar.n = ev.epoch
        self.bar.set_postfix(val=f"{ev.val_mse:.2e}", best=f"{ev.best_val_mse:.2e}", sparsity=f"{ev.sparsity:.3f}",
                             phase=ev.phase, refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


# -- executors ---------------------------------------------------------------------------
def add_executor_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--executor``, ``--workers``, ``--ray-address``, ``--gpus-per-job`` and ``--stack-size`` to ``parser``.

    Read them back with :func:`executor_config_from_args`.
    """
    group = parser.add_argument_group("execution", "How the independent training jobs are run.")
    group.add_argument(
        "--executor",
        choices=EXECUTORS.names(),
        default="local",
        help="local: this machine's processes; ray: a local Ray or a Ray cluster (default: local).",
    )
    group.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="K",
        help="local: number of worker processes, one torch thread each (default: one per CPU core for sweep, "
        "benchmark and searches; 1, i.e. this process, elsewhere); ray: maximum jobs in flight (default: cluster CPUs).",
    )
    group.add_argument(
        "--ray-address",
        default=None,
        metavar="ADDRESS",
        help="address of a running Ray cluster ('auto', 'ray://head:10001'); default: start a local Ray.",
    )
    group.add_argument(
        "--gpus-per-job",
        type=float,
        default=0.0,
        metavar="G",
        help="ray: GPUs reserved per job, may be fractional such as 0.25 (default: 0).",
    )
    group.add_argument(
        "--stack-size",
        type=int,
        default=None,
        metavar="K",
        help="training runs per job, trained together as one stacked model (same answers, batched kernels); "
        "default: automatic from the available memory, with at least one job per worker; 1: one run per job.",
    )


def _workers_or_default(args: argparse.Namespace, local_workers: int) -> int | None:
    workers = getattr(args, "workers", None)
    if workers is None and (getattr(args, "executor", "local") or "local") == "local":
        return local_workers
    return workers


def executor_config_from_args(args: argparse.Namespace, *, local_workers: int = 1) -> ExecutorConfig:
    """Build and validate an :class:`ExecutorConfig` from :func:`add_executor_arguments`' options.

    ``local_workers`` is the local executor's worker count when ``--workers`` is not given.

    Raises
    ------
    DashInputError
        ``--workers`` below 1, negative ``--gpus-per-job``, ``--ray-address``
        without ``--executor ray``, or ``--executor ray`` without ray installed.
    """
    return checked_executor_config(kind=getattr(args, "executor", "local") or "local",
                                   workers=_workers_or_default(args, local_workers),
                                   ray_address=getattr(args, "ray_address", None) or None,
                                   gpus_per_job=getattr(args, "gpus_per_job", 0.0),
                                   stack_size=getattr(args, "stack_size", None))


# -- studies -----------------------------------------------------------------------------
def dataset_spec_from_args(args: argparse.Namespace, *, genes_attr: str = "genes") -> DatasetSpec:
    """:class:`DatasetSpec` of the input-file options (:func:`add_data_arguments`), paths made absolute."""
    return DatasetSpec.from_files(args.expression, prior=getattr(args, "prior", None),
                                  ppi=getattr(args, "ppi", None), truth=getattr(args, "truth", None),
                                  genes=getattr(args, genes_attr, None),
                                  test_expression=getattr(args, "test_expression", None),
                                  minmax_scale=bool(getattr(args, "minmax_scale", False)),
                                  validation_expression=getattr(args, "val_expression", None),
                                  h5ad=dataclasses.asdict(h5ad_options_from_args(args)))


def run_summary_lines(result) -> list[str]:
    """The lines every run prints after its metrics: model vs baselines, and the did-not-learn warning."""
    m, d = result.metrics, result.details
    lines = []

    def pair(label, model, base, base_label):
        if model is not None and base is not None:
            lines.append(f"{label}: model {model:.4g} | {base_label} {base:.4g}")

    pair("validation MSE", m.get("val_mse"), m.get("val_mse_persistence"), '"no change"')
    pair("test MSE", m.get("test_mse"), m.get("test_mse_persistence"), '"no change"')
    pair("AUROC", m.get("auroc"), m.get("prior_auroc"), "prior alone")
    pair("AUPRC", m.get("auprc"), m.get("prior_auprc"), "prior alone")
    if d.get("auroc_gs_regulators") is not None:
        pair(f"AUROC over the {d.get('gs_regulators')} gold-standard regulators", d.get("auroc_gs_regulators"),
             d.get("prior_auroc_gs_regulators"), "prior alone")
    if d.get("validation_split"):
        lines.append(f"validation: {d['validation_split']}; {d.get('time_note', '')}")
    if m.get("did_not_learn"):
        lines.append("WARNING: this model did not learn to predict: " + "; ".join(d.get("verdict_reasons", [])) + ". "
                     + d.get("verdict_advice", ""))
    return lines


def duration(seconds: float | None) -> str:
    """``"1h02m"``, ``"3m05s"``, ``"42s"`` (``"?"`` when unknown)."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


def progress_printer(label: str) -> Callable[[dict[str, Any], PointProgress], None]:
    """``on_point`` callback of a study printing one line per finished run to stderr."""
    def show(row: dict[str, Any], p: PointProgress) -> None:
        if row.get("status") == "ok":
            bits = [f"{k} {row[k]:.4g}" for k in ("val_mse", "sparsity", "balanced_accuracy")
                    if isinstance(row.get(k), (int, float)) and not is_missing(row.get(k))]
            what = ", ".join(bits)
        else:
            what = "FAILED: " + str(row.get("error", "")).splitlines()[0]
        resumed = f" ({p.resumed} resumed)" if p.resumed else ""
        eprint(f"[{label}] {p.done}/{p.total} done{resumed} | {row['key']}: {what} | elapsed "
               f"{duration(p.elapsed_s)}, ETA {duration(p.eta_s)}")

    return show
