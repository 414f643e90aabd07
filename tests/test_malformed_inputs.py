"""Malformed-input corpus: every reader and every command answers bad input with a message, never a traceback.

Each case is a file (bytes) fed to every reader, or a command line run through
``dash_core.cli.main`` in-process. A reader may accept a file (some odd files
are valid) but may only raise :class:`DashInputError`; a command must exit with
an ``error:`` line (argparse's usage error counts) and no traceback.
"""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest

from dash_core.cli import main
from dash_core.io import load_dataset, read_expression, read_gene_names, read_network
from dash_core.io.errors import DashInputError
from dash_core.io.gmt import read_gmt

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "assets" / "demo"
SIG = ROOT / "assets" / "signaling_demo"

GOOD_EXPR = (DEMO / "expression.csv").read_bytes()[:4000].rsplit(b"\n", 1)[0] + b"\n"

#: name -> file content; each is wrong in one way a user's file can be.
FILES: dict[str, bytes] = {
    "empty": b"",
    "blank_lines": b"\n\n   \n",
    "header_only": b"trajectory,time,G1,G2\n",
    "binary": bytes(range(256)) * 8,
    "gzip_broken": b"\x1f\x8b\x08\x00garbage",
    "gzip_binary": gzip.compress(bytes(range(256)) * 4),
    "zip_xlsx": b"PK\x03\x04" + b"\x00" * 100,
    "utf16_no_bom": "trajectory,time,G1\nt1,0,1\nt1,1,2\n".encode("utf-16-le"),
    "utf16_be_no_bom": "source,target,weight\nA,B,1\n".encode("utf-16-be"),
    "utf16_bom_odd_bytes": b"\xff\xfea\x00b\x00c",
    "latin1_names": "trajectory,time,G\xe9ne1,G2\nt1,0,1,2\nt1,1,2,3\n".encode("latin-1"),
    "nan_values": b"trajectory,time,G1,G2\nt1,0,nan,1\nt1,1,2,inf\n",
    "text_in_numbers": b"trajectory,time,G1,G2\nt1,0,abc,1\nt1,1,2,3\n",
    "decimal_comma": b"trajectory;time;G1;G2\nt1;0;0,5;1,2\nt1;1;0,7;1,1\n",
    "duplicate_genes": b"trajectory,time,G1,G1\nt1,0,1,2\nt1,1,2,3\n",
    "duplicate_times": b"trajectory,time,G1\nt1,0,1\nt1,0,2\n",
    "negative_time": b"trajectory,time,G1\nt1,-1,1\nt1,-3,2\n",
    "one_time_point": b"trajectory,time,G1,G2\nt1,0,1,2\n",
    "ragged_rows": b"trajectory,time,G1,G2\nt1,0,1\nt1,1,2,3,4,5\n",
    "unbalanced_quotes": b'trajectory,time,"G1,G2\nt1,0,1,2\n',
    "one_column": b"G1\nG2\nG3\n",
    "huge_number": b"trajectory,time,G1\nt1,0,1e400\nt1,1,2\n",
    "edge_missing_target": b"source,target,weight\nA,,1\nB,C,1\n",
    "edge_bad_weight": b"source,target,weight\nA,B,strong\n",
    "matrix_not_square": b",A,B\nA,1,0\nB,0,1\nC,1,1\n",
    "gmt_no_genes": b"SET1\tdescription\n",
    "json_not_table": json.dumps({"a": [1, 2]}).encode(),
    "html_page": b"<!DOCTYPE html><html><body>404 Not Found</body></html>",
    "control_chars": b"trajectory,time,G1\x07\nt1,0,1\x1b\nt1,1,2\n",
    "only_numbers_no_header": b"1,2,3\n4,5,6\n",
    "very_long_line": b"trajectory,time," + b",".join(b"G%d" % i for i in range(5000)) + b"\nt1,0\n",
}

def _pkn(p):
    from dash_core.signaling.data import read_pkn

    return read_pkn(p)


def _conditions(p):
    from dash_core.signaling.data import read_condition_table

    return read_condition_table(p, what="ligand")


def _h5ad(p):
    return read_expression(p, fmt="h5ad")


READERS = {
    "expression": lambda p: read_expression(p),
    "network": lambda p: read_network(p),
    "gene_names": lambda p: read_gene_names(p),
    "gmt": lambda p: read_gmt(p),
    "signaling_pkn": _pkn,
    "signaling_conditions": _conditions,
    "h5ad": _h5ad,
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("corpus")
    out = {}
    for name, data in FILES.items():
        path = folder / f"{name}.csv"
        path.write_bytes(data)
        out[name] = path
    return out


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("case", sorted(FILES))
def test_readers_never_raise_anything_but_input_errors(corpus, case, reader):
    try:
        READERS[reader](corpus[case])
    except DashInputError as exc:
        assert str(exc).strip() and "Traceback" not in str(exc)


def test_upload_like_objects_and_named_encodings(corpus):
    with pytest.raises(DashInputError, match="re-save it as UTF-8|Re-save it as UTF-8"):
        read_expression(corpus["utf16_no_bom"])
    with pytest.raises(DashInputError, match="binary"):
        read_expression(corpus["binary"])
    buf = io.BytesIO(FILES["text_in_numbers"])
    buf.name = "upload.csv"
    with pytest.raises(DashInputError, match="upload.csv"):
        read_expression(buf)


def test_size_limit_has_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("DASH_STUDIO_MAX_FILE_MB", "1")
    big = tmp_path / "big.csv"
    big.write_bytes(GOOD_EXPR + b"\n" * (2 * 2**20))
    with pytest.raises(DashInputError, match="over the 1 MB limit"):
        read_expression(big)
    with pytest.raises(DashInputError, match="over the 1 MB limit"):
        load_dataset(big, DEMO / "prior.csv")


# ----------------------------------------------------------------------------- commands
def _train(*extra: str) -> list[str]:
    return ["train", "--expression", str(DEMO / "expression.csv"), "--prior", str(DEMO / "prior.csv"),
            "--max-epochs", "1", "--hidden", "2", "--quiet", *extra]


NUMERIC_CASES = [
    ("--lr", "nan"), ("--lr", "inf"), ("--lr", "0"), ("--lr", "-1"), ("--lr", "abc"),
    ("--steps-per-unit", "nan"), ("--steps-per-unit", "0"), ("--steps-per-unit", "-3"),
    ("--max-epochs", "0"), ("--max-epochs", "2.5"), ("--max-epochs", "1e99x"), ("--patience", "-1"),
    ("--seed", "-1"), ("--seed", "1.5"), ("--hidden", "0"), ("--hidden", "nan"),
    ("--lambda-ppi", "2"), ("--lambda-ppi", "nan"), ("--lambda-motif", "-0.1"), ("--lambda-data", "1.5"),
    ("--val-fraction", "nan"), ("--batch-size", "0"), ("--checkpoint-min-sparsity", "inf"),
    ("--first-epoch", "-2"), ("--interval", "0"), ("--amount", "1.01"), ("--first-amount", "nan"),
    ("--kappa-l0", "-1e-3"),
]


@pytest.mark.parametrize("option,value", NUMERIC_CASES, ids=[f"{o}={v}" for o, v in NUMERIC_CASES])
def test_train_numeric_options_are_checked(option, value, tmp_path, capsys):
    _expect_error(_train("--out", str(tmp_path / "o"), option, value), capsys)
    assert not (tmp_path / "o" / "metrics.json").exists()


OTHER_COMMANDS = [
    ["simulate", "--genes", "nan", "--out", "{tmp}/s"],
    ["simulate", "--noise", "-1", "--out", "{tmp}/s"],
    ["simulate", "--noise", "inf", "--out", "{tmp}/s"],
    ["simulate", "--prior-corruption", "1.5", "--out", "{tmp}/s"],
    ["simulate", "--seed", "x", "--out", "{tmp}/s"],
    ["simulate", "--out", "{tmp}/a_file"],
    ["sweep", "--expression", str(DEMO / "expression.csv"), "--prior", str(DEMO / "prior.csv"), "--out", "{tmp}/a_file"],
    ["sweep", "--expression", str(DEMO / "expression.csv"), "--prior", str(DEMO / "prior.csv"), "--out", "{tmp}/w",
     "--min-sparsity", "nan"],
    ["sweep", "--expression", str(DEMO / "expression.csv"), "--prior", str(DEMO / "prior.csv"), "--out", "{tmp}/w",
     "--workers", "-1"],
    ["benchmark", "--preset", "sim350", "--genes", "0", "--out", "{tmp}/b"],
    ["pathways", "--run", "{tmp}/missing", "--gene-sets", str(DEMO / "gene_sets.gmt"), "--out", "{tmp}/p"],
    ["pathways", "--run", "{tmp}", "--gene-sets", str(DEMO / "gene_sets.gmt"), "--out", "{tmp}/p", "--alpha", "nan"],
    ["pathways", "--run", "{tmp}", "--gene-sets", str(DEMO / "gene_sets.gmt"), "--out", "{tmp}/p", "--alpha", "0"],
    ["pathways", "--run", "{tmp}", "--gene-sets", str(DEMO / "gene_sets.gmt"), "--out", "{tmp}/p", "--seed", "nan"],
    ["pathways", "--run", "{tmp}", "--gene-sets", "{tmp}/binary.csv", "--out", "{tmp}/p"],
    ["train", "--expression", "{tmp}/missing.csv", "--prior", str(DEMO / "prior.csv"), "--out", "{tmp}/o"],
    ["train", "--expression", "{tmp}", "--prior", str(DEMO / "prior.csv"), "--out", "{tmp}/o"],
    ["nonsense-command"],
    [],
    ["train"],
    ["signaling", "train", "--pkn", "{tmp}/binary.csv", "--ligands", str(SIG / "ligands.tsv"), "--tfs",
     str(SIG / "tfs.tsv"), "--out", "{tmp}/g"],
    ["signaling", "train", "--pkn", str(SIG / "pkn.tsv"), "--ligands", "{tmp}/binary.csv", "--tfs",
     str(SIG / "tfs.tsv"), "--out", "{tmp}/g"],
    ["signaling", "train", "--pkn", str(SIG / "pkn.tsv"), "--ligands", str(SIG / "ligands.tsv"), "--tfs",
     str(SIG / "tfs.tsv"), "--out", "{tmp}/g", "--lr-max", "nan"],
    ["signaling", "train", "--pkn", str(SIG / "pkn.tsv"), "--ligands", str(SIG / "ligands.tsv"), "--tfs",
     str(SIG / "tfs.tsv"), "--out", "{tmp}/g", "--test-size", "1.5"],
    ["signaling", "train", "--pkn", str(SIG / "pkn.tsv"), "--ligands", str(SIG / "ligands.tsv"), "--tfs",
     str(SIG / "tfs.tsv"), "--out", "{tmp}/a_file"],
    ["signaling", "train", "--pkn", "{tmp}/missing.tsv", "--ligands", str(SIG / "ligands.tsv"), "--tfs",
     str(SIG / "tfs.tsv"), "--out", "{tmp}/g"],
]


@pytest.mark.parametrize("argv", OTHER_COMMANDS, ids=lambda a: " ".join(a)[:60] or "no-args")
def test_other_commands_report_errors(argv, tmp_path, capsys):
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "binary.csv").write_bytes(FILES["binary"])
    _expect_error([a.replace("{tmp}", str(tmp_path)) for a in argv], capsys)


BAD_FILE_ROLES = ["--expression", "--prior", "--truth", "--ppi", "--test-expression", "--config"]


@pytest.mark.parametrize("role", BAD_FILE_ROLES)
@pytest.mark.parametrize("case", ["empty", "binary", "utf16_no_bom", "html_page", "json_not_table", "zip_xlsx"])
def test_train_with_a_bad_file_in_every_role(role, case, corpus, tmp_path, capsys):
    argv = ["train", "--expression", str(DEMO / "expression.csv"), "--prior", str(DEMO / "prior.csv"),
            "--max-epochs", "1", "--hidden", "2", "--quiet", "--out", str(tmp_path / "o")]
    if role in argv:
        argv[argv.index(role) + 1] = str(corpus[case])
    else:
        argv += [role, str(corpus[case])]
    _expect_error(argv, capsys)
    assert not (tmp_path / "o" / "model.pt").exists()


def test_output_folder_is_checked_before_training(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    _expect_error(_train("--out", str(blocker)), capsys, match="is a file")
    _expect_error(_train("--out", str(blocker / "sub")), capsys)


def _expect_error(argv: list[str], capsys, match: str | None = None) -> str:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    err = capsys.readouterr().err
    assert code not in (0, None), err
    assert "Traceback" not in err and "error" in err.lower(), err
    if match:
        assert match in err
    return err
