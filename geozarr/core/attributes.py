"""User attributes of an array or group: a dict that writes itself back to the store."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any


class Attributes(MutableMapping[str, Any]):
    """The ``attrs`` of a node. Every change is written to the store at once (one write per
    call: ``update`` writes once for all its keys)."""

    def __init__(self, values: Mapping[str, Any], write: Callable[[dict[str, Any]], None]):
        self._values = dict(values)
        self._write = write

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __setitem__(self, name: str, value: Any) -> None:
        self.update({name: value})

    def __delitem__(self, name: str) -> None:
        values = dict(self._values)
        del values[name]
        self._commit(values)

    def update(self, other: Any = (), /, **more: Any) -> None:  # type: ignore[override]
        """Set several attributes with a single write."""
        values = dict(self._values)
        values.update(other, **more)
        self._commit(values)

    def put(self, values: Mapping[str, Any]) -> None:
        """Replace every attribute by ``values`` (one write)."""
        self._commit(dict(values))

    def asdict(self) -> dict[str, Any]:
        """A plain copy of the attributes."""
        return dict(self._values)

    def _commit(self, values: dict[str, Any]) -> None:
        self._write(values)
        self._values = values

    def __repr__(self) -> str:
        return f"Attributes({self._values!r})"
