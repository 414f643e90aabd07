"""AnnData input: cells binned along an obs time column into time series (issue 11, item 5)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from scipy import sparse

from dash_core.io import H5adOptions, load_dataset, read_expression
from dash_core.io.errors import DashInputError

anndata = pytest.importorskip("anndata")
pd = pytest.importorskip("pandas")


@pytest.fixture()
def h5ad_file(tmp_path):
    rng = np.random.default_rng(0)
    n_cells = 60
    t = rng.random(n_cells)
    lineage = np.where(np.arange(n_cells) % 2 == 0, "B", "ery")
    # gene A rises with time, gene B is 2 everywhere; a layer holds 10x the values
    X = np.c_[t, np.full(n_cells, 2.0)]
    obs = pd.DataFrame({"dpt": t, "lineage": lineage}, index=[f"c{i}" for i in range(n_cells)])
    ad = anndata.AnnData(X=sparse.csr_matrix(X), obs=obs, var=pd.DataFrame(index=["A", "B"]),
                         layers={"x10": X * 10})
    path = tmp_path / "cells.h5ad"
    ad.write_h5ad(path)
    return path, t, lineage


def test_bins_cells_per_trajectory_mean_values_and_times(h5ad_file):
    path, t, lineage = h5ad_file
    expr, report = read_expression(path, h5ad=H5adOptions(time_key="dpt", trajectory_key="lineage", bins=5))
    assert expr.genes == ["A", "B"] and [tr.name for tr in expr.trajectories] == ["B", "ery"]
    b = expr.trajectories[0]
    tb = np.sort(t[lineage == "B"])
    assert len(b.times) == 5 and np.allclose(b.times, tb.reshape(5, 6).mean(axis=1))   # 30 cells, 6 per bin
    assert np.allclose(b.values[:, 0], b.times) and np.allclose(b.values[:, 1], 2.0)  # gene A = time, B = 2
    assert any("binned into 2 trajectories of 5 time points" in str(i) for i in report.issues)
    layer, _ = read_expression(path, h5ad=H5adOptions(time_key="dpt", bins=4, layer="x10"))
    assert layer.n_trajectories == 1 and np.allclose(layer.trajectories[0].values[:, 1], 20.0)


def test_uploaded_h5ad_and_errors(h5ad_file):
    path, _, _ = h5ad_file
    up = io.BytesIO(path.read_bytes())
    up.name = "upload.h5ad"
    expr, _ = read_expression(up, h5ad=H5adOptions(time_key="dpt", bins=3))
    assert [len(tr.times) for tr in expr.trajectories] == [3]
    with pytest.raises(DashInputError, match="obs columns.*'dpt'"):
        read_expression(path)                                        # no --time-key given
    with pytest.raises(DashInputError, match="no obs column 'pseudotime'.*'dpt'"):
        read_expression(path, h5ad=H5adOptions(time_key="pseudotime"))
    with pytest.raises(DashInputError, match="no layer 'counts'"):
        read_expression(path, h5ad=H5adOptions(time_key="dpt", layer="counts"))


def test_load_dataset_with_h5ad_and_prior(h5ad_file, tmp_path):
    path, _, _ = h5ad_file
    prior = tmp_path / "prior.csv"
    prior.write_text("source,target\nA,B\n")
    ds, _ = load_dataset(path, prior, h5ad=H5adOptions(time_key="dpt", trajectory_key="lineage", bins=6))
    assert ds.n_genes == 2 and ds.expression.n_trajectories == 2 and len(ds.prior) == 1
