"""Shared helpers of the AppTest page tests: open the app, collect exceptions, walk widgets."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WIDGETS = ["button", "selectbox", "slider", "number_input", "checkbox", "radio", "multiselect", "text_input",
           "file_uploader", "download_button", "toggle", "select_slider"]


def errors(at) -> list[str]:
    """Messages of the exceptions the last run of the app raised."""
    return [e.value for e in at.exception]


def widgets(at):
    """Every ``(kind, widget)`` of the rendered page, for the kinds in :data:`WIDGETS`."""
    for kind in WIDGETS:
        try:
            yield from ((kind, w) for w in getattr(at, kind))
        except AttributeError:
            yield from ((kind, w) for w in at.get(kind))


def open_app(page: str | None = None):
    """Run ``app.py`` (and switch to ``page``), asserting that nothing raised."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not errors(at)
    if page is not None:
        at.switch_page(page).run()
        assert not errors(at)
    return at


def click_chart_point(at, chart, point: dict):
    """Rerun ``at`` as if the user clicked ``point`` (``x``, ``y``, ``customdata``) of the plotly ``chart`` element
    (one of ``at.get("plotly_chart")``, drawn with ``on_select="rerun"``); returns ``at``."""
    import json

    states = at._tree.get_widget_states()
    state = states.widgets.add()
    state.id = chart.proto.id
    state.string_value = json.dumps({"selection": {"points": [point], "point_indices": [0], "box": [],
                                                   "lasso": []}})
    return at._run(states)
