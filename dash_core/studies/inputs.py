"""Checking the lists a study is given: lambda grids, seeds, strategy names, noise percentages.

Each parser accepts the command-line text (``"0,0.05,0.5"``) or a sequence of
values and raises a :class:`~dash_core.io.errors.DashInputError` naming the
option and the offending item, so the CLI, the app and library callers share
one set of checks and messages.
"""

from __future__ import annotations

from collections.abc import Sequence

from dash_core.io.errors import DashInputError
from dash_core.pruning import STRATEGIES

__all__ = ["parse_grid", "parse_percents", "parse_seeds", "parse_strategies"]


def parse_grid(text: str | Sequence[float], option: str = "--lambda-ppi-grid") -> tuple[float, ...]:
    """Parse a comma-separated list of lambda values in [0, 1].

    Parameters
    ----------
    text
        ``"0,0.05,0.5"`` (or a sequence of numbers).
    option
        Name of the option, used in error messages.

    Returns
    -------
    tuple of float
        The values in the given order, duplicates dropped.

    Raises
    ------
    DashInputError
        Empty list, an empty item, a non-number, or a value outside [0, 1].
    """
    items = [s.strip() for s in text.split(",")] if isinstance(text, str) else list(text)
    if not items or items == [""]:
        raise DashInputError("the grid is empty; give comma-separated values in [0, 1], e.g. 0,0.05,0.5.",
                             source=option)
    out: list[float] = []
    for pos, item in enumerate(items, start=1):
        if isinstance(item, str) and item == "":
            raise DashInputError(f"item {pos} of the list is empty (two commas in a row, or a trailing comma?); "
                                 "give comma-separated values such as 0,0.05,0.5.", source=option)
        try:
            v = float(item)
        except (TypeError, ValueError):
            raise DashInputError(f"{item!r} (item {pos}) is not a number; give comma-separated values in [0, 1], "
                                 "e.g. 0,0.05,0.5.", source=option) from None
        if not (0.0 <= v <= 1.0):
            raise DashInputError(f"{item!r} (item {pos}) is outside [0, 1]; lambda values are convex weights "
                                 "between 0 and 1.", source=option)
        if v not in out:
            out.append(v)
    return tuple(out)


def parse_seeds(text: str | Sequence[int], option: str = "--seeds", *, count_form: bool = False) -> tuple[int, ...]:
    """Parse seeds: ``"0,1,2"`` -> (0, 1, 2); with ``count_form`` a single number K means seeds 0..K-1.

    Raises
    ------
    DashInputError
        Empty list, a non-integer or a negative seed, or K < 1.
    """
    items = [s.strip() for s in text.split(",")] if isinstance(text, str) else list(text)
    if not items or items == [""]:
        raise DashInputError("no seeds given; give comma-separated whole numbers such as 0,1,2.", source=option)
    seeds: list[int] = []
    for pos, item in enumerate(items, start=1):
        try:
            v = int(item)
        except (TypeError, ValueError):
            raise DashInputError(f"{item!r} (item {pos}) is not a whole number.", source=option) from None
        if v < 0:
            raise DashInputError(f"seed {v} is negative; seeds are whole numbers >= 0.", source=option)
        if v not in seeds:
            seeds.append(v)
    if count_form and isinstance(text, str) and "," not in text:
        if seeds[0] < 1:
            raise DashInputError("the number of seeds must be at least 1 (or give a list such as 0,1,2).",
                                 source=option)
        return tuple(range(seeds[0]))
    return tuple(seeds)


def parse_strategies(text: str | Sequence[str] | None, option: str = "--strategies") -> list[str]:
    """Strategy names (comma-separated text or a sequence); ``None``, ``""`` or ``"all"`` = every registered one.

    Raises
    ------
    DashInputError
        An unknown name (the message lists the registered strategies) or an empty list.
    """
    if text is None or (isinstance(text, str) and text.strip().lower() in ("", "all")):
        return STRATEGIES.names()
    names = [s.strip() for s in text.split(",")] if isinstance(text, str) else [str(s) for s in text]
    unknown = [s for s in names if s not in STRATEGIES]
    if unknown or not names:
        raise DashInputError(f"unknown strategy {', '.join(unknown) or '(empty)'}; registered strategies: "
                             f"{', '.join(STRATEGIES.names())} (see `python -m dash_core strategies`).", source=option)
    return list(dict.fromkeys(names))


def parse_percents(text: str, option: str = "--noise-levels") -> tuple[float, ...]:
    """Comma-separated percentages in 0-100 (a trailing ``%`` is allowed), duplicates dropped."""
    out = []
    for item in [s.strip() for s in text.split(",")]:
        try:
            v = float(item.rstrip("%"))
        except ValueError:
            raise DashInputError(f"{item!r} is not a number (noise levels are percentages such as 0,5,10,20).",
                                 source=option) from None
        if not 0 <= v <= 100:
            raise DashInputError(f"{item!r} is outside 0-100 %.", source=option)
        out.append(v)
    return tuple(dict.fromkeys(out))
