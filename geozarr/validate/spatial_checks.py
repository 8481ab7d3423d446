"""The ``spatial`` convention v0.1: each key's value, and the keys against each other and
against the arrays they describe.

Values: ``spatial:dimensions`` two distinct names, ``spatial:transform`` six finite numbers
that can be inverted, ``spatial:shape`` two positive integers, ``spatial:bbox``
``[xmin, ymin, xmax, ymax]``, ``spatial:registration`` ``"pixel"`` or ``"node"``,
``spatial:transform_type`` ``"affine"`` (others are allowed but not understood).

Consistency, for every array using the convention with its own keys over its parent group's
(group-level keys apply to direct child arrays): the dimensions are among the array's
dimension names, ``spatial:shape`` is the array's ``[height, width]``, and ``spatial:bbox`` is
the extent of the transform over that shape (cell corners for ``"pixel"`` registration, cell
centres for ``"node"``), to half a cell.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from affine import Affine

from geozarr.validate.codes import finding
from geozarr.validate.convention_checks import SPATIAL, declares, spatial_keys_of
from geozarr.validate.hierarchy import Hierarchy, Node
from geozarr.validate.report import Finding

KNOWN_KEYS = frozenset({"spatial:dimensions", "spatial:bbox", "spatial:transform_type",
                        "spatial:transform", "spatial:shape", "spatial:registration"})
_HINTS = {"spatial:dims": "spatial:dimensions", "spatial:crs": "proj:code or proj:wkt2",
          "spatial:resolution": "spatial:transform"}


@dataclass(frozen=True)
class Located:
    """A checked value and the key it was read from."""

    value: Any
    key: str


def check_spatial(hierarchy: Hierarchy) -> list[Finding]:
    """Every node's ``spatial:`` keys, then every array against the keys it uses."""
    findings: list[Finding] = []
    values: dict[str, dict[str, Located]] = {}
    for node in sorted(hierarchy.nodes.values(), key=lambda found: found.path):
        values[node.path] = _check_values(node, findings)
    for node in hierarchy.arrays():
        findings.extend(_check_array(hierarchy, node, values))
    for node in hierarchy.groups():
        findings.extend(_check_group(hierarchy, node, values))
    return findings


# -- values -------------------------------------------------------------------------------------
def transform_value(value: Any, key: str, findings: list[Finding]) -> Affine | None:
    """``spatial:transform`` as an :class:`Affine`, or None with a finding."""
    numbers = _numbers(value, key, "SPATIAL-TRANSFORM-INVALID", "spatial:transform", findings)
    if numbers is None:
        return None
    if len(numbers) != 6:
        hint = {4: " (4 numbers are a bbox or a GDAL fragment, not a transform)",
                9: " (the 3 x 3 matrix; drop the last row 0, 0, 1)"}.get(len(numbers), "")
        findings.append(finding("SPATIAL-TRANSFORM-LENGTH", key,
                                f"has {len(numbers)} numbers, not the six [a, b, c, d, e, f] "
                                f"of an affine transform{hint}"))
        return None
    transform = Affine(*numbers)
    if transform.is_degenerate:
        findings.append(finding("SPATIAL-TRANSFORM-DEGENERATE", key,
                                f"{list(numbers)} has a zero pixel size (determinant 0): it "
                                f"maps every cell to one line or point"))
        return None
    return transform


def shape_value(value: Any, key: str, findings: list[Finding]) -> tuple[int, int] | None:
    """``spatial:shape`` as (height, width), or None with a finding."""
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(item, int) and not isinstance(item, bool) and item >= 1
                       for item in value)):
        findings.append(finding("SPATIAL-SHAPE-INVALID", key,
                                f"{value!r} is not [height, width], two positive integers"))
        return None
    return value[0], value[1]


def _bbox_value(value: Any, key: str, findings: list[Finding]
                ) -> tuple[float, float, float, float] | None:
    numbers = _numbers(value, key, "SPATIAL-BBOX-INVALID", "spatial:bbox", findings)
    if numbers is None:
        return None
    if len(numbers) != 4:
        findings.append(finding("SPATIAL-BBOX-INVALID", key,
                                f"has {len(numbers)} numbers, not [xmin, ymin, xmax, ymax]"))
        return None
    xmin, ymin, xmax, ymax = numbers
    if xmin > xmax or ymin > ymax:
        findings.append(finding("SPATIAL-BBOX-INVALID", key,
                                f"{list(numbers)} is not [xmin, ymin, xmax, ymax]: a minimum "
                                f"exceeds its maximum"))
        return None
    return xmin, ymin, xmax, ymax


def _dimensions_value(value: Any, key: str, findings: list[Finding]) -> tuple[str, str] | None:
    if isinstance(value, list) and len(value) == 3 and all(isinstance(v, str) for v in value):
        findings.append(finding("SPATIAL-DIMENSIONS-INVALID", key,
                                f"{value} has three names; v0.1 covers the two horizontal axes "
                                f"only, [Y, X] (GDAL 3.13 prepends a vertical axis): drop "
                                f"{value[0]!r}"))
        return None
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(name, str) and name for name in value)
            or value[0] == value[1]):
        findings.append(finding("SPATIAL-DIMENSIONS-INVALID", key,
                                f"{value!r} is not two distinct dimension names [Y, X]"))
        return None
    return value[0], value[1]


def _numbers(value: Any, key: str, code: str, name: str,
             findings: list[Finding]) -> tuple[float, ...] | None:
    if not isinstance(value, list) or not all(
            isinstance(item, (int, float)) and not isinstance(item, bool) and math.isfinite(item)
            for item in value):
        findings.append(finding(code, key, f"{_short(value)} is not a list of finite numbers "
                                           f"({name} holds JSON numbers, not strings)"))
        return None
    return tuple(float(item) for item in value)


def _check_values(node: Node, findings: list[Finding]) -> dict[str, Located]:
    """Check each ``spatial:`` key of ``node``; the usable values by key."""
    usable: dict[str, Located] = {}
    for name, value in spatial_keys_of(node.attributes).items():
        key = node.attribute_key(name)
        parsed: Any = None
        if name == "spatial:dimensions":
            parsed = _dimensions_value(value, key, findings)
        elif name == "spatial:transform":
            parsed = transform_value(value, key, findings)
        elif name == "spatial:shape":
            parsed = shape_value(value, key, findings)
        elif name == "spatial:bbox":
            parsed = _bbox_value(value, key, findings)
        elif name == "spatial:registration":
            if value in ("pixel", "node"):
                parsed = value
            else:
                findings.append(finding("SPATIAL-REGISTRATION-INVALID", key,
                                        f"{value!r} is neither 'pixel' (cells between grid "
                                        f"lines, GeoTIFF PixelIsArea) nor 'node' (cells centred "
                                        f"on them, PixelIsPoint)"))
        elif name == "spatial:transform_type":
            parsed = value
            if value != "affine":
                findings.append(finding("SPATIAL-TRANSFORM-TYPE-UNKNOWN", key,
                                        f"{value!r} is not 'affine', the one type v0.1 defines; "
                                        f"readers skip spatial:transform"))
        else:
            hint = f"; did you mean {_HINTS[name]}?" if name in _HINTS else ""
            findings.append(finding("SPATIAL-UNKNOWN-KEY", key,
                                    f"{name} is not a spatial v0.1 key{hint}"))
        if parsed is not None:
            usable[name] = Located(parsed, key)
    return usable


# -- geometry -----------------------------------------------------------------------------------
def extent(transform: Affine, size: tuple[int, int], registration: str
           ) -> tuple[float, float, float, float]:
    """``[xmin, ymin, xmax, ymax]`` of a grid of ``size`` (height, width): its outer cell
    corners (``"pixel"``), or its outer cell centres (``"node"``, where the transform maps
    index (0, 0) to the centre of the first cell)."""
    height, width = size
    last = (width - 1, height - 1) if registration == "node" else (width, height)
    corners = [transform @ (col, row) for col in (0, last[0]) for row in (0, last[1])]
    xs = [x for x, _ in corners]
    ys = [y for _, y in corners]
    return min(xs), min(ys), max(xs), max(ys)


def cell_size(transform: Affine) -> float:
    """The longer side of one cell, in CRS units."""
    return max(math.hypot(transform.a, transform.d), math.hypot(transform.b, transform.e))


def bbox_mismatch(bbox: tuple[float, float, float, float], transform: Affine,
                  size: tuple[int, int], registration: str, cells: float = 0.5
                  ) -> tuple[float, float, float, float] | None:
    """The extent the transform gives, when ``bbox`` is further than ``cells`` cells from it;
    None when they agree."""
    expected = extent(transform, size, registration)
    tolerance = cells * cell_size(transform)
    if all(abs(a - b) <= tolerance + 1e-9 * max(abs(a), abs(b))
           for a, b in zip(bbox, expected)):
        return None
    return expected


# -- consistency --------------------------------------------------------------------------------
def spatial_axes(node: Node, dims: tuple[str, str] | None) -> tuple[int, int] | None:
    """The (y, x) axis indexes ``dims`` name in ``node``'s dimensions, or None."""
    names = node.dimension_names
    if dims is None or names is None or dims[0] not in names or dims[1] not in names:
        return None
    return names.index(dims[0]), names.index(dims[1])


def _check_array(hierarchy: Hierarchy, node: Node,
                 values: Mapping[str, Mapping[str, Located]]) -> list[Finding]:
    own = values.get(node.path, {})
    parent = hierarchy.parent(node)
    inherited = values.get(parent.path, {}) if parent is not None else {}
    shape = node.shape
    declared = declares(node, SPATIAL)
    own_keys = spatial_keys_of(node.attributes)
    if shape is None or (not own_keys and not declared and not inherited):
        return []
    effective = {**inherited, **own}
    findings: list[Finding] = []
    dims_found = effective.get("spatial:dimensions")
    dims = dims_found.value if dims_found else None
    if declared and "spatial:dimensions" not in own_keys:
        if dims_found is not None:
            findings.append(finding(
                "SPATIAL-DIMENSIONS-NOT-ON-ARRAY", node.attribute_key("zarr_conventions"),
                f"declares spatial but takes spatial:dimensions {list(dims)} from its group; "
                f"v0.1 requires the key on every array that declares the convention"))
        elif "spatial:dimensions" not in (parent.attributes if parent else {}):
            findings.append(finding(
                "SPATIAL-DIMENSIONS-MISSING", node.attribute_key("zarr_conventions"),
                "declares spatial but has no spatial:dimensions [Y, X]: readers must guess "
                "which axes are the raster's"))
    uses_own = bool(own_keys) or declared
    if not uses_own:
        # Only group-level keys: they describe this array if it has the group's dimensions.
        if spatial_axes(node, dims) is None:
            return findings
    names = node.dimension_names
    if dims is not None and uses_own and "spatial:dimensions" in own:
        if names is None:
            findings.append(finding(
                "SPATIAL-NO-DIMENSION-NAMES", node.document_key,
                f"uses spatial:dimensions {list(dims)} but has no dimension names "
                f"({'dimension_names' if node.zarr_format == 3 else '_ARRAY_DIMENSIONS'}); "
                f"the convention requires them"))
        elif spatial_axes(node, dims) is None:
            missing = [name for name in dims if name not in names]
            findings.append(finding(
                "SPATIAL-DIMENSIONS-UNKNOWN", own["spatial:dimensions"].key,
                f"{', '.join(map(repr, missing))} not among the dimensions {list(names)} of "
                f"{node.display}"))
    axes = spatial_axes(node, dims)
    size = (shape[axes[0]], shape[axes[1]]) if axes is not None else None
    declared_shape = effective.get("spatial:shape")
    if declared_shape is not None and size is not None and declared_shape.value != size:
        findings.append(finding(
            "SPATIAL-SHAPE-MISMATCH", declared_shape.key,
            f"{list(declared_shape.value)} is not the [height, width] {list(size)} of "
            f"{node.display} (shape {list(shape)}, spatial dimensions {list(dims or ())})"))
    kind = effective.get("spatial:transform_type")
    affine = kind is None or kind.value == "affine"
    written = "spatial:transform" in own_keys or "spatial:transform" in spatial_keys_of(
        parent.attributes if parent is not None else {})
    if affine and uses_own and not written:
        where = ("zarr_conventions" if declared else next(iter(own_keys)))
        findings.append(finding(
            "SPATIAL-TRANSFORM-MISSING", node.attribute_key(where),
            f"{node.display} uses the spatial convention without a spatial:transform (on "
            f"itself or its group): readers cannot place its cells"))
    transform = effective.get("spatial:transform")
    bbox = effective.get("spatial:bbox")
    shapes = {found.value for found in (declared_shape,) if found is not None} | (
        {size} if size is not None else set())
    if (affine and transform is not None and bbox is not None and len(shapes) == 1
            and ("spatial:transform" in own or "spatial:bbox" in own)):
        # With a spatial:shape that is not the array's, the keys describe another grid: the
        # shape mismatch says so, and the bbox is not compared with either size.
        [grid] = shapes
        findings.extend(_compare_bbox(bbox, transform, grid, _registration(effective),
                                      node.display))
    return findings


def _check_group(hierarchy: Hierarchy, node: Node,
                 values: Mapping[str, Mapping[str, Located]]) -> list[Finding]:
    own = values.get(node.path, {})
    findings: list[Finding] = []
    children = [child for child in hierarchy.children(node.path)
                if child.kind == "array" and len(child.shape or ()) >= 2]
    dims = own.get("spatial:dimensions")
    if dims is not None and children and not any(
            spatial_axes(child, dims.value) is not None for child in children):
        findings.append(finding(
            "SPATIAL-DIMENSIONS-UNKNOWN", dims.key,
            f"{list(dims.value)} names the dimensions of none of the group's arrays "
            f"({', '.join(child.display for child in children[:3])}); group-level keys apply "
            f"to direct child arrays with those dimensions"))
    transform, bbox = own.get("spatial:transform"), own.get("spatial:bbox")
    kind = own.get("spatial:transform_type")
    if transform is None or bbox is None or (kind is not None and kind.value != "affine"):
        return findings
    grid = own["spatial:shape"].value if "spatial:shape" in own else None
    if grid is None and dims is not None:
        sizes = [(child.shape[axes[0]], child.shape[axes[1]]) for child in children
                 if child.shape and (axes := spatial_axes(child, dims.value)) is not None]
        grid = sizes[0] if sizes else None
    if grid is not None:
        findings.extend(_compare_bbox(bbox, transform, grid, _registration(own), node.display))
    return findings


def _registration(values: Mapping[str, Located]) -> str:
    found = values.get("spatial:registration")
    return str(found.value) if found is not None else "pixel"


def _compare_bbox(bbox: Located, transform: Located, grid: tuple[int, int],
                  registration: str, where: str) -> list[Finding]:
    expected = bbox_mismatch(bbox.value, transform.value, grid, registration)
    if expected is None:
        return []
    return [finding(
        "SPATIAL-BBOX-MISMATCH", bbox.key,
        f"{list(bbox.value)} is not {[round(v, 9) for v in expected]}, the extent of "
        f"spatial:transform over {grid[0]} x {grid[1]} cells ({registration} registration, "
        f"{where}); one of them is wrong")]


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
