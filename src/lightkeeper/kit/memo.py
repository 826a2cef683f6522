"""Values derived from an immutable object, remembered for that very object."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class PerObject(Generic[K, V]):
    """`derive(obj)` computed once per object, by identity (for unhashable frozen objects).

    Made for what a cached principal always answers the same way (the
    `/api/v1/user` body and its abilityRules): the principal cache hands out
    the same object until something changes, then a new one. An entry holds
    its object, so an id is never reused while remembered; at `max_entries`
    everything is forgotten at once. Races only compute a value twice.
    """

    def __init__(self, derive: Callable[[K], V], max_entries: int = 4096) -> None:
        self.derive = derive
        self.max_entries = max_entries
        self._entries: dict[int, tuple[K, V]] = {}

    def __call__(self, obj: K) -> V:
        entry = self._entries.get(id(obj))
        if entry is not None and entry[0] is obj:
            return entry[1]
        value = self.derive(obj)
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[id(obj)] = (obj, value)
        return value
