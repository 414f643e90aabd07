"""A small typed registry: named, described and cited implementations.

Models, pruning strategies and ODE solvers are registered here so that the
CLI, the app and the documentation list them from one place (the pattern of
torchdiffeq's solver table).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from dash_core.io.errors import DashInputError

T = TypeVar("T")


@dataclass(frozen=True)
class RegistryEntry(Generic[T]):
    """One registered implementation.

    Attributes
    ----------
    name
        Identifier used on the command line and in configs.
    description
        One-line, user-facing explanation.
    citation
        Short citation of the method's source ("" for our own utilities).
    obj
        The registered class or function.
    extra
        Free-form metadata (e.g. ``uses_prior`` for pruning strategies).
    """

    name: str
    description: str
    citation: str
    obj: T
    extra: dict[str, Any] = field(default_factory=dict)


class Registry(Generic[T]):
    """Ordered mapping of name -> :class:`RegistryEntry`.

    Parameters
    ----------
    kind
        What is registered ("model", "strategy", "solver"), used in messages.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, RegistryEntry[T]] = {}

    def register(
        self, name: str, description: str, citation: str = "", **extra: Any
    ) -> Callable[[T], T]:
        """Decorator registering ``obj`` under ``name``."""

        def deco(obj: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = RegistryEntry(name, description, citation, obj, dict(extra))
            return obj

        return deco

    def get(self, name: str) -> RegistryEntry[T]:
        """Return the entry for ``name`` or raise a :class:`DashInputError` listing the choices."""
        try:
            return self._entries[name]
        except KeyError:
            choices = ", ".join(self._entries) or "(none registered)"
            raise DashInputError(
                f"Unknown {self.kind} {name!r}. Choose one of: {choices}."
            ) from None

    def names(self) -> list[str]:
        return list(self._entries)

    def entries(self) -> list[RegistryEntry[T]]:
        return list(self._entries.values())

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
