"""The numeric fast paths of the tidy and PHOENIX readers give exactly what the general reader gives (issue 14)."""

from __future__ import annotations

import io

import numpy as np
import pytest

from dash_core.io import read_expression
from dash_core.io.errors import DashInputError, ValidationReport
from dash_core.io.text import _read_table
from dash_core.io.tidy import _parse_tidy, _read_tidy_fast

CASES = {
    "plain": "trajectory,time,A,B\nx,0,0.1,0.2\nx,1,0.3,0.4\ny,0,0.5,0.6\ny,2,0.7,0.8\n",
    "quoted header and labels (R)": '"","trajectory","time","gene A","B"\n"1","x",0,0.1,0.2\n"2","x",1,0.3,0.4\n',
    "single-quoted header": "'trajectory','time','A','B'\n'x',0,1e-3,2\n'x',1,3,4\n",
    "tsv with BOM and CRLF": "\ufefftraj\tt\tA\tB\r\nx\t0\t0.1\t0.2\r\nx\t1\t0.3\t0.4\r\n",
    "semicolon": "trajectory;time;A\nx;0;0.5\nx;1;1.5\n",
    "unsorted and interleaved": "trajectory,time,A,B\nx,2,1,2\ny,0,3,4\nx,0,5,6\ny,1,7,8\nx,1,9,10\n",
    "short trajectory dropped": "trajectory,time,A\nx,0,1\nx,1,2\ny,0,3\n",
    "spaces after delimiter": "trajectory, time, A, B\nx, 0, 0.1, 0.2\nx, 1, 0.3, 0.4\n",
    "numeric labels": "trajectory,time,A\n01,0,1\n01,1,2\n1,0,3\n1,1,4\n",
}
BAD = {
    "NaN cell": "trajectory,time,A,B\nx,0,0.1,nan\nx,1,0.3,0.4\n",
    "empty cell": "trajectory,time,A,B\nx,0,0.1,\nx,1,0.3,0.4\n",
    "inf cell": "trajectory,time,A,B\nx,0,0.1,inf\nx,1,0.3,0.4\n",
    "text cell": "trajectory,time,A,B\nx,0,0.1,high\nx,1,0.3,0.4\n",
    "short row": "trajectory,time,A,B\nx,0,0.1\nx,1,0.3,0.4\n",
    "long row": "trajectory,time,A,B\nx,0,0.1,0.2,9\nx,1,0.3,0.4\n",
    "duplicate time": "trajectory,time,A\nx,0,1\nx,0,2\nx,1,3\n",
    "missing label": "trajectory,time,A\n,0,1\nx,1,2\n",
    "duplicate gene": "trajectory,time,A,A\nx,0,1,2\nx,1,3,4\n",
}


def _slow(text: str, genes=None):
    report = ValidationReport()
    return _parse_tidy(_read_table(io.BytesIO(text.encode("utf-8"))), genes, report), report


def _fast(text: str, genes=None):
    report = ValidationReport()
    got = _read_tidy_fast(io.BytesIO(text.encode("utf-8")), genes, report)
    return (None, report) if got is None else (got[0], report)


def _same(a, b) -> None:
    assert a.genes == b.genes
    assert [t.name for t in a.trajectories] == [t.name for t in b.trajectories]
    for ta, tb in zip(a.trajectories, b.trajectories):
        assert ta.times.dtype == tb.times.dtype == ta.values.dtype == np.float64
        np.testing.assert_array_equal(ta.times, tb.times)
        np.testing.assert_array_equal(ta.values, tb.values)


@pytest.mark.parametrize("case", sorted(CASES))
def test_fast_path_equals_general_reader(case):
    text = CASES[case]
    fast, fast_report = _fast(text)
    assert fast is not None, "the fast path should take this file"
    slow, slow_report = _slow(text)
    _same(fast, slow)
    assert [str(i) for i in fast_report.issues] == [str(i) for i in slow_report.issues]


def test_fast_path_with_gene_selection():
    text = CASES["plain"]
    fast, _ = _fast(text, ["B"])
    slow, _ = _slow(text, ["B"])
    _same(fast, slow)
    assert fast.genes == ["B"]


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_files_fall_back_to_the_precise_message(case):
    text = BAD[case]
    assert _fast(text)[0] is None
    with pytest.raises(DashInputError) as slow:
        _slow(text)
    with pytest.raises(DashInputError) as public:
        read_expression(io.BytesIO(text.encode("utf-8")))
    assert str(public.value) == str(slow.value)


def test_non_tidy_inputs_are_left_to_the_general_reader():
    assert _fast("3,1\n0.1,0.2\n0.3,0.4\n0.5,0.6\n0,1\n")[0] is None  # PHOENIX header
    assert _fast("# comment\ntrajectory,time,A\nx,0,1\nx,1,2\n")[0] is None
    assert _fast("trajectory;time;A\nx;0;0,5\nx;1;1,5\n")[0] is None  # decimal commas
    expr, report = read_expression(io.BytesIO(b"trajectory;time;A\nx;0;0,5\nx;1;1,5\n"))
    np.testing.assert_array_equal(expr.trajectories[0].values[:, 0], [0.5, 1.5])


PHOENIX = {
    "ragged": "2,2\n0.1,0.2,0.3\n0.4,0.5,0.6\n0,1,2\n0.7,0.8,\n0.9,1.0,\n0,5,\n",
    "tab, unsorted times": "2\t1\n1\t2\t3\n4\t5\t6\n2\t0\t1\n",
    "semicolon": "1;1\n1e-3;2\n0;1\n",
}
PHOENIX_BAD = {
    "missing inside row": "2,1\n0.1,,0.3\n0.4,0.5,0.6\n0,1,2\n",
    "short gene row": "2,1\n0.1,0.2\n0.4,0.5,0.6\n0,1,2\n",
    "nan": "2,1\n0.1,nan,0.3\n0.4,0.5,0.6\n0,1,2\n",
    "row count": "2,2\n0.1,0.2\n0.4,0.5\n0,1\n",
    "duplicate time": "1,1\n0.1,0.2\n0,0\n",
    "decimal commas": "1;1\n0,1;0,2\n0;1\n",
}


def _phoenix(text: str, fast: bool, genes=None):
    from dash_core.io.phoenix import _parse_phoenix, _read_phoenix_fast

    report = ValidationReport()
    src = io.BytesIO(text.encode("utf-8"))
    if fast:
        got = _read_phoenix_fast(src, genes, report)
        return (None, report) if got is None else (got[0], report)
    return _parse_phoenix(_read_table(src), genes, report), report


@pytest.mark.parametrize("case", sorted(PHOENIX))
def test_phoenix_fast_path_equals_general_reader(case):
    fast, fast_report = _phoenix(PHOENIX[case], True)
    assert fast is not None, "the fast path should take this file"
    slow, slow_report = _phoenix(PHOENIX[case], False)
    _same(fast, slow)
    assert [str(i) for i in fast_report.issues] == [str(i) for i in slow_report.issues]
    named, _ = _phoenix(PHOENIX[case], True, [f"g{i}" for i in range(fast.n_genes)])
    assert named.genes == [f"g{i}" for i in range(fast.n_genes)]


@pytest.mark.parametrize("case", sorted(PHOENIX_BAD))
def test_phoenix_bad_files_fall_back(case):
    text = PHOENIX_BAD[case]
    assert _phoenix(text, True)[0] is None
    try:
        expected = _phoenix(text, False)[0]
    except DashInputError as exc:
        with pytest.raises(DashInputError) as public:
            read_expression(io.BytesIO(text.encode("utf-8")))
        assert str(public.value) == str(exc)
    else:  # decimal commas: read by the general reader
        _same(read_expression(io.BytesIO(text.encode("utf-8")))[0], expected)


@pytest.mark.parametrize("text, fmt", [
    ("trajectory,time,A\nx,0,1\nx,1,2\n", "tidy"),                     # tidy fast path
    ("1,1\n0.1,0.2\n0,1\n", "phoenix"),                                 # PHOENIX fast path
    ("# comment\ntrajectory,time,A\nx,0,1\nx,1,2\n", "tidy"),          # general reader
])
def test_read_expression_reads_a_file_once(tmp_path, monkeypatch, text, fmt):
    from pathlib import Path

    path = tmp_path / "expr.csv"
    path.write_text(text)
    reads = []
    original = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: reads.append(self) or original(self))
    expr, report = read_expression(path)
    assert len(reads) == 1 and expr.n_observations == 2
    assert f"({fmt} format" in " ".join(str(i) for i in report.issues)
