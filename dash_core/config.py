"""Typed configuration helpers: dataclass <-> JSON-compatible dict.

Every config in the project is a frozen dataclass with defaults from the spec.
A config is saved next to every result (``config.json``) and a run can be
re-created from it exactly with :func:`config_from_dict`.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from dash_core.io.errors import DashInputError

C = TypeVar("C")


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """Recursively convert a dataclass config to plain JSON-compatible types."""
    out = dataclasses.asdict(cfg)
    return json.loads(json.dumps(out, default=_json_default))


def _json_default(o: Any) -> Any:
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    if hasattr(o, "item"):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def config_from_dict(cls: type[C], data: dict[str, Any] | None) -> C:
    """Build dataclass ``cls`` from a dict, recursing into nested dataclass fields.

    Unknown keys raise :class:`DashInputError` naming the key and the valid ones,
    so that a typo in a config file is caught rather than silently ignored.
    """
    data = dict(data or {})
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise DashInputError(
            f"Unknown setting(s) {', '.join(unknown)} for {cls.__name__}. Valid settings: {', '.join(sorted(names))}."
        )
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        typ = _dataclass_type(hints.get(f.name))
        if typ is not None and isinstance(value, dict):
            value = config_from_dict(typ, value)
        elif isinstance(value, list) and _is_tuple_type(hints.get(f.name)):
            value = tuple(value)
        kwargs[f.name] = value
    return cls(**kwargs)


def changed_keys(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted paths of the leaves that differ between two nested dicts (``["train.lr", "folds"]``)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for k in sorted(set(old) | set(new)):
            out += changed_keys(old.get(k), new.get(k), f"{prefix}{k}.")
        return out
    return [] if old == new else [prefix.rstrip(".") or "(all)"]


def guard_settings_file(path: Path, identity: dict[str, Any], config: dict[str, Any], *, what: str) -> None:
    """Resume guard of a results folder: refuse when ``path`` records another ``identity``, else (re)write it.

    ``path`` holds ``{"identity": ..., "config": ...}``; ``identity`` is what must match for results to be
    combined in the folder (compared as JSON values), ``config`` the full settings kept for the record.

    Raises
    ------
    DashInputError
        Naming the differing settings, when the folder holds ``what`` (e.g. "a cross-validation") made with
        other settings.
    """
    current = json.loads(json.dumps(identity, default=_json_default))
    if path.exists():
        try:
            previous = json.loads(path.read_text()).get("identity")
        except json.JSONDecodeError:
            previous = None
        if previous and previous != current:
            raise DashInputError(
                f"This folder holds {what} made with other settings ({', '.join(changed_keys(previous, current))} "
                "differ). Use a new --out folder, or the same settings to resume.",
                source=str(path.parent),
            )
    path.write_text(json.dumps({"identity": current, "config": config}, indent=2, default=_json_default))


def _dataclass_type(tp: Any) -> type | None:
    if tp is None:
        return None
    if dataclasses.is_dataclass(tp):
        return tp  # type: ignore[return-value]
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            if dataclasses.is_dataclass(arg):
                return arg
    return None


def _is_tuple_type(tp: Any) -> bool:
    if tp is None:
        return False
    origin = typing.get_origin(tp)
    if origin is tuple:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(typing.get_origin(a) is tuple for a in typing.get_args(tp))
    return False
