"""Datasets written by netCDF4 (netcdf-c 4.10) in NCZarr mode: geozarr's raster layer reports
what GDAL reports for the same dataset, and the dimensions netCDF4 reads back.

One netCDF dataset, ``temp(time, y, x)`` with a CF ``grid_mapping`` (EPSG:32633), coordinate
variables and a ``_FillValue``, is stored five ways:

* ``nczarr``: netcdf-c's NCZarr 2 output (``_ARRAY_DIMENSIONS`` plus ``_nczarr_array`` and
  ``_nczarr_attr`` in ``.zattrs``, ``_nczarr_group``/``_nczarr_superblock`` on the root);
* ``zarr``: netcdf-c's pure Zarr output (``_ARRAY_DIMENSIONS`` only);
* ``nczarr_legacy``: the same store rewritten the way earlier netcdf-c wrote NCZarr 2.0.0:
  ``_NCZARR_ARRAY.dimrefs`` inside ``.zarray``, ``_NCZARR_GROUP`` / ``_NCZARR_SUPERBLOCK``
  inside ``.zgroup`` (GDAL's test data ``nczarr_v2.zarr`` has this shape);
* ``nczarr_only``: NCZarr with ``_ARRAY_DIMENSIONS`` removed, so that the dimension names are
  only in ``_nczarr_array.dimension_references``;
* ``noxarray``: netcdf-c's ``noxarray`` mode, which writes no dimension names at all.

GDAL 3.10 is the reference wherever it reads the dimensions. It does not read
``_nczarr_array`` (it opens ``nczarr_only`` with anonymous dimensions and no transform), so
there the reference is netCDF4 for the dimensions and values, and GDAL's reading of the very
same bytes with ``_ARRAY_DIMENSIONS`` (``nczarr``) for the georeferencing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import netCDF4
import numpy as np
import pyproj
import pytest

from .geo_helpers import (
    assert_matches_gdal,
    assert_same_coordinate_helpers,
    assert_same_georeferencing,
    assert_same_pixels,
    assert_same_reads,
    gdal_open,
    open_geozarr,
)

HEIGHT, WIDTH, STEPS = 20, 30, 2
FILL = -999.0
VARIABLE = "temp"
NAMES = ("time", "y", "x")


def _netcdf(path: Path, mode: str) -> None:
    """Write the dataset with netCDF4 as a Zarr store at ``path`` (``mode`` is netcdf-c's
    ``#mode=`` fragment)."""
    ds = netCDF4.Dataset(f"file://{path.resolve()}#mode={mode}", "w")
    try:
        for name, size in zip(NAMES, (STEPS, HEIGHT, WIDTH)):
            ds.createDimension(name, size)
        time = ds.createVariable("time", "f8", ("time",))
        time.units, time.calendar = "days since 2000-01-01", "standard"
        time[:] = [0.0, 31.0]
        for name, count, origin, step, standard_name in (
                ("y", HEIGHT, 5000000.0, -10.0, "projection_y_coordinate"),
                ("x", WIDTH, 500000.0, 10.0, "projection_x_coordinate")):
            coordinate = ds.createVariable(name, "f8", (name,))
            coordinate.standard_name, coordinate.units = standard_name, "m"
            coordinate[:] = origin + step * (np.arange(count) + 0.5)
        crs = ds.createVariable("crs", "i4", ())
        for key, value in pyproj.CRS.from_epsg(32633).to_cf().items():
            setattr(crs, key, value)
        temp = ds.createVariable(VARIABLE, "f4", NAMES, fill_value=FILL)
        temp.grid_mapping = "crs"
        temp.units = "K"
        temp.set_auto_mask(False)
        temp[:] = values()
    finally:
        ds.close()


def values() -> np.ndarray:
    """The values of ``temp``: a ramp with the fill value on a diagonal."""
    ramp = (np.arange(STEPS * HEIGHT * WIDTH) * 17 % 503 * 0.5).astype("float32")
    ramp[::29] = FILL
    return ramp.reshape(STEPS, HEIGHT, WIDTH)


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def _dump(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document))


def _arrays(root: Path) -> list[Path]:
    return sorted(folder for folder in root.iterdir() if (folder / ".zarray").exists())


def _legacy(source: Path, target: Path) -> None:
    """Rewrite netcdf-c 4.10's NCZarr into the earlier NCZarr 2.0.0 spelling."""
    shutil.copytree(source, target)
    for folder in _arrays(target):
        attrs, array = _load(folder / ".zattrs"), _load(folder / ".zarray")
        attrs.pop("_ARRAY_DIMENSIONS", None)
        attrs.pop("_nczarr_attr", None)
        nczarr = attrs.pop("_nczarr_array")
        array["_NCZARR_ARRAY"] = {"dimrefs": nczarr["dimension_references"],
                                  "storage": nczarr["storage"]}
        _dump(folder / ".zattrs", attrs)
        _dump(folder / ".zarray", array)
    root_attrs = _load(target / ".zattrs")
    group = root_attrs.pop("_nczarr_group")
    superblock = root_attrs.pop("_nczarr_superblock")
    root_attrs.pop("_nczarr_attr", None)
    _dump(target / ".zattrs", root_attrs)
    _dump(target / ".zgroup", {
        "zarr_format": 2, "_NCZARR_SUPERBLOCK": superblock,
        "_NCZARR_GROUP": {"dims": group["dimensions"], "vars": group["arrays"],
                          "groups": group["groups"]}})


def _without_array_dimensions(source: Path, target: Path) -> None:
    shutil.copytree(source, target)
    for folder in _arrays(target):
        attrs = _load(folder / ".zattrs")
        attrs.pop("_ARRAY_DIMENSIONS")
        _dump(folder / ".zattrs", attrs)


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("nczarr")
    paths = {name: root / f"{name}.zarr" for name in
             ("nczarr", "zarr", "nczarr_legacy", "nczarr_only", "noxarray")}
    _netcdf(paths["nczarr"], "nczarr,file")
    _netcdf(paths["zarr"], "zarr,file")
    _netcdf(paths["noxarray"], "nczarr,file,noxarray")
    _legacy(paths["nczarr"], paths["nczarr_legacy"])
    _without_array_dimensions(paths["nczarr"], paths["nczarr_only"])
    return paths


def test_the_stores_have_the_shapes_described(stores: dict[str, Path]) -> None:
    """Guard the premises: each store spells (or omits) the dimensions as the docstring says."""
    assert "_nczarr_array" in _load(stores["nczarr"] / VARIABLE / ".zattrs")
    assert "_NCZARR_ARRAY" in _load(stores["nczarr_legacy"] / VARIABLE / ".zarray")
    only = _load(stores["nczarr_only"] / VARIABLE / ".zattrs")
    assert "_ARRAY_DIMENSIONS" not in only and "_nczarr_array" in only
    bare = _load(stores["noxarray"] / VARIABLE / ".zattrs")
    assert not {"_ARRAY_DIMENSIONS", "_nczarr_array"} & set(bare)


@pytest.mark.parametrize("variant", ["nczarr", "zarr", "nczarr_legacy"])
def test_matches_gdal(stores: dict[str, Path], variant: str) -> None:
    reader, _ = open_geozarr(str(stores[variant]), array=VARIABLE)
    with gdal_open(stores[variant], VARIABLE) as reference:
        assert reference.crs is not None and reference.transform.e == -10.0  # GDAL's premise
        assert_matches_gdal(reader, reference)
        assert_same_reads(reader, reference)
        assert_same_coordinate_helpers(reader, reference)
    assert_same_pixels(reader.read(), values())
    assert tuple(reader.dims) == NAMES
    assert (reader.y_dim, reader.x_dim, tuple(reader.band_dims)) == ("y", "x", ("time",))


def test_dimensions_only_in_nczarr_array(stores: dict[str, Path]) -> None:
    """GDAL 3.10 does not read ``_nczarr_array`` (it sees anonymous dimensions and no
    transform here), so the references are netCDF4 (dimensions, values) and GDAL's reading of
    the same store with ``_ARRAY_DIMENSIONS`` (georeferencing, band tags)."""
    path = stores["nczarr_only"]
    dataset = netCDF4.Dataset(f"file://{path.resolve()}#mode=nczarr,file")
    try:
        variable = dataset[VARIABLE]
        variable.set_auto_mask(False)
        expected_dims, expected_values = variable.dimensions, np.asarray(variable[:])
    finally:
        dataset.close()
    assert expected_dims == NAMES
    reader, _ = open_geozarr(str(path), array=VARIABLE)
    assert tuple(reader.dims) == expected_dims
    assert_same_pixels(reader.read(), expected_values)
    with gdal_open(stores["nczarr"], VARIABLE) as reference:
        assert_matches_gdal(reader, reference)
        assert_same_reads(reader, reference)


def test_no_dimension_names_at_all(stores: dict[str, Path]) -> None:
    """``noxarray``: no names, so the last two dimensions are y and x (as GDAL takes them),
    the coordinate variables cannot be tied to them, and the grid mapping still gives the
    CRS. GDAL names the band dimension "dim0"; the name is ours to choose, the index is not."""
    path = stores["noxarray"]
    reader, _ = open_geozarr(str(path), array=VARIABLE)
    with gdal_open(path, VARIABLE) as reference:
        assert reference.crs is not None and reference.transform.is_identity  # GDAL's premise
        assert_same_georeferencing(reader, reference)
        assert_same_pixels(reader.read(), reference.read())
        for band in reference.indexes:
            indexes = [value for key, value in reader.tags(band).items()
                       if key.startswith("DIM_") and key.endswith("_INDEX")]
            assert indexes == [str(band - 1)], reader.tags(band)
