"""What georeferencing resolution sees of one array: itself and its surroundings.

Resolution is pure: a :class:`ArrayContext` in, frozen results out. Building the context
(reading sibling and ancestor metadata through the core) happens in one place,
:mod:`geozarr.geo.dataset`; every resolver below it is testable on hand-made contexts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ArrayContext:
    """An array and what georeferencing needs to know around it.

    Attributes
    ----------
    path
        The array's path in the hierarchy, with a leading "/" (``"/group/temperature"``),
        used in warnings and error messages.
    shape
        The array shape.
    dims
        One name per dimension (see :func:`geozarr.geo.dimensions.array_dimensions`).
    attrs
        The array's attributes.
    fill_value
        The Zarr ``fill_value`` (None for a v2 ``null``).
    dtype
        The array's data type.
    parent_attrs
        Attributes of the group that directly contains the array ({} for a root array). The
        ``proj``/``spatial`` conventions apply group-level keys to direct children only.
    root_attrs
        Attributes of the root group ({} when the array is the root).
    metadata_extra
        Members of the array's own metadata document beyond the Zarr ones (NCZarr 2 puts
        ``_NCZARR_ARRAY`` in ``.zarray``).
    variable_attrs
        Looks up another array by name as CF does (same group first, then each ancestor) and
        returns its attributes, or None. Used for ``grid_mapping`` and coordinate variables.
    variable_values
        The same lookup, returning the values of a 0-d or 1-d array (None when absent, or
        larger than a coordinate can sensibly be).
    """

    path: str
    shape: tuple[int, ...]
    dims: tuple[str, ...]
    attrs: Mapping[str, Any]
    fill_value: Any
    dtype: np.dtype
    parent_attrs: Mapping[str, Any] = field(default_factory=dict)
    root_attrs: Mapping[str, Any] = field(default_factory=dict)
    metadata_extra: Mapping[str, Any] = field(default_factory=dict)
    variable_attrs: Callable[[str], Mapping[str, Any] | None] = lambda name: None
    variable_values: Callable[[str], np.ndarray | None] = lambda name: None
