"""Every registered strategy has a plain name and names only PruningConfig options it can read."""

from dash_core.pruning import STRATEGIES, PruningConfig
from dash_core.pruning.display import STRATEGY_DISPLAY, strategy_display, strategy_label


def test_every_strategy_has_a_plain_name_and_real_options():
    assert set(STRATEGIES.names()) == set(STRATEGY_DISPLAY)
    fields = set(PruningConfig.__dataclass_fields__)
    for name, entry in STRATEGY_DISPLAY.items():
        assert set(entry.options) <= fields, name
        assert entry.label and "_" not in entry.label
        assert entry.uses_lambda == ("lambda_ppi" in entry.options)
    assert strategy_label("dash").startswith("DASH") and not strategy_display("imp").uses_lambda
    assert set(strategy_display("plugin_x").options) == fields  # unknown: show everything
