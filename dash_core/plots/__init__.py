"""Figure builders (plotly figures, pyvis HTML): pure functions, testable without Streamlit.

:mod:`dash_core.plots.grn` holds the network, training and sparsity-accuracy
figures; other modules (e.g. ``dash_core.plots.pathways``) add their own
figures next to it and are imported directly.
"""

from dash_core.plots.grn import (
    ACTIVATION_COLOR,
    FP_COLOR,
    REPRESSION_COLOR,
    TP_COLOR,
    compare_curves_figure,
    fitted_trajectories_figure,
    lambda_heatmap_figure,
    lambda_mixing_figure,
    network_heatmaps_figure,
    network_html,
    path_curves_figure,
    plane_metric,
    sparsity_accuracy_figure,
    strip_remote_resources,
    training_curves_figure,
    trajectories_figure,
)

__all__ = [
    "ACTIVATION_COLOR",
    "FP_COLOR",
    "REPRESSION_COLOR",
    "TP_COLOR",
    "compare_curves_figure",
    "fitted_trajectories_figure",
    "lambda_heatmap_figure",
    "lambda_mixing_figure",
    "network_heatmaps_figure",
    "network_html",
    "path_curves_figure",
    "plane_metric",
    "sparsity_accuracy_figure",
    "strip_remote_resources",
    "training_curves_figure",
    "trajectories_figure",
]
