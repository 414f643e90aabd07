"""`streamlit run app.py -- --demo` (the README's command) opens with the demo dataset active."""

from __future__ import annotations

import sys
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def test_demo_flag_loads_demo(tmp_path, monkeypatch):
    monkeypatch.setenv("DASH_STUDIO_HOME", str(tmp_path))
    monkeypatch.setattr(sys, "argv", ["app.py", "--demo"])
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    assert not at.exception
    assert any("demo" in m.value for m in at.markdown)
    assert list(tmp_path.glob("workspaces/*/datasets/*/dataset.json"))


def test_without_flag_no_dataset(tmp_path, monkeypatch):
    monkeypatch.setenv("DASH_STUDIO_HOME", str(tmp_path))
    monkeypatch.setattr(sys, "argv", ["app.py"])
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    assert not at.exception
    assert not list(tmp_path.glob("workspaces/*/datasets/*/dataset.json"))
