"""Workspaces: server-issued secret links, owned runs, scoped views, share links, login owners, migration."""

from __future__ import annotations

import sqlite3

import pytest

from dash_core.io.errors import DashInputError
from dash_core.runs.schema import SCHEMA_VERSION
from dash_core.runs.store import COMPLETED, RunStore
from dash_core.runs.workspaces import (
    ScopedStore,
    issue_workspace,
    resolve_share,
    resolve_workspace,
    revoke_shares,
    share_run,
    workspace_for_owner,
)


@pytest.fixture()
def store(tmp_path):
    return RunStore(tmp_path / "home")


def test_tokens_are_issued_by_the_server_and_unguessable(store):
    wid, token = issue_workspace(store)
    assert len(token) >= 32 and token not in wid
    assert resolve_workspace(store, token) == wid
    for made_up in (None, "", "abc", wid, token[:-1] + ("A" if token[-1] != "A" else "B"), "../../etc/passwd" * 3,
                    "0" * 32):
        assert resolve_workspace(store, made_up) is None
    with sqlite3.connect(store.db_path) as con:  # only a hash of the link is stored
        assert token not in str(con.execute("SELECT * FROM workspaces").fetchall())


def test_scoped_store_sees_and_controls_only_its_runs(store):
    (wa, _), (wb, _) = issue_workspace(store), issue_workspace(store)
    a, b = ScopedStore(store, wa), ScopedStore(store, wb)
    ra = a.create_run("sweep", {}, label="A's sweep")
    child = store.create_run("train", {}, parent_id=ra.run_id, status=COMPLETED)  # created by the job process
    assert child.workspace_id == wa  # inherits the sweep's owner
    assert [r.label for r in a.list_runs(top_level=True)] == ["A's sweep"] and b.list_runs() == []
    assert b.find(ra.run_id) is None and b.active_runs() == [] and len(a.active_runs()) == 1
    for action in (lambda: b.get(ra.run_id), lambda: b.request_cancel(ra.run_id),
                   lambda: b.set_label(ra.run_id, "x"), lambda: b.delete_run(ra.run_id)):
        with pytest.raises(DashInputError, match="no run"):
            action()
    assert not store.get(ra.run_id).cancel_requested
    a.set_label(ra.run_id, "renamed")
    assert store.get(ra.run_id).label == "renamed"
    assert a.workspace_dir() != b.workspace_dir()


def test_share_links_open_one_run_read_only(store):
    (wa, _), (wb, _) = issue_workspace(store), issue_workspace(store)
    ra = ScopedStore(store, wa).create_run("train", {}, status=COMPLETED)
    with pytest.raises(DashInputError):
        share_run(store, ra.run_id, wb)  # only the owner shares
    token = share_run(store, ra.run_id, wa)
    assert resolve_share(store, token) == ra.run_id and resolve_share(store, "x" * 32) is None
    viewer = ScopedStore(store, wb, shared_run_ids=(ra.run_id,))
    assert viewer.find(ra.run_id) is not None and not viewer.owns(viewer.find(ra.run_id))
    assert viewer.list_runs() == []  # a share does not list the owner's other runs
    assert revoke_shares(store, ra.run_id, wa) == 1 and resolve_share(store, token) is None


def test_logged_in_user_keeps_one_workspace(store):
    w1 = workspace_for_owner(store, "https://issuer|alice")
    assert workspace_for_owner(store, "https://issuer|alice") == w1
    assert workspace_for_owner(store, "https://issuer|bob") != w1


def test_old_store_is_migrated_in_place(tmp_path):
    home = tmp_path / "old"
    home.mkdir()
    with sqlite3.connect(home / "runs.sqlite") as con:  # the version-1 layout
        con.execute("CREATE TABLE runs (run_id TEXT PRIMARY KEY, kind TEXT NOT NULL, label TEXT NOT NULL DEFAULT '', "
                    "status TEXT NOT NULL, created REAL NOT NULL, started REAL, finished REAL, params TEXT NOT NULL "
                    "DEFAULT '{}', dataset_dir TEXT, artifact_dir TEXT, parent_id TEXT, pid INTEGER, pid_start TEXT, "
                    "heartbeat REAL, fraction REAL, message TEXT NOT NULL DEFAULT '', summary TEXT, error TEXT, "
                    "cancel_requested INTEGER NOT NULL DEFAULT 0)")
        con.execute("INSERT INTO runs (run_id, kind, status, created) VALUES ('old-1', 'train', 'completed', 1.0)")
    store = RunStore(home)
    rec = store.get("old-1")
    assert rec.status == COMPLETED and rec.workspace_id is None and not rec.stale
    with sqlite3.connect(store.db_path) as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    RunStore(home)  # idempotent
