"""Shared fixtures: tiny seeded simulated datasets."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def tiny_sim():
    """A 20-gene simulated dataset (8 trajectories) with prior, truth and test set."""
    from dash_core.simulate import SimulationConfig, simulate

    return simulate(SimulationConfig.scaled(20, n_trajectories=8, n_test_trajectories=2, seed=3))


@pytest.fixture(scope="session")
def demo_sim():
    """The app's demo preset (about 50 genes)."""
    from dash_core.simulate import SimulationConfig, simulate

    return simulate(SimulationConfig.demo())


@pytest.fixture()
def home(tmp_path, monkeypatch):
    """A fresh DASH Studio home folder (run store, datasets) for app tests."""
    h = tmp_path / "home"
    monkeypatch.setenv("DASH_STUDIO_HOME", str(h))
    # one pinned workspace: runs the tests create directly in the store are the app's runs
    monkeypatch.setenv("DASH_STUDIO_WORKSPACE", "ws-tests-0001")
    return h
