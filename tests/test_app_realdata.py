"""The real-data demo (yeast cell cycle) is one click from Home and comes with its preset (issue 11, item 6)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from apptest_support import errors  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def test_yeast_demo_one_click_with_preset(tmp_path, monkeypatch):
    monkeypatch.setenv("DASH_STUDIO_HOME", str(tmp_path / "home"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.button(key="load_yeast_demo").click().run()
    assert not errors(at)
    assert any("Active dataset: **yeast cell cycle** — 500 genes, 1 trajectories" in s.value for s in at.success)
    at.switch_page("pages/train.py").run()
    assert not errors(at)
    preset = next(w for w in at.selectbox if w.label == "Preset")
    assert preset.value == "yeast"
    assert at.number_input(key="tr_hidden_phoenix").value == 120           # the preset's settings fill the controls
    assert at.slider(key="tr_lppi").value == 0.75 and at.selectbox(key="tr_batching").value == "pairs"
    at.switch_page("pages/data.py").run()
    assert not errors(at) and at.button(key="data_load_yeast").label == "Load yeast cell-cycle data"


def test_yeast_demo_files_are_the_published_ones():
    real = ROOT.parent / "shared" / "data" / "real" / "yeast_cellcycle_500"
    if not real.exists():
        pytest.skip("../shared/data/real is not available")
    for f in real.glob("*.csv"):
        assert (ROOT / "assets" / "yeast_demo" / f.name).read_bytes() == f.read_bytes(), f.name
    assert "MIT License" in (ROOT / "assets" / "yeast_demo" / "LICENSE").read_text()
