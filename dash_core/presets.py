"""Named run settings from the papers (methods A.4, B.6, B.8): one registry for CLI, sweeps, benchmarks and app.

A preset is a set of changes to :class:`dash_core.experiment.RunConfig`, as dotted
field paths (``"train.lr"``, ``"pruning.lambda_ppi"``, ``"model.hidden"``, ``"time_scale"``).
:func:`apply_preset` applies them on top of a base config; options given
explicitly afterwards (command-line flags, app controls) override them.

``python -m dash_core presets`` lists every preset with its citation and changes.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from dash_core.io.errors import DashInputError
from dash_core.registry import Registry

PHOENIX_PAPER = ("Hossain I, Fanfani V, Fischer J, Quackenbush J, Burkholz R. Biologically informed NeuralODEs for "
                 "genome-wide regulatory dynamics. Genome Biology 2024")
DASH_PAPER = ("Hossain I, Fischer J, Burkholz R, Quackenbush J. Pruning neural network models for gene regulatory "
              "dynamics using data and domain knowledge. NeurIPS 2024")

#: name -> {dotted RunConfig field: value}; registered with a description and citation.
PRESETS: Registry[dict[str, Any]] = Registry("preset")

PRESETS.register(
    "sim350", "SIM350-style simulated data: today's defaults (h 40, lr 1e-3, 200 epochs, early stop 40, "
    "trajectory mode, DASH λ = (0.5, 0.05), pruning 70 % at epoch 3 then 10 % every 10 epochs)",
    f"{DASH_PAPER}, methods A.4 / B.6 / B.8",
)({})

PRESETS.register(
    "breast", "Breast-cancer pseudotime (one trajectory, ~11k genes): h 300, lr 1e-4, 300 epochs without early "
    "stopping, pairs of 16, scheduler patience 2; pruning 90 % at epoch 10, then 10 % every 20 epochs, 5 % after "
    "epoch 220; λ = (0.995, 0.95); |P| as prior (the paper's switch of λ_data from 1 to 0.999 after epoch 5 is not "
    "modelled: λ_data stays the strategy's)",
    f"{DASH_PAPER}, Table 2 caption and released breast script (methods A.4, B.6, B.8)",
)({
    "model.hidden": 300, "train.lr": 1e-4, "train.max_epochs": 300, "train.patience": 0,
    "train.batching": "pairs", "train.batch_size": 16, "train.scheduler_patience": 2,
    "train.scheduler_threshold": 1e-9, "train.prior_abs": True,
    "pruning.first_epoch": 10, "pruning.first_amount": 0.90, "pruning.interval": 20, "pruning.amount": 0.10,
    "pruning.late_epoch": 220, "pruning.late_amount": 0.05,
    "pruning.lambda_ppi": 0.995, "pruning.lambda_motif": 0.95,
})

PRESETS.register(
    "yeast", "Yeast cell cycle (one 24-point series + a second series for validation): PHOENIX's yeast settings "
    "(h 120, lr 5e-4, 200 epochs, pairs of 4, min_lr 0, λ_data 0.8 for unpruned PHOENIX) and DASH λ = (0.75, 0.75); "
    "|P| as prior",
    f"{PHOENIX_PAPER} (yeast settings, methods A.4); {DASH_PAPER}, Table 2 caption (λ)",
)({
    "model.hidden": 120, "train.lr": 5e-4, "train.max_epochs": 200, "train.batching": "pairs", "train.batch_size": 4,
    "train.min_lr": 0.0, "train.prior_abs": True,
    "pruning.lambda_ppi": 0.75, "pruning.lambda_motif": 0.75,
})

PRESETS.register(
    "hema", "Bone-marrow lineages (2 training + 3 test pseudotime trajectories): h 50, lr 1e-2, 240 epochs without "
    "early stopping, trajectory mode, scheduler threshold 1e-7, λ = (0.8, 0.8); pseudotime read by its order "
    "(time scale index; measured: the given DPT gaps leave PHOENIX at 1.00x persistence)",
    f"{DASH_PAPER}, Table 9 caption (λ) and methods A.4 (hema settings)",
)({
    "model.hidden": 50, "train.lr": 1e-2, "train.max_epochs": 240, "train.patience": 0,
    "train.batching": "trajectory", "train.scheduler_threshold": 1e-7, "train.prior_abs": True,
    "pruning.lambda_ppi": 0.8, "pruning.lambda_motif": 0.8, "time_scale": "index",
})

#: λ_data of unpruned PHOENIX (strategy ``none``) per preset, when the paper gives one (methods A.3).
PHOENIX_LAMBDA_DATA = {"yeast": 0.8}


def preset_settings(name: str) -> dict[str, Any]:
    """The ``{dotted field: value}`` changes of preset ``name`` (raises a listing error for unknown names)."""
    return dict(PRESETS.get(name).obj)


def _replace_path(obj: Any, path: list[str], value: Any) -> Any:
    if not dataclasses.is_dataclass(obj):
        raise DashInputError(f"Preset setting {'.'.join(path)!r} does not name a config field.")
    names = {f.name for f in dataclasses.fields(obj)}
    if path[0] not in names:
        raise DashInputError(f"Preset setting {path[0]!r} is not a field of {type(obj).__name__}.")
    if len(path) == 1:
        return dataclasses.replace(obj, **{path[0]: value})
    return dataclasses.replace(obj, **{path[0]: _replace_path(getattr(obj, path[0]), path[1:], value)})


def apply_preset(config: Any, name: str | None, *, strategy: str | None = None) -> Any:
    """``config`` (a :class:`~dash_core.experiment.RunConfig`) with preset ``name``'s settings.

    ``strategy`` (default: ``config.strategy``) decides whether PHOENIX's own λ_data of the preset applies
    (unpruned ``none`` only). ``None`` or ``""`` returns ``config`` unchanged.
    """
    if not name:
        return config
    out = config
    for key, value in preset_settings(name).items():
        out = _replace_path(out, key.split("."), value)
    if (strategy or config.strategy) == "none" and name in PHOENIX_LAMBDA_DATA:
        out = _replace_path(out, ["train", "lambda_data"], PHOENIX_LAMBDA_DATA[name])
    return out


def describe_presets() -> list[dict[str, Any]]:
    """One dict per preset: ``name``, ``description``, ``citation``, ``settings`` (for listings and the app)."""
    return [{"name": e.name, "description": e.description, "citation": e.citation,
             "settings": {**e.obj, **({"train.lambda_data (strategy none)": PHOENIX_LAMBDA_DATA[e.name]}
                                      if e.name in PHOENIX_LAMBDA_DATA else {})}}
            for e in PRESETS.entries()]


__all__ = ["PRESETS", "apply_preset", "describe_presets", "preset_settings"]
