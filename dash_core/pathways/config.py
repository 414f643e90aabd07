"""Settings of the pathway analysis (influence scores A.6, tests G.1, gseapy G.2) and its table columns."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from dash_core.config import config_from_dict, config_to_dict
from dash_core.integrate import SolverConfig
from dash_core.io.errors import DashInputError

#: ``progress(fraction in [0, 1], message)``.
ProgressFn = Callable[[float, str], None]

PATHWAY_COLUMNS = ["pathway", "size", "n_in_data", "score", "z", "p_perm", "p_corrected", "p_norm", "p_bonferroni",
                   "q_bh", "significant", "genes", "p_perm_bonferroni", "p_corrected_bonferroni", "null_mean",
                   "null_sd"]
GSEA_COLUMNS = ["pathway", "es", "nes", "p_nominal", "q_fdr", "p_fwer", "tag_fraction", "gene_fraction",
                "lead_genes", "positive"]
ENRICH_COLUMNS = ["pathway", "overlap", "n_overlap", "p", "q_bh", "odds_ratio", "combined_score", "genes"]


class AnalysisCancelled(RuntimeError):
    """Raised when ``should_stop()`` returns True during a pathway analysis."""


# ----------------------------------------------------------------------------- configs
@dataclass(frozen=True)
class InfluenceConfig:
    """Settings of the gene influence scores (methods A.6).

    Attributes
    ----------
    n_samples
        N_s random start states (200 in DASH, 60 in PHOENIX).
    start
        Start distribution: ``"centered"`` = U(-1/2, 1/2) per gene (the
        reference's choice, the default), ``"unit"`` = U(0, 1) (the data range).
        **Uncertain** in the spec: U(-1/2, 1/2) lies outside the [0, 1] range the
        model was trained on; U(0, 1) is offered for that reason.
    n_taus, tau_step
        Output times ``tau = 0, tau_step, ..., (n_taus - 1) * tau_step`` (0, 0.1, ..., 0.9).
        The score averages over the times after 0.
    solver
        ODE solver; None = the solver the model was trained with (or the default rk4).
    max_batch_rows
        Rows (perturbed genes x N_s) stacked in one solver call; None = 8192 on
        CPU, 65536 on CUDA. Only memory and speed depend on it, not the result.
    seed
        Seed of the starts; gene gamma's fresh values use the seed pair (seed, gamma),
        so scores do not depend on the batching.
    device
        ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
    """

    n_samples: int = 200
    start: Literal["centered", "unit"] = "centered"
    n_taus: int = 10
    tau_step: float = 0.1
    solver: SolverConfig | None = None
    max_batch_rows: int | None = None
    seed: int = 0
    device: str = "auto"

    def validate(self) -> None:
        if self.n_samples < 1:
            raise DashInputError(f"n_samples must be at least 1 (got {self.n_samples}).")
        if self.start not in ("centered", "unit"):
            raise DashInputError(f"Unknown start distribution {self.start!r}; choose 'centered' (U(-1/2,1/2)) "
                                 "or 'unit' (U(0,1)).")
        if self.n_taus < 2 or self.tau_step <= 0:
            raise DashInputError("Influence scores need at least 2 output times (n_taus >= 2) and tau_step > 0.")
        if self.max_batch_rows is not None and self.max_batch_rows < 1:
            raise DashInputError("max_batch_rows must be at least 1.")


@dataclass(frozen=True)
class GseaConfig:
    """Settings of the gseapy analyses (methods G.2); local gene sets only.

    Attributes
    ----------
    permutation_num
        Gene-set permutations of preranked GSEA (>= 1000 recommended).
    min_size, max_size
        Sets with fewer / more genes in the ranking are skipped by gseapy.
        ``min_size=None`` = automatic: 10, lowered to the smallest set's overlap
        with the data (at least 2) so that small collections (like the demo's
        regulons) are tested at all.
    ranking
        ``"log"``: rank genes by log(influence) (the scores are heavy-tailed and >= 0);
        ``"rank"``: by their rank. Both give the same order; they differ in the weights.
    weight
        GSEA weighting exponent of the ranking metric.
    threads
        gseapy worker threads.
    seed
        gseapy's seed.
    """

    permutation_num: int = 1000
    min_size: int | None = None
    max_size: int = 500
    ranking: Literal["log", "rank"] = "log"
    weight: float = 1.0
    threads: int = 1
    seed: int = 0

    def effective_min_size(self, overlaps: Iterable[int]) -> int:
        if self.min_size is not None:
            return int(self.min_size)
        positive = [int(k) for k in overlaps if k > 0]
        return max(2, min([10, *positive])) if positive else 10


@dataclass(frozen=True)
class PathwayConfig:
    """Settings of a complete pathway analysis (methods A.6, G).

    Attributes
    ----------
    influence
        :class:`InfluenceConfig`.
    n_permutations
        B of the permutation test (500 as in the reference; >= 20 m for an exact
        empirical test over m pathways).
    alpha
        Significance level of the Bonferroni-corrected headline p-value.
    min_set_size
        Pathways with fewer genes in the universe are not tested.
    top_k
        Number of top regulators / targets for over-representation.
    run_gsea
        Also run gseapy (preranked GSEA and over-representation).
    gsea
        :class:`GseaConfig`.
    seed
        Seed of the permutations.
    """

    influence: InfluenceConfig = field(default_factory=InfluenceConfig)
    n_permutations: int = 500
    alpha: float = 0.05
    min_set_size: int = 1
    top_k: int = 10
    run_gsea: bool = True
    gsea: GseaConfig = field(default_factory=GseaConfig)
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return config_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PathwayConfig:
        return config_from_dict(cls, data)
