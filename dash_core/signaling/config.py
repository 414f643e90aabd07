"""Typed configuration of LEMBAS signaling models (methods.md H.2-H.8, I.2).

The presets live in the :data:`PRESETS` registry (name, one-line description, citation):
:func:`package_config` (the LEMBAS package / tutorial defaults, loss variant ``package``),
:func:`lembas_cv_config` (LEMBAS's macrophage cross-validation script), :func:`self_prune_config`
(the self-pruning study's low-coverage and synthetic settings, I.2), :func:`self_prune_hc_config`
(its high-coverage ligand-screen settings) and :func:`lembas_synthetic_config` (minibatch
settings chosen by validation on LEMBAS's synthetic data size). Each returns a frozen
:class:`SignalingConfig`; change fields with ``dataclasses.replace``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

from dash_core.io.errors import DashInputError
from dash_core.registry import Registry

LossVariant = Literal["package", "self_prune"]
Device = Literal["auto", "cpu", "cuda"]
Backend = Literal["auto", "dense", "sparse"]
Gradient = Literal["bptt", "implicit"]
SpectralGradient = Literal["eigenvector", "iterations"]
Checkpoint = Literal["last", "best_validation"]


#: What ``test_size`` may be (the config check and the ``--test-size`` option say the same).
HELD_OUT_SIZE_TEXT = "a fraction in [0, 1) or a whole number of conditions"


def is_held_out_size(value: float) -> bool:
    """Whether ``value`` is a valid ``test_size``: a fraction in [0, 1) or a whole number >= 1 of conditions."""
    return value >= 0 and (value < 1 or float(value).is_integer())


@dataclass(frozen=True)
class SignalingConfig:
    """All settings of one signaling model and its training run.

    Defaults are the LEMBAS package values (methods.md H); see
    :func:`self_prune_config` for the self-pruning study (I.2).

    Attributes
    ----------
    loss_variant
        ``package`` (H.7 package/tutorial loss: spectral term with exp(kappa(rho-rho*)),
        uniformity term, output bias) or ``self_prune`` (normalised spectral term,
        no uniformity term, no output bias).
    epochs
        Total epochs E_tot.
    lr_max, lr_start, lr_end, peak_fraction
        Cosine schedule (H.8): lr_start -> lr_max at epoch peak_fraction*E_tot,
        then down to lr_end at 0.95*E_tot.
    batch_size
        Conditions per step (shuffled); None = full batch.
    test_size
        Held-out conditions: a fraction in (0, 1) (at least one condition) or a count >= 1.
    max_steps, tol, target_steps, leak
        Recurrence: at most T_max steps, stop when max|dX| < tol (checked every 10
        steps after step 20); rho* = tol**(1/target_steps); MML leak.
    prescale_rho
        Spectral prescale target of the initial W (H.6); None skips the prescale.
    lambda_sign, lambda_ligand, lambda_l2, lambda_spectral, lambda_uniform
        Loss weights (H.7).
    lambda_l2_projection
        L2 weight of the input and output projections (``||w_in - A_in||^2 + ||w_out - A_out||^2``
        and the output bias); None = ``lambda_l2`` (the high-coverage study uses 1e-4 here).
    spectral_kappa, spectral_subset, spectral_probes, spectral_power_steps
        kappa, n_sub, P and n_pow of the spectral-radius estimate (H.7).
    spectral_target
        rho* of the package spectral term; None = ``tol**(1/target_steps)`` (H.7). LEMBAS's
        macrophage cross-validation script used ``0.01**(1/100) = 0.955``.
    spectral_gradient
        ``eigenvector`` (default): power iterations without a graph and the eigenvalue
        derivative ``u_t d_t v_s / <u, v>`` from the left and right vectors (the CPU original's
        gradient; about 3x cheaper); ``iterations``: back-propagation through all power
        iterations (H.7 as written).
    spectral_warm_steps
        0: every estimate starts from fresh Gaussian probes and runs ``spectral_power_steps``
        iterations (H.7). k > 0 (eigenvector gradient only): each model keeps the last right and
        left vectors of every condition, and a condition's later estimates restart from them
        for k iterations (package default 5 of 50: the iteration count accumulates over the
        steps instead of restarting, for a tenth of the work).
    input_weight_init, train_input_weights
        A_in = 3 per ligand; frozen in all published runs.
    output_weight_init, output_bias
        A_out = 1.2 per TF; learnable output bias (package variant only).
    grad_noise, grad_noise_lr_scaled, grad_clip
        Gaussian gradient noise s.d. (multiplied by lr_t if lr_scaled) and optional
        gradient-norm clipping.
    input_noise, input_noise_lr_scaled
        Gaussian noise on all node inputs U during training (s.d., multiplied by lr_t
        if lr_scaled): package 10*lr_t, self-pruning none.
    adam_reset_every
        Reset Adam moments and step count every this many epochs (0 = never).
    gradient
        ``bptt`` (back-propagation through the unrolled recurrence) or ``implicit``
        (adjoint fixed-point iteration at the steady state, the CPU original).
    backend
        ``dense`` (one (B,N)x(N,N) matmul per step, W masked), ``sparse`` (gather/scatter
        over the edge list; the same model, faster on CPU), ``auto`` (sparse on CPU,
        dense on CUDA).
    device
        ``auto`` uses CUDA when available.
    seed
        Seeds initialisation, split, noise and batching.
    eval_every
        Evaluate the test set (and report progress) every this many epochs.
    validation_size
        Training conditions held out as a validation set (a count; 0 = none). When > 0 the
        model is evaluated on them every ``eval_every`` epochs (history ``val_pearson``), e.g. to
        compare settings without touching the test conditions.
    checkpoint
        ``last`` (the parameters after the last epoch) or ``best_validation`` (the parameters
        with the best validation Pearson r; needs ``validation_size`` > 0; the test set is never
        used to choose).
    """

    loss_variant: LossVariant = "package"
    epochs: int = 5000
    lr_max: float = 2e-3
    lr_start: float = 2e-4
    lr_end: float = 1e-6
    peak_fraction: float = 0.2
    batch_size: int | None = 8
    test_size: float = 0.2
    max_steps: int = 150
    tol: float = 1e-5
    target_steps: int = 100
    leak: float = 0.01
    prescale_rho: float | None = 0.8
    lambda_sign: float = 0.1
    lambda_ligand: float = 1e-5
    lambda_l2: float = 1e-6
    lambda_spectral: float = 1e-5
    lambda_uniform: float = 1e-4
    lambda_l2_projection: float | None = None
    spectral_kappa: float = 20.0
    spectral_subset: int = 10
    spectral_probes: int = 5
    spectral_power_steps: int = 50
    spectral_gradient: SpectralGradient = "eigenvector"
    spectral_warm_steps: int = 5
    input_weight_init: float = 3.0
    train_input_weights: bool = False
    output_weight_init: float = 1.2
    output_bias: bool = True
    grad_noise: float = 1e-9
    grad_noise_lr_scaled: bool = False
    grad_clip: float | None = None
    input_noise: float = 10.0
    input_noise_lr_scaled: bool = True
    adam_reset_every: int = 200
    gradient: Gradient = "bptt"
    backend: Backend = "auto"
    device: Device = "auto"
    seed: int = 0
    eval_every: int = 50
    spectral_target: float | None = None
    validation_size: int = 0
    checkpoint: Checkpoint = "last"

    def __post_init__(self) -> None:
        problems = []
        if self.loss_variant not in ("package", "self_prune"):
            problems.append(f"loss_variant must be 'package' or 'self_prune', not {self.loss_variant!r}")
        if self.epochs < 1:
            problems.append("epochs must be >= 1")
        if not 0 <= self.peak_fraction <= 0.95:
            problems.append("peak_fraction must lie in [0, 0.95]")
        if self.batch_size is not None and self.batch_size < 1:
            problems.append("batch_size must be >= 1 (or None for full batch)")
        if not is_held_out_size(self.test_size):
            problems.append(f"test_size must be {HELD_OUT_SIZE_TEXT}")
        if self.max_steps < 1 or self.tol <= 0 or self.target_steps < 1:
            problems.append("max_steps and target_steps must be >= 1 and tol > 0")
        if self.prescale_rho is not None and self.prescale_rho <= 0:
            problems.append("prescale_rho must be > 0")
        for name in ("lambda_sign", "lambda_ligand", "lambda_l2", "lambda_spectral", "lambda_uniform", "grad_noise", "input_noise"):
            if getattr(self, name) < 0 or not math.isfinite(getattr(self, name)):
                problems.append(f"{name} must be a finite number >= 0")
        if self.lambda_l2_projection is not None and not (math.isfinite(self.lambda_l2_projection) and self.lambda_l2_projection >= 0):
            problems.append("lambda_l2_projection must be a finite number >= 0 (or None)")
        if min(self.spectral_subset, self.spectral_probes, self.spectral_power_steps) < 1:
            problems.append("spectral_subset, spectral_probes and spectral_power_steps must be >= 1")
        if self.spectral_gradient not in ("eigenvector", "iterations"):
            problems.append("spectral_gradient must be 'eigenvector' or 'iterations'")
        if self.spectral_warm_steps < 0:
            problems.append("spectral_warm_steps must be >= 0")
        if self.gradient not in ("bptt", "implicit"):
            problems.append("gradient must be 'bptt' or 'implicit'")
        if self.backend not in ("auto", "dense", "sparse"):
            problems.append("backend must be 'auto', 'dense' or 'sparse'")
        if self.device not in ("auto", "cpu", "cuda"):
            problems.append("device must be 'auto', 'cpu' or 'cuda'")
        if self.spectral_target is not None and not 0 < self.spectral_target < 1:
            problems.append("spectral_target must lie in (0, 1) (or None)")
        if self.validation_size < 0 or int(self.validation_size) != self.validation_size:
            problems.append("validation_size must be a whole number >= 0")
        if self.checkpoint not in ("last", "best_validation"):
            problems.append("checkpoint must be 'last' or 'best_validation'")
        elif self.checkpoint == "best_validation" and self.validation_size < 1:
            problems.append("checkpoint 'best_validation' needs validation_size >= 1")
        if self.eval_every < 1:
            problems.append("eval_every must be >= 1")
        if problems:
            raise DashInputError("Invalid signaling settings: " + "; ".join(problems) + ".")

    @property
    def rho_star(self) -> float:
        """Target spectral radius rho*: ``spectral_target``, else tol**(1/target_steps) (0.891 for 1e-5 / 100)."""
        if self.spectral_target is not None:
            return float(self.spectral_target)
        return float(self.tol ** (1.0 / self.target_steps))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (inverse: :meth:`from_dict`)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SignalingConfig:
        """Re-create a config; unknown keys are a :class:`DashInputError`."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise DashInputError(f"Unknown signaling setting(s): {', '.join(unknown)}.")
        return cls(**values)


def package_config(**overrides: Any) -> SignalingConfig:
    """LEMBAS package / tutorial settings (H.7 package loss, H.8 package schedule)."""
    return replace(SignalingConfig(), **overrides)


def self_prune_config(**overrides: Any) -> SignalingConfig:
    """Self-pruning study settings for the low-coverage (macrophage) and synthetic data (I.2).

    5,000 epochs, full batch, cosine 1e-5 -> 1e-3 -> 1e-5 peaking at 10 %, T_max =
    target_steps = 150, prescale 0.9, no input noise, gradient noise 1e-9, L2 1e-6 (the
    study's low level; set ``lambda_l2`` for medium 1e-5 / high 1e-4), sign 0.1, ligand-bias
    1e-5, self-pruning spectral term with lambda 1e-5, n_sub 2, P 2, n_pow 5, no uniform
    term, no output bias, Adam reset every 200 epochs, 1 of 23 (5 of 100) conditions held out.
    """
    base = SignalingConfig(
        loss_variant="self_prune",
        epochs=5000,
        lr_max=1e-3,
        lr_start=1e-5,
        lr_end=1e-5,
        peak_fraction=0.1,
        batch_size=None,
        test_size=0.05,
        max_steps=150,
        tol=1e-5,
        target_steps=150,
        leak=0.01,
        prescale_rho=0.9,
        lambda_sign=0.1,
        lambda_ligand=1e-5,
        lambda_l2=1e-6,
        lambda_spectral=1e-5,
        lambda_uniform=0.0,
        spectral_subset=2,
        spectral_probes=2,
        spectral_power_steps=5,
        spectral_warm_steps=0,
        output_bias=False,
        grad_noise=1e-9,
        grad_noise_lr_scaled=False,
        input_noise=0.0,
        input_noise_lr_scaled=False,
        adam_reset_every=200,
    )
    return replace(base, **overrides)


def self_prune_hc_config(**overrides: Any) -> SignalingConfig:
    """Self-pruning study settings for the high-coverage ligand screen (I.2, HC column).

    As :func:`self_prune_config` except: 16,000 epochs, 5 conditions held out, input noise
    0.01 N(0,1) on all nodes, gradient noise lr_t * 0.01 and gradient-norm clipping at 1,
    ligand-bias penalty 1e-4, L2 1e-4 on the projections (``lambda_l2`` stays the study's
    level on W and b), spectral term lambda 1e-3 with n_sub 2, P 5, n_pow 5.
    """
    base = self_prune_config(
        epochs=16000,
        test_size=5,
        input_noise=0.01,
        input_noise_lr_scaled=False,
        grad_noise=0.01,
        grad_noise_lr_scaled=True,
        grad_clip=1.0,
        lambda_ligand=1e-4,
        lambda_l2_projection=1e-4,
        lambda_spectral=1e-3,
        spectral_subset=2,
        spectral_probes=5,
        spectral_power_steps=5,
    )
    return replace(base, **overrides)


def lembas_cv_config(**overrides: Any) -> SignalingConfig:
    """The settings of LEMBAS's macrophage leave-one-out script (Nilsson et al. 2022, ``macrophageNetCrossValidation``).

    As :func:`package_config` except: T_max 100 steps, batches of 5 conditions, spectral term
    lambda 1e-3 with kappa 21 and rho* = 0.01**(1/100) = 0.955, ligand-bias penalty 1e-3,
    lr_end 1e-8, and the implicit (adjoint) gradient of the CPU original. Not reproduced:
    float64 (float32 here), LEMBAS's mean/variance form of the uniformity term (the H.7 form is
    kept), its extra weight term sum 1/(w^2 + 0.5), its tanh clipping of the adjoint, and its
    output projection without a bias (the package's output bias is kept, as measured in the README).
    """
    base = replace(
        SignalingConfig(),
        max_steps=100,
        batch_size=5,
        lambda_spectral=1e-3,
        spectral_kappa=21.0,
        spectral_target=0.01 ** (1 / 100),
        lambda_ligand=1e-3,
        lr_end=1e-8,
        gradient="implicit",
    )
    return replace(base, **overrides)


def lembas_synthetic_config(**overrides: Any) -> SignalingConfig:
    """Minibatch settings for fitting larger synthetic data sets (LEMBAS's data-size screen: 800 training conditions).

    As :func:`self_prune_config` except: batches of 25 conditions, peak learning rate 2e-3 (LEMBAS's own
    peak), 1,000 epochs (32,000 updates on 800 conditions instead of the study's 5,000 full-batch steps).
    Chosen by validation r on the KEGG-derived network (800 training, 100 validation, 1,000 test conditions;
    the README's LEMBAS section): validation r 0.969 against 0.959 (batches of 100, peak 1e-3, 2,000 epochs)
    and the full-batch study settings. Deviation from LEMBAS's screen (batches of 5, 10,000 epochs, peak
    2e-3 at epoch 1,000): 50 x fewer updates, affordable on a CPU.
    """
    base = self_prune_config(batch_size=25, lr_max=2e-3, epochs=1000)
    return replace(base, **overrides)


_NILSSON = ("Nilsson A, Peters JM, Meimetis N, Bryson B, Lauffenburger DA. Artificial neural networks enable "
            "genome-scale simulations of intracellular signaling. Nature Communications 2022")
_NORDENSTORM = ("Nordenstorm O, Baghdassarian H, Lauffenburger DA, Nilsson A. Biologically informed neural network "
                "models are robust to spurious interactions via self-pruning. bioRxiv 2025")

#: Signaling presets: name -> function(**overrides) -> :class:`SignalingConfig`, with description and citation.
PRESETS: Registry[Any] = Registry("preset")
PRESETS.register("package", "LEMBAS package / tutorial defaults: batches of 8, 5,000 epochs, input noise, "
                 "uniformity term, output bias", f"{_NILSSON} (methods H)")(package_config)
PRESETS.register("lembas_cv", "LEMBAS's macrophage cross-validation script: T_max 100, batches of 5, spectral "
                 "λ 1e-3, implicit gradient", f"{_NILSSON}, macrophageNetCrossValidation")(lembas_cv_config)
PRESETS.register("self_prune", "Self-pruning study, low coverage and synthetic: full batch, 5,000 epochs, no "
                 "noise, no uniformity term", f"{_NORDENSTORM} (methods I.2)")(self_prune_config)
PRESETS.register("self_prune_hc", "Self-pruning study, high coverage (ligand screen): 16,000 epochs, input and "
                 "gradient noise, spectral λ 1e-3", f"{_NORDENSTORM} (methods I.2, HC)")(self_prune_hc_config)
PRESETS.register("lembas_synthetic", "Larger data sets (hundreds of conditions): self-pruning loss, batches of 25, "
                 "peak lr 2e-3, 1,000 epochs; chosen by validation on 800 synthetic conditions",
                 f"settings ours, data size of {_NILSSON} (synthetic screen)")(lembas_synthetic_config)


def preset(name: str, **overrides: Any) -> SignalingConfig:
    """Config from a registered preset name (see :data:`PRESETS`) plus overrides."""
    return PRESETS.get(name).obj(**overrides)
