"""The ``multiscales`` convention v0.1: a group's ``layout`` against the levels it lists.

The layout must be a non-empty array of entries whose ``asset`` (and ``derived_from``) are
safe relative paths naming existing nodes; a derived level needs a ``transform`` whose
``scale``/``translation`` have one entry per dimension (or two, for the spatial axes); the
level shapes must follow from their source and scale; per-level ``spatial:shape`` and
``spatial:transform`` (the ``spatial`` convention composed into layout entries) must match
the level arrays, their scale, and the level's own georeferencing; levels should be listed
finest first, hold the same arrays, and be described by consolidated metadata.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from affine import Affine

from geozarr.validate.codes import finding
from geozarr.validate.consolidated_checks import is_consolidated
from geozarr.validate.convention_checks import MULTISCALES, SPATIAL, declares, spatial_keys_of
from geozarr.validate.hierarchy import Hierarchy, Node, join_path
from geozarr.validate.report import Finding
from geozarr.validate.spatial_checks import (
    bbox_mismatch,
    cell_size,
    extent,
    shape_value,
    spatial_axes,
    transform_value,
)

#: Relative tolerance between a level's cell size and its source's times the scale.
SCALE_TOLERANCE = 1e-4


@dataclass(eq=False)
class _Level:
    """One layout entry, filled in by :func:`_resolve` as it is resolved against the
    hierarchy (a working record of this module, not a value handed out)."""

    index: int
    key: str
    entry: Mapping[str, Any]
    asset: str | None = None
    node: Node | None = None
    derived_from: str | None = None
    scale: tuple[float, ...] | None = None
    transform: Affine | None = None
    layout_shape: tuple[int, int] | None = None
    arrays: dict[str, Node] = field(default_factory=dict)
    axes: tuple[int, int] | None = None
    size: tuple[int, int] | None = None

    @property
    def ndim(self) -> int | None:
        """The dimension count of the level's data: its arrays of the most dimensions."""
        counts = [len(array.shape) for array in self.arrays.values() if array.shape is not None]
        return max(counts) if counts else None

    @property
    def upsampled(self) -> bool:
        """Whether the level is finer than its source (every scale factor below 1)."""
        return self.scale is not None and all(value < 1 for value in self.scale)


def check_multiscales(hierarchy: Hierarchy) -> list[Finding]:
    """Every ``multiscales`` attribute, and every node declaring the convention."""
    findings: list[Finding] = []
    for node in sorted(hierarchy.nodes.values(), key=lambda found: found.path):
        if "multiscales" not in node.attributes:
            if declares(node, MULTISCALES):
                findings.append(finding("MULTISCALES-MISSING",
                                        node.attribute_key("zarr_conventions"),
                                        "declares multiscales but has no multiscales "
                                        "attribute"))
            continue
        if node.kind == "array":
            findings.append(finding("MULTISCALES-ON-ARRAY", node.attribute_key("multiscales"),
                                    "multiscales describes a group of levels; put it on the "
                                    "group holding them"))
        elif node.kind == "group":
            findings.extend(_check_group(hierarchy, node))
    return findings


def _check_group(hierarchy: Hierarchy, group: Node) -> list[Finding]:
    findings: list[Finding] = []
    levels = _parse_layout(group, findings)
    if levels is None:
        return findings
    for level in levels:
        _resolve(hierarchy, group, level, findings)
    _check_assets(hierarchy, group, levels, findings)
    by_asset = {level.asset: level for level in levels if level.asset is not None}
    _check_derivation(levels, by_asset, findings)
    for level in levels:
        source = by_asset.get(level.derived_from) if level.derived_from else None
        _check_level(level, source, findings)
    _check_spatial_presence(group, levels, findings)
    _check_order(levels, findings)
    _check_level_arrays(levels, findings)
    _check_extent(group, levels, findings)
    if not is_consolidated(hierarchy, group.path):
        findings.append(finding(
            "MULTISCALES-NOT-CONSOLIDATED", group.attribute_key("multiscales"),
            f"no consolidated metadata describes {group.display}; the convention asks for it "
            f"so that clients (OpenLayers...) discover every level in one request"))
    return findings


def _parse_layout(group: Node, findings: list[Finding]) -> list[_Level] | None:
    """The layout entries, or None when the attribute is not the v0.1 form."""
    raw = group.attributes["multiscales"]
    key = group.attribute_key("multiscales")
    if isinstance(raw, list):
        findings.append(finding("MULTISCALES-LEGACY-FORM", key,
                                "a list of {datasets: [...]} (the OME-NGFF / ndpyramid form); "
                                "v0.1 is an object with a layout array"))
        return None
    if not isinstance(raw, Mapping):
        findings.append(finding("MULTISCALES-INVALID", key,
                                f"{raw!r} is not an object with a layout array"))
        return None
    method = raw.get("resampling_method")
    if method is not None and not isinstance(method, str):
        findings.append(finding("MULTISCALES-INVALID", f"{key}/resampling_method",
                                f"{method!r} is not a string"))
    layout = raw.get("layout")
    if layout is None and "tile_matrix_set" in raw:
        findings.append(finding("MULTISCALES-LEGACY-FORM", key,
                                "tile_matrix_set without a layout is the GeoZarr 0.4 form; "
                                "v0.1 readers need layout (keep tile_matrix_set beside it)"))
        return None
    if not isinstance(layout, list) or not layout:
        findings.append(finding("MULTISCALES-INVALID", key,
                                "layout must be a non-empty array of levels"))
        return None
    levels = []
    for index, entry in enumerate(layout):
        entry_key = group.attribute_key("multiscales", "layout", index)
        if not isinstance(entry, Mapping):
            findings.append(finding("MULTISCALES-INVALID", entry_key,
                                    f"{entry!r} is not a layout object"))
            continue
        if "asset" not in entry and ("group" in entry or "from_group" in entry):
            findings.append(finding("MULTISCALES-LEGACY-FORM", entry_key,
                                    "group/from_group is the draft 0.1.0 form; v0.1 writes "
                                    "asset, derived_from and transform {scale, translation}"))
            return None
        method = entry.get("resampling_method")
        if method is not None and not isinstance(method, str):
            findings.append(finding("MULTISCALES-INVALID", f"{entry_key}/resampling_method",
                                    f"{method!r} is not a string"))
        levels.append(_Level(index, entry_key, entry))
    return levels


def _safe_path(value: Any, key: str, member: str, findings: list[Finding]) -> str | None:
    if not isinstance(value, str) or not value:
        findings.append(finding("MULTISCALES-ASSET-PATH", f"{key}/{member}",
                                f"{member} must be a non-empty path, not {value!r}"))
        return None
    if value.startswith("/") or any(part in ("", ".", "..") for part in value.split("/")):
        findings.append(finding("MULTISCALES-ASSET-PATH", f"{key}/{member}",
                                f"{value!r} is not a relative path below the group (no leading "
                                f"'/', no '.', '..' or empty segments)"))
        return None
    return value


def _resolve(hierarchy: Hierarchy, group: Node, level: _Level,
             findings: list[Finding]) -> None:
    """Fill in the level's asset node, arrays, transform values and sizes."""
    entry = level.entry
    level.asset = _safe_path(entry.get("asset"), level.key, "asset", findings)
    if "derived_from" in entry:
        level.derived_from = _safe_path(entry["derived_from"], level.key, "derived_from",
                                        findings)
    if level.asset is not None:
        level.node = hierarchy.node(join_path(group.path, level.asset))
    node = level.node
    if node is not None and node.kind == "array":
        level.arrays = {"": node}
    elif node is not None:
        level.arrays = {child.name: child for child in hierarchy.children(node.path)
                        if child.kind == "array"}
    level.scale = _scale(level, findings)
    if "spatial:shape" in entry:
        level.layout_shape = shape_value(entry["spatial:shape"], f"{level.key}/spatial:shape",
                                         findings)
    if "spatial:transform" in entry:
        level.transform = transform_value(entry["spatial:transform"],
                                          f"{level.key}/spatial:transform", findings)
    candidates = [_dimensions(group), _dimensions(node)]
    for array in sorted(level.arrays.values(),
                        key=lambda found: (-len(found.shape or ()), found.path)):
        shape = array.shape
        if shape is None or len(shape) < 2:
            continue
        axes = next((found for dims in [*candidates, _dimensions(array)]
                     if (found := spatial_axes(array, dims)) is not None),
                    (len(shape) - 2, len(shape) - 1))
        level.axes = axes
        level.size = (shape[axes[0]], shape[axes[1]])
        break


def _dimensions(node: Node | None) -> tuple[str, str] | None:
    value = node.attributes.get("spatial:dimensions") if node is not None else None
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value):
        return value[0], value[1]
    return None


def _scale(level: _Level, findings: list[Finding]) -> tuple[float, ...] | None:
    """Check ``transform``; the scale when it is usable."""
    entry = level.entry
    if "transform" not in entry:
        if level.derived_from is not None or "derived_from" in entry:
            hint = (" (scale belongs inside transform: {\"transform\": {\"scale\": [...]}})"
                    if "scale" in entry else "")
            findings.append(finding("MULTISCALES-TRANSFORM-MISSING", level.key,
                                    f"a level with derived_from needs a transform saying how it "
                                    f"relates to its source{hint}"))
        return None
    transform = entry["transform"]
    key = f"{level.key}/transform"
    if not isinstance(transform, Mapping):
        findings.append(finding("MULTISCALES-TRANSFORM-INVALID", key,
                                f"{transform!r} is not an object {{scale, translation}}"))
        return None
    lists: dict[str, tuple[float, ...]] = {}
    for member in ("scale", "translation"):
        value = transform.get(member)
        if value is None:
            continue
        if not isinstance(value, list) or not value or not all(
                isinstance(item, (int, float)) and not isinstance(item, bool)
                and math.isfinite(item) for item in value):
            findings.append(finding("MULTISCALES-TRANSFORM-INVALID", f"{key}/{member}",
                                    f"{value!r} is not a list of finite numbers"))
            continue
        if member == "scale" and any(item <= 0 for item in value):
            findings.append(finding("MULTISCALES-TRANSFORM-INVALID", f"{key}/scale",
                                    f"{value} holds a factor <= 0; a scale is positive"))
            continue
        lists[member] = tuple(float(item) for item in value)
    if "scale" in lists and "translation" in lists \
            and len(lists["scale"]) != len(lists["translation"]):
        findings.append(finding("MULTISCALES-SCALE-LENGTH", key,
                                f"scale has {len(lists['scale'])} entries but translation "
                                f"{len(lists['translation'])}; both have one per axis"))
    return lists.get("scale")


def _check_assets(hierarchy: Hierarchy, group: Node, levels: list[_Level],
                  findings: list[Finding]) -> None:
    listed = {level.asset.split("/", 1)[0] for level in levels if level.asset}
    unlisted = [child for child in hierarchy.children(group.path) if child.name not in listed]
    seen: set[str] = set()
    for level in levels:
        if level.asset is None:
            continue
        if level.asset in seen:
            findings.append(finding("MULTISCALES-ASSET-DUPLICATE", f"{level.key}/asset",
                                    f"{level.asset!r} is listed twice"))
        seen.add(level.asset)
        if level.node is None:
            hint = (f"; the group's unlisted children are "
                    f"{', '.join(repr(child.name) for child in unlisted[:5])}"
                    if unlisted else "")
            findings.append(finding(
                "MULTISCALES-ASSET-NOT-FOUND", f"{level.key}/asset",
                f"no array or group at /{join_path(group.path, level.asset)}: level names "
                f"must match the layout's assets{hint}"))
    for child in unlisted:
        findings.append(finding(
            "MULTISCALES-UNLISTED-CHILD", child.document_key,
            f"{child.display} is a child of the multiscales group {group.display} but no layout "
            f"entry lists it; clients do not see it as a level"))


def _check_derivation(levels: list[_Level], by_asset: Mapping[str, _Level],
                      findings: list[Finding]) -> None:
    for level in levels:
        source = level.derived_from
        if source is None:
            continue
        if source == level.asset or source not in by_asset:
            what = "itself" if source == level.asset else "no level of the layout"
            findings.append(finding("MULTISCALES-DERIVED-FROM-UNKNOWN",
                                    f"{level.key}/derived_from",
                                    f"{source!r} names {what}; derived_from must name another "
                                    f"level's asset"))
    reported: set[int] = set()
    by_index = {level.index: level for level in levels}
    for level in levels:
        visited: list[int] = []
        current: _Level | None = level
        while current is not None and current.index not in visited:
            visited.append(current.index)
            following = by_asset.get(current.derived_from) if current.derived_from else None
            current = None if following is current else following
        if current is not None and current.index not in reported:
            cycle = visited[visited.index(current.index):]
            reported.update(cycle)
            names = " -> ".join(str(by_index[index].asset) for index in [*cycle, cycle[0]])
            findings.append(finding(
                "MULTISCALES-DERIVED-FROM-UNKNOWN", f"{current.key}/derived_from",
                f"levels derive from each other in a cycle ({names}); one level must be the "
                f"source of the others"))


def _axis_scales(level: _Level) -> dict[int, float] | None:
    """The scale factor of each axis the scale covers, by axis index."""
    ndim, scale = level.ndim, level.scale
    if scale is None or ndim is None:
        return None
    if len(scale) == ndim:
        return dict(enumerate(scale))
    if len(scale) == 2 and ndim >= 2:
        y_axis, x_axis = level.axes or (ndim - 2, ndim - 1)
        return {y_axis: scale[0], x_axis: scale[1]}
    return None


def _check_level(level: _Level, source: _Level | None, findings: list[Finding]) -> None:
    ndim = level.ndim
    if level.scale is not None and ndim is not None:
        count = len(level.scale)
        if count not in (2, ndim):
            findings.append(finding(
                "MULTISCALES-SCALE-LENGTH", f"{level.key}/transform/scale",
                f"has {count} entries for arrays of {ndim} dimensions; give one per dimension "
                f"(1.0 for the non-spatial ones)"))
        elif count != ndim:
            findings.append(finding(
                "MULTISCALES-SCALE-NDIM", f"{level.key}/transform/scale",
                f"has 2 entries for arrays of {ndim} dimensions; GDAL ignores levels whose "
                f"scale does not have one entry per dimension"))
    if level.layout_shape is not None and level.size is not None \
            and level.layout_shape != level.size:
        findings.append(finding(
            "MULTISCALES-LEVEL-SHAPE", f"{level.key}/spatial:shape",
            f"{list(level.layout_shape)} is not the [height, width] {list(level.size)} of the "
            f"level's arrays"))
    if source is not None:
        _check_against_source(level, source, findings)
    own = _own_transform(level)
    grid = level.layout_shape or level.size
    if own is not None and level.transform is not None and grid is not None \
            and bbox_mismatch(extent(own, grid, "pixel"), level.transform, grid,
                              "pixel") is not None:
        findings.append(finding(
            "MULTISCALES-LEVEL-GEOREF", f"{level.key}/spatial:transform",
            f"{list(level.transform)[:6]} disagrees with the level's own spatial:transform "
            f"{list(own)[:6]} by more than half a cell: the level is placed differently when "
            f"opened through the pyramid and alone"))


def _check_against_source(level: _Level, source: _Level, findings: list[Finding]) -> None:
    scales = _axis_scales(level)
    if scales is None:
        return
    for name, array in level.arrays.items():
        original = source.arrays.get(name)
        if original is None or array.shape is None or original.shape is None \
                or not len(array.shape) == len(original.shape) == level.ndim:
            continue
        for axis, factor in scales.items():
            expected = original.shape[axis] / factor
            if abs(array.shape[axis] - expected) > 1:
                findings.append(finding(
                    "MULTISCALES-SCALE-MISMATCH", f"{level.key}/transform/scale",
                    f"{array.display} has {array.shape[axis]} cells along axis {axis}, but "
                    f"{original.display} ({original.shape[axis]}) scaled by {factor:g} gives "
                    f"about {expected:g}"))
                return
    if level.transform is None or source.transform is None or level.axes is None:
        return
    y_axis, x_axis = level.axes
    if x_axis not in scales or y_axis not in scales:
        return
    for label, step, factor in (
            ("x", lambda t: math.hypot(t.a, t.d), scales[x_axis]),
            ("y", lambda t: math.hypot(t.b, t.e), scales[y_axis])):
        ratio = step(level.transform) / step(source.transform)
        if abs(ratio - factor) > SCALE_TOLERANCE * factor:
            findings.append(finding(
                "MULTISCALES-LEVEL-TRANSFORM", f"{level.key}/spatial:transform",
                f"its {label} cell size is {ratio:g} times {source.asset!r}'s, but "
                f"transform.scale says {factor:g}; one of them is wrong (readers trust "
                f"spatial:transform)"))
            return


def _own_transform(level: _Level) -> Affine | None:
    """The spatial:transform the level's node (or its first array) carries itself."""
    node = level.node
    if node is None:
        return None
    candidates = [node, *sorted(level.arrays.values(), key=lambda found: found.path)] \
        if node.kind == "group" else [node]
    for candidate in candidates:
        value = spatial_keys_of(candidate.attributes).get("spatial:transform")
        if value is not None:
            return transform_value(value, candidate.attribute_key("spatial:transform"), [])
    return None


def _check_spatial_presence(group: Node, levels: list[_Level], findings: list[Finding]) -> None:
    uses_spatial = declares(group, SPATIAL) or bool(spatial_keys_of(group.attributes)) or any(
        key.startswith("spatial:") for level in levels for key in level.entry)
    if not uses_spatial:
        return
    for level in levels:
        if "spatial:transform" not in level.entry:
            findings.append(finding(
                "MULTISCALES-SPATIAL-TRANSFORM-MISSING", level.key,
                "no spatial:transform: clients that tile the pyramid (OpenLayers, titiler) need "
                "each level's transform, and transform.scale alone is ambiguous"))


def _check_order(levels: list[_Level], findings: list[Finding]) -> None:
    ordered = [level for level in levels if not level.upsampled]
    if all(level.transform is not None for level in ordered):
        measures = [cell_size(level.transform) for level in ordered
                    if level.transform is not None]
    elif all(level.size is not None for level in ordered):
        measures = [1.0 / (level.size[0] * level.size[1]) for level in ordered
                    if level.size is not None]
    else:
        return
    for previous, current, level in zip(measures, measures[1:], ordered[1:]):
        if current < previous * (1 - 1e-9):
            findings.append(finding(
                "MULTISCALES-LEVEL-ORDER", level.key,
                f"{level.asset!r} is finer than the level listed before it; list levels "
                f"finest first (upsampled levels, with scales below 1, may come last)"))
            return


def _check_level_arrays(levels: list[_Level], findings: list[Finding]) -> None:
    groups = [level for level in levels if level.node is not None and level.node.kind == "group"]
    if len(groups) < 2:
        return
    base = groups[0]
    for level in groups[1:]:
        missing = sorted(set(base.arrays) - set(level.arrays))
        extra = sorted(set(level.arrays) - set(base.arrays))
        differ = sorted(name for name in set(base.arrays) & set(level.arrays)
                        if _signature(base.arrays[name]) != _signature(level.arrays[name]))
        problems = [text for text in (
            f"lacks {', '.join(missing)}" if missing else "",
            f"adds {', '.join(extra)}" if extra else "",
            f"changes the data type or dimension count of {', '.join(differ)}" if differ else "",
        ) if text]
        if problems:
            findings.append(finding(
                "MULTISCALES-LEVEL-ARRAYS", f"{level.key}/asset",
                f"level {level.asset!r} {'; '.join(problems)} compared with {base.asset!r}; "
                f"readers (GDAL overviews) match levels by array name, dtype and dimensions"))


def _signature(node: Node) -> tuple[Any, ...]:
    metadata = node.metadata
    return (str(getattr(metadata, "dtype", None)), len(node.shape or ()))


def _check_extent(group: Node, levels: list[_Level], findings: list[Finding]) -> None:
    raw = spatial_keys_of(group.attributes)
    bbox = raw.get("spatial:bbox")
    if not (isinstance(bbox, list) and len(bbox) == 4
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in bbox)):
        return
    registration = raw.get("spatial:registration", "pixel")
    registration = registration if registration in ("pixel", "node") else "pixel"
    for level in levels:
        grid = level.layout_shape or level.size
        if level.transform is None or grid is None:
            continue
        cells = 0.5 if level.derived_from is None else 1.0
        expected = bbox_mismatch(tuple(float(v) for v in bbox), level.transform, grid,
                                 registration, cells)
        if expected is not None:
            findings.append(finding(
                "SPATIAL-BBOX-MISMATCH", group.attribute_key("spatial:bbox"),
                f"{bbox} is not {[round(v, 9) for v in expected]}, the extent of level "
                f"{level.asset!r} (its spatial:transform over {grid[0]} x {grid[1]} cells)"))
            return
