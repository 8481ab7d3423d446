"""``geozarr info``: what a Zarr store holds, like ``gdalinfo`` / ``gdalmdiminfo``."""

from __future__ import annotations

import json
import warnings
from typing import Any

import click


def describe(target: str) -> dict[str, Any]:
    """A JSON-ready description of every array of ``target``, georeferencing included."""
    import geozarr
    from geozarr.geo.hierarchy import walk_arrays

    dataset = geozarr.open(target)
    node = dataset.node
    arrays = [("/", node)] if isinstance(node, geozarr.Array) else list(walk_arrays(node))
    data_paths = set(dataset.arrays)
    entries = []
    for path, array in arrays:
        entry: dict[str, Any] = {
            "path": path, "shape": list(array.shape), "dtype": str(array.dtype),
            "chunks": list(array.chunks), "shards": list(array.shards) if array.shards else None,
            "zarr_format": array.zarr_format, "fill_value": _jsonable(array.fill_value),
            "dimensions": list(array.dimension_names) if array.dimension_names else None,
            "codecs": list(array.codecs) if array.codecs is not None else
            [c for c in [*(array.filters or ()), array.compressor] if c],
            "data_array": path in data_paths,
        }
        if path in data_paths:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                raster = dataset.open_raster(path)
            crs = raster.crs
            entry["raster"] = {
                "width": raster.width, "height": raster.height, "count": raster.count,
                "crs": crs.to_string() if crs else None,
                "epsg": crs.to_epsg() if crs else None,
                "transform": list(raster.transform)[:6], "bounds": list(raster.bounds),
                "nodata": _jsonable(raster.nodata), "band_dims": list(raster.band_dims),
                "warnings": [str(w.message) for w in caught],
            }
        entries.append(entry)
    return {"store": target, "conventions": _conventions(node), "arrays": entries,
            "subdatasets": dataset.subdatasets}


def _conventions(node: Any) -> dict[str, list[str]]:
    """Which conventions each node declares or uses: the GeoZarr ones by UUID (whatever name
    or URL they are written with), GDAL's ``_CRS`` and CF's ``grid_mapping``."""
    import geozarr
    from geozarr.geo.conventions import MULTISCALES_UUID, PROJ_UUID, SPATIAL_UUID, \
        declared_conventions

    names = {PROJ_UUID: "proj", SPATIAL_UUID: "spatial", MULTISCALES_UUID: "multiscales"}
    found: dict[str, list[str]] = {}

    def visit(path: str, item: Any) -> None:
        attrs = item.attrs
        kinds = {names[uuid] for uuid in declared_conventions(attrs) if uuid in names}
        if "_CRS" in attrs:
            kinds.add("gdal:_CRS")
        if "grid_mapping" in attrs:
            kinds.add("cf:grid_mapping")
        if isinstance(attrs.get("multiscales"), (dict, list)) and "multiscales" not in kinds:
            kinds.add("multiscales (legacy form)")
        if kinds:
            found[path] = sorted(kinds)
        if isinstance(item, geozarr.Group):
            for name, child in item.members():
                visit(f"{path.rstrip('/')}/{name}", child)

    visit("/", node)
    return found


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return "NaN"
    if isinstance(value, complex):
        return [value.real, value.imag]
    return value


@click.command()
@click.argument("target")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def info(target: str, as_json: bool) -> None:
    """Describe the arrays of TARGET (a path, .zip or ZARR: connection string)."""
    description = describe(target)
    if as_json:
        click.echo(json.dumps(description, indent=2))
        return
    click.echo(f"Store: {description['store']}")
    for path, kinds in description["conventions"].items():
        click.echo(f"Conventions at {path}: {', '.join(kinds)}")
    for entry in description["arrays"]:
        dims = ", ".join(entry["dimensions"] or []) or "-"
        shards = f" shards={tuple(entry['shards'])}" if entry["shards"] else ""
        click.echo(f"\n{entry['path']}  v{entry['zarr_format']}  {entry['dtype']}  "
                   f"shape={tuple(entry['shape'])} chunks={tuple(entry['chunks'])}{shards}")
        click.echo(f"  dimensions: {dims}")
        click.echo(f"  codecs: {', '.join(c.get('name') or c.get('id', '?') for c in entry['codecs']) or 'none'}")
        raster = entry.get("raster")
        if raster:
            click.echo(f"  raster: {raster['width']} x {raster['height']}, {raster['count']} band(s)")
            click.echo(f"  crs: {raster['crs'] or 'none'}")
            click.echo(f"  transform: {raster['transform']}")
            click.echo(f"  bounds: {raster['bounds']}")
            click.echo(f"  nodata: {raster['nodata']}")
            for message in raster["warnings"]:
                click.echo(f"  warning: {message}")
