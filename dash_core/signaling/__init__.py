"""LEMBAS-style biology-informed recurrent signaling networks and the self-pruning study.

Modules
-------
data
    PKN / ligand / TF readers and validation (:func:`load_signaling_data`).
config
    :class:`SignalingConfig` and the ``package`` / ``lembas_cv`` / ``self_prune`` / ``self_prune_hc`` presets.
model
    :class:`SignalingModel` (``W[target, source]``: row = target, column = source), MML activation.
stack
    The training engine: K models of one network in one pass (:class:`ModelStack`), loss (H.7),
    schedule and loop (H.8).
train
    One model end to end (:func:`fit`: split, build, train as a stack of one), checkpoints.
cv
    Leave-one-condition-out / K-fold cross-validation (:func:`run_cv`).
synthetic
    Ground-truth models, simulated data, the demo network.
selfprune
    Spurious-edge injection, readouts R1-R4, the study runner (:func:`run_selfprune`).
plots
    Plotly figure builders.
cli
    The ``signaling`` command.
"""

from dash_core.signaling.config import SignalingConfig, package_config, preset, self_prune_config
from dash_core.signaling.cv import CVConfig, run_cv
from dash_core.signaling.data import (
    PKN,
    SignalingData,
    build_pkn,
    load_signaling_data,
    prepare_data,
    read_condition_table,
    read_pkn,
)
from dash_core.signaling.model import SignalingModel, mml_activation, mml_derivative, spectral_radius
from dash_core.signaling.stack import ModelStack, train_stack
from dash_core.signaling.train import FitResult, fit, load_checkpoint, save_checkpoint

__all__ = [
    "CVConfig",
    "ModelStack",
    "PKN",
    "FitResult",
    "SignalingConfig",
    "SignalingData",
    "SignalingModel",
    "build_pkn",
    "fit",
    "load_checkpoint",
    "load_signaling_data",
    "mml_activation",
    "mml_derivative",
    "package_config",
    "preset",
    "prepare_data",
    "read_condition_table",
    "read_pkn",
    "run_cv",
    "save_checkpoint",
    "self_prune_config",
    "spectral_radius",
    "train_stack",
]
