"""Workspaces: who owns which runs, uploads and jobs, and read-only share links.

A *workspace* owns runs (``runs.workspace_id``) and a folder of uploads and
datasets (``workspaces/<workspace_id>/``). Its id is never shown to visitors;
what a visitor holds is a *secret link token* issued by the server
(:func:`issue_workspace`, ``secrets.token_urlsafe``, 192 bits). The store keeps
only the token's SHA-256, so a copied database does not leak links, and a
token a visitor makes up matches nothing (:func:`resolve_workspace` returns
None) instead of creating or opening a workspace.

With a login (Streamlit's ``st.login``) the workspace follows the user:
:func:`workspace_for_owner` maps a stable owner key (e.g. the OIDC subject) to
one workspace, created on first use.

:func:`share_run` issues a read-only link to one run of a workspace;
:func:`resolve_share` answers which run a share token opens.

:class:`ScopedStore` is a view of a :class:`~dash_core.runs.store.RunStore`
restricted to one workspace: it lists and finds only that workspace's runs and
creates runs owned by it, so pages cannot show another workspace's work by
mistake.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from pathlib import Path
from typing import Any

from dash_core.io.errors import DashInputError
from dash_core.runs.records import RunRecord
from dash_core.runs.store import RunStore

__all__ = [
    "ScopedStore",
    "issue_workspace",
    "resolve_share",
    "resolve_workspace",
    "revoke_shares",
    "share_run",
    "workspace_for_owner",
]

#: Bytes of randomness in a workspace or share link token (``secrets.token_urlsafe``).
TOKEN_BYTES = 24


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _plausible(token: str | None) -> bool:
    return isinstance(token, str) and 16 <= len(token) <= 128 and token.replace("-", "").replace("_", "").isalnum()


def issue_workspace(store: RunStore) -> tuple[str, str]:
    """Create a new workspace; returns ``(workspace_id, secret_token)``.

    The token is what the visitor keeps (in the app's URL as ``?ws=``); the id is
    internal. In a read-only store the workspace exists only for this visit.
    """
    workspace_id = "ws-" + secrets.token_hex(12)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    if not store.read_only:
        now = time.time()
        with store._connect() as con:
            con.execute("INSERT INTO workspaces (workspace_id, token_hash, created, last_seen) VALUES (?,?,?,?)",
                        (workspace_id, _hash(token), now, now))
    return workspace_id, token


def resolve_workspace(store: RunStore, token: str | None) -> str | None:
    """The workspace a secret link token opens, or None (unknown, malformed or missing token)."""
    if not _plausible(token):
        return None
    with store._connect() as con:
        row = con.execute("SELECT workspace_id FROM workspaces WHERE token_hash = ?", (_hash(token),)).fetchone()
        if row is not None and not store.read_only:
            con.execute("UPDATE workspaces SET last_seen = ? WHERE workspace_id = ?", (time.time(), row[0]))
    return row[0] if row is not None else None


def workspace_for_owner(store: RunStore, owner: str) -> str:
    """The workspace of a logged-in user (``owner``: a stable key such as the OIDC issuer + subject); created once."""
    if not owner:
        raise DashInputError("A logged-in user needs a stable identity (subject or e-mail) to own a workspace.")
    key = "user:" + _hash(owner)
    with store._connect() as con:
        row = con.execute("SELECT workspace_id FROM workspaces WHERE owner = ?", (key,)).fetchone()
        if row is not None:
            return row[0]
        workspace_id = "ws-" + secrets.token_hex(12)
        if not store.read_only:
            con.execute("INSERT OR IGNORE INTO workspaces (workspace_id, owner, created, last_seen) VALUES (?,?,?,?)",
                        (workspace_id, key, time.time(), time.time()))
            row = con.execute("SELECT workspace_id FROM workspaces WHERE owner = ?", (key,)).fetchone()
            return row[0]
    return workspace_id


def share_run(store: RunStore, run_id: str, workspace_id: str) -> str:
    """A new read-only share token for ``run_id``, which must belong to ``workspace_id``."""
    rec = store.find(run_id, reconcile=False)
    if rec is None or rec.workspace_id != workspace_id:
        raise DashInputError(f"Run {run_id} is not in this workspace, so it cannot be shared from here.")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with store._connect() as con:
        con.execute("INSERT INTO shares (token_hash, run_id, workspace_id, created) VALUES (?,?,?,?)",
                    (_hash(token), run_id, workspace_id, time.time()))
    return token


def resolve_share(store: RunStore, token: str | None) -> str | None:
    """The run a share token opens (read-only), or None."""
    if not _plausible(token):
        return None
    with store._connect() as con:
        row = con.execute("SELECT run_id FROM shares WHERE token_hash = ?", (_hash(token),)).fetchone()
    return row[0] if row is not None else None


def revoke_shares(store: RunStore, run_id: str, workspace_id: str) -> int:
    """Remove every share link of ``run_id`` (owned by ``workspace_id``); returns how many."""
    with store._connect() as con:
        cur = con.execute("DELETE FROM shares WHERE run_id = ? AND workspace_id = ?", (run_id, workspace_id))
    return cur.rowcount


class ScopedStore:
    """A :class:`RunStore` seen from one workspace.

    Listing, finding and deleting see only the workspace's runs (and their
    children); new runs are owned by the workspace. Everything else (progress,
    logs, cancel flags...) is passed to the underlying store, for runs the caller
    obtained through this view.

    Parameters
    ----------
    store
        The shared store.
    workspace_id
        The workspace.
    shared_run_ids
        Runs opened read-only through share links: :meth:`find` returns them too
        (:meth:`owns` stays False for them).
    """

    def __init__(self, store: RunStore, workspace_id: str, *, shared_run_ids: tuple[str, ...] = ()) -> None:
        self.store = store
        self.workspace_id = workspace_id
        self.shared_run_ids = tuple(shared_run_ids)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def owns(self, rec: RunRecord | None) -> bool:
        """Whether ``rec`` belongs to this workspace (may be controlled: cancel, rename, delete, share)."""
        return rec is not None and rec.workspace_id == self.workspace_id

    def workspace_dir(self) -> Path:  # type: ignore[override]
        """This workspace's folder of uploads and datasets."""
        return self.store.workspace_dir(self.workspace_id)

    def create_run(self, kind: str, params=None, **kwargs: Any) -> RunRecord:
        kwargs["workspace_id"] = self.workspace_id
        return self.store.create_run(kind, params, **kwargs)

    def list_runs(self, **kwargs: Any) -> list[RunRecord]:
        kwargs["workspace_id"] = self.workspace_id
        return self.store.list_runs(**kwargs)

    def active_runs(self) -> list[RunRecord]:
        return self.store.active_runs(workspace_id=self.workspace_id)

    def find(self, run_id: str, **kwargs: Any) -> RunRecord | None:
        rec = self.store.find(run_id, **kwargs)
        if self.owns(rec) or (rec is not None and rec.run_id in self.shared_run_ids):
            return rec
        return None

    def get(self, run_id: str) -> RunRecord:
        rec = self.find(run_id)
        if rec is None:
            raise DashInputError(f"There is no run {run_id!r} in this workspace.")
        return rec

    def _own(self, run_id: str) -> RunRecord:
        rec = self.store.find(run_id, reconcile=False)
        if not self.owns(rec):
            raise DashInputError(f"There is no run {run_id!r} in this workspace.")
        return rec

    def delete_run(self, run_id: str) -> None:
        self._own(run_id)
        self.store.delete_run(run_id)

    def set_label(self, run_id: str, label: str) -> None:
        self._own(run_id)
        self.store.set_label(run_id, label)

    def request_cancel(self, run_id: str) -> bool:
        self._own(run_id)
        return self.store.request_cancel(run_id)
