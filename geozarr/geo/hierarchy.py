"""The hierarchy around an array, as georeferencing sees it.

Finds the data arrays of a hierarchy (not coordinate, bounds or grid-mapping variables), and
builds the :class:`~geozarr.geo.context.ArrayContext` of one array: its dimensions, its
attributes and those of its parent and root groups, and a CF-style lookup of other variables
by name (same group first, then each ancestor) for ``grid_mapping`` and coordinates.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

import numpy as np

from geozarr.core.array import Array
from geozarr.core.group import Group
from geozarr.errors import DimensionError, NodeNotFoundError
from geozarr.geo.context import ArrayContext
from geozarr.geo.dimensions import array_dimensions

#: GDAL's guards against hostile hierarchies: how deep and how wide exploration goes.
MAX_DEPTH = 32
MAX_ARRAYS = 10_000
#: A coordinate variable larger than this is not read as coordinates.
MAX_COORDINATE_SIZE = 10_000_000
_V2_MEMBERS = frozenset({"zarr_format", "shape", "chunks", "dtype", "compressor", "fill_value",
                         "order", "filters", "dimension_separator"})


def walk_arrays(group: Group, prefix: str = "", depth: int = 0) -> Iterator[tuple[str, Array]]:
    """("/path/of/array", array) for every array below ``group``, depth first, sorted."""
    if depth > MAX_DEPTH:
        raise DimensionError(f"hierarchy deeper than {MAX_DEPTH} levels at {prefix!r}")
    for name, node in group.members():
        path = f"{prefix}/{name}"
        if isinstance(node, Array):
            yield path, node
        else:
            yield from walk_arrays(node, path, depth + 1)


def _referenced_names(attrs: Mapping[str, Any]) -> set[str]:
    """Variables an array names as its coordinates, bounds or grid mapping (CF)."""
    names: set[str] = set()
    for member in ("coordinates", "bounds", "grid_mapping", "ancillary_variables"):
        value = attrs.get(member)
        if isinstance(value, str):
            # The extended grid_mapping form is "crs: x y crs2: lat lon".
            names.update(token.rstrip(":") for token in value.split())
    return names


def dimension_names(array: Array, path: str) -> tuple[str, ...]:
    """The array's dimension names, from whichever convention the producer used."""
    v3_names = array.metadata.dimension_names if array.zarr_format == 3 else None
    return array_dimensions(array.shape, array.attrs, v3_names, {}, path=path)


def data_arrays(root: Group) -> list[str]:
    """Paths of the arrays that hold data: at least 2-D, numeric, and not a coordinate,
    bounds or grid-mapping variable of another array, nor named like one of its own
    dimensions (an indexing variable)."""
    arrays: list[tuple[str, Array]] = []
    referenced: set[str] = set()
    for count, (path, array) in enumerate(walk_arrays(root)):
        if count >= MAX_ARRAYS:
            raise DimensionError(f"more than {MAX_ARRAYS} arrays in the hierarchy")
        arrays.append((path, array))
        referenced |= _referenced_names(array.attrs)
    result = []
    for path, array in arrays:
        name = path.rsplit("/", 1)[-1]
        if array.ndim < 2 or array.dtype.kind not in "biufc":
            continue
        if name in referenced or path in referenced:
            continue
        if name in dimension_names(array, path):
            continue
        result.append(path)
    return result


class ContextBuilder:
    """Builds array contexts for one hierarchy, caching the group and variable lookups."""

    def __init__(self, root: Group | Array):
        self.root = root

    def _node(self, path: str) -> Group | Array:
        relative = path.strip("/")
        if not relative:
            return self.root
        if isinstance(self.root, Array):
            raise NodeNotFoundError(f"no array {path!r}: the store holds a single array")
        return self.root[relative]

    def array(self, path: str) -> Array:
        """The array at ``path`` ("/a/b"); DimensionError when it is absent or a group."""
        try:
            node = self._node(path)
        except NodeNotFoundError:
            raise DimensionError(f"no array {path!r} in the hierarchy") from None
        if not isinstance(node, Array):
            raise DimensionError(f"{path!r} is a group, not an array")
        return node

    def _groups_up(self, path: str) -> list[Group]:
        """The groups enclosing the array at ``path``, innermost first."""
        if isinstance(self.root, Array):
            return []
        parts = path.strip("/").split("/")[:-1]
        chain = [self.root]
        for depth in range(1, len(parts) + 1):
            node = self.root["/".join(parts[:depth])]
            if isinstance(node, Group):
                chain.append(node)
        return chain[::-1]

    def context(self, path: str) -> ArrayContext:
        """The context of the array at ``path``."""
        array = self.array(path)
        groups = self._groups_up(path)
        extra: Mapping[str, Any] = {}
        if array.zarr_format == 2 and groups:
            document = groups[0].document(f"{array.name}/.zarray") or {}
            extra = {k: v for k, v in document.items() if k not in _V2_MEMBERS}
        v3_names = array.metadata.dimension_names if array.zarr_format == 3 else None
        dims = array_dimensions(array.shape, array.attrs, v3_names, extra, path=path or "/")

        @lru_cache(maxsize=64)
        def find(name: str) -> Array | None:
            if name.startswith("/"):
                try:
                    node = self._node(name)
                except NodeNotFoundError:
                    return None
                return node if isinstance(node, Array) else None
            for group in groups:
                if name in group:
                    node = group[name]
                    if isinstance(node, Array):
                        return node
            return None

        def variable_attrs(name: str) -> Mapping[str, Any] | None:
            found = find(name)
            return None if found is None else dict(found.attrs)

        def variable_values(name: str) -> np.ndarray | None:
            found = find(name)
            if found is None or found.ndim > 1 or found.size > MAX_COORDINATE_SIZE:
                return None
            return np.asarray(found[...])

        return ArrayContext(
            path=path or "/", shape=array.shape, dims=dims, attrs=dict(array.attrs),
            fill_value=array.fill_value, dtype=array.dtype,
            parent_attrs=dict(groups[0].attrs) if groups else {},
            root_attrs=dict(groups[-1].attrs) if groups else {},
            metadata_extra=extra, variable_attrs=variable_attrs,
            variable_values=variable_values)
