"""GMT gene-set files: reading, errors with line numbers, merging, coverage."""

from __future__ import annotations

import io

import pytest

from dash_core.io.errors import DashInputError
from dash_core.io.gmt import gene_set_coverage, read_gmt, split_symbols, write_gmt


def _write(tmp_path, text: str, name: str = "sets.gmt"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_read_gmt_parses_sets_and_skips_blank_and_empty_fields(tmp_path):
    p = _write(tmp_path, "A\tdesc a\tg1\tg2\tg3\n\n# comment\nB\t\tg2\tg4\t\t\n")
    sets, report = read_gmt(p)
    assert sets == {"A": ["g1", "g2", "g3"], "B": ["g2", "g4"]}
    assert report.ok and not report.warnings


def test_read_gmt_accepts_bytes_and_file_objects(tmp_path):
    text = "A\td\tx\ty\n"
    assert read_gmt(text.encode())[0] == {"A": ["x", "y"]}
    fh = io.BytesIO(("\ufeff" + text).encode("utf-8"))  # with a byte-order mark
    fh.name = "upload.gmt"
    assert read_gmt(fh)[0] == {"A": ["x", "y"]}
    assert read_gmt(io.StringIO(text))[0] == {"A": ["x", "y"]}


@pytest.mark.parametrize("text, line, what", [
    ("A\td\tg1\nB\tonly-two-fields\n", 2, "at least 3 tab-separated fields"),
    ("A\td\tg1\n\nC g1 g2 g3\n", 3, "separated by tabs"),
    ("A\td\tg1\n\td\tg2\n", 2, "name (first field) is empty"),
    ("A\td\t\t\n", 1, "lists no genes"),
])
def test_read_gmt_errors_name_the_line(tmp_path, text, line, what):
    p = _write(tmp_path, text)
    with pytest.raises(DashInputError) as err:
        read_gmt(p)
    msg = str(err.value)
    assert f"line {line}:" in msg and what in msg and "sets.gmt" in msg


def test_duplicate_set_names_are_merged_with_a_warning(tmp_path):
    p = _write(tmp_path, "A\td\tg1\tg2\nB\td\tg9\nA\td2\tg2\tg3\tg3\n")
    sets, report = read_gmt(p)
    assert sets["A"] == ["g1", "g2", "g3"]
    assert len(report.warnings) == 1 and "line 3" in report.warnings[0].message
    assert "line 1" in report.warnings[0].message
    assert any("repeated gene" in i.message for i in report.infos)


def test_missing_empty_and_non_utf8_files(tmp_path):
    with pytest.raises(DashInputError, match="not found"):
        read_gmt(tmp_path / "nope.gmt")
    with pytest.raises(DashInputError, match="no gene sets"):
        read_gmt(_write(tmp_path, "\n\n"))
    bad = tmp_path / "latin.gmt"
    bad.write_bytes("A\td\tg\xe91\n".encode("latin-1"))
    with pytest.raises(DashInputError, match="UTF-8"):
        read_gmt(bad)


def test_write_read_roundtrip(tmp_path):
    sets = {"S1": ["a", "b"], "S2": ["c"]}
    p = write_gmt(sets, tmp_path / "out.gmt", {"S1": "first"})
    assert p.read_text().splitlines()[0] == "S1\tfirst\ta\tb"
    assert read_gmt(p)[0] == sets


def test_split_symbols_and_coverage():
    assert split_symbols("A /// B") == ["A", "B"]
    assert split_symbols("A///B///C") == ["A", "B", "C"]
    assert split_symbols("TP53") == ["TP53"]
    cov = gene_set_coverage({"S1": ["A", "B", "Z"], "S2": ["Q"]}, ["A /// B", "C"])
    assert list(cov.columns) == ["set", "size", "n_in_data", "fraction"]
    assert cov.loc[0, "n_in_data"] == 2 and cov.loc[0, "fraction"] == pytest.approx(2 / 3)
    assert cov.loc[1, "n_in_data"] == 0 and cov.loc[1, "fraction"] == 0.0


def test_simulated_demo_gmt_reads_back(tmp_path, tiny_sim):
    from dash_core.simulate import write_simulation

    paths = write_simulation(tiny_sim, tmp_path / "sim")
    sets, report = read_gmt(paths["gene_sets"])
    assert sets == {k: list(dict.fromkeys(v)) for k, v in tiny_sim.gene_sets.items()}
    assert report.ok
