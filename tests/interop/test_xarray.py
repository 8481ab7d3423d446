"""xarray opens what geozarr writes, and geozarr reads what xarray writes.

xarray finds dimension names in v3 ``dimension_names`` and in the v2 ``_ARRAY_DIMENSIONS``
attribute; geozarr's ``dimension_names`` argument must produce whichever the format uses.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import zarr

import geozarr

from .conftest import assert_same, sample

NAN = float("nan")


def write_dataset_with_geozarr(root: Path, zarr_format: int,
                               consolidated: bool) -> dict[str, np.ndarray]:
    """A small CF-like dataset: a 3-d float variable, a 2-d integer one, three 1-d coordinates."""
    values = {
        "temperature": sample("<f4", (3, 9, 7), seed=1, specials=False),
        "counts": np.arange(63, dtype="<i2").reshape(9, 7),
        "time": np.array([0, 6, 12], dtype="<i8"),
        "y": np.linspace(50.0, 48.0, 9),
        "x": np.linspace(10.0, 11.5, 7),
    }
    g = geozarr.open_group(str(root), mode="w", zarr_format=zarr_format)
    g.attrs["title"] = "written by geozarr"
    temperature = g.create_array("temperature", shape=(3, 9, 7), dtype="<f4", chunks=(1, 4, 4),
                                 fill_value=NAN, dimension_names=("time", "y", "x"),
                                 attributes={"units": "K"})
    temperature[:, :6] = values["temperature"][:, :6]  # the last rows' chunks stay missing
    values["temperature"][:, 6:] = NAN
    counts = g.create_array("counts", shape=(9, 7), dtype="<i2", chunks=(4, 4), fill_value=-1,
                            dimension_names=("y", "x"))
    counts[...] = values["counts"]
    time = g.create_array("time", shape=(3,), dtype="<i8", chunks=(3,), fill_value=-9999,
                          dimension_names=("time",),
                          attributes={"units": "hours since 2024-01-01",
                                      "calendar": "proleptic_gregorian"})
    time[...] = values["time"]
    for name in ("y", "x"):
        coordinate = g.create_array(name, shape=values[name].shape, dtype="<f8", chunks=(4,),
                                    fill_value=NAN, dimension_names=(name,))
        coordinate[...] = values[name]
    if consolidated:
        geozarr.consolidate_metadata(str(root))
    return values


@pytest.mark.parametrize(
    ("zarr_format", "consolidated"), [(2, True), (2, False), (3, True), (3, False)],
    ids=["v2-consolidated", "v2", "v3-consolidated", "v3"],
)
def test_xarray_opens_geozarr_store(zarr_format: int, consolidated: bool, tmp_path: Path) -> None:
    root = tmp_path / "geozarr.zarr"
    values = write_dataset_with_geozarr(root, zarr_format, consolidated)

    ds = xr.open_zarr(root, consolidated=consolidated, zarr_format=zarr_format)
    assert dict(ds.sizes) == {"time": 3, "y": 9, "x": 7}
    assert ds["temperature"].dims == ("time", "y", "x")
    assert ds["counts"].dims == ("y", "x")
    assert set(ds.coords) == {"time", "y", "x"}
    assert ds.attrs["title"] == "written by geozarr"
    assert ds["temperature"].attrs["units"] == "K"
    assert_same(ds["temperature"].values, values["temperature"])
    # xarray masks the fill value -1 (none present) in v2, turning the integers into floats
    np.testing.assert_array_equal(ds["counts"].values, values["counts"], strict=False)
    assert_same(ds["y"].values, values["y"])
    assert_same(ds["x"].values, values["x"])
    expected_times = pd.to_datetime(["2024-01-01T00:00", "2024-01-01T06:00", "2024-01-01T12:00"])
    assert_same(ds["time"].values, expected_times.values.astype("datetime64[ns]"))
    window = ds["temperature"].isel(time=1, y=slice(2, 8), x=slice(None, None, -2)).values
    assert_same(window, values["temperature"][1, 2:8, ::-2])


@pytest.mark.parametrize(
    ("zarr_format", "consolidated"), [(2, True), (3, True), (3, False)],
    ids=["v2-consolidated", "v3-consolidated", "v3"],
)
def test_geozarr_reads_xarray_store(zarr_format: int, consolidated: bool, tmp_path: Path) -> None:
    root = tmp_path / "xarray.zarr"
    temperature = sample("<f4", (2, 9, 7), seed=4)
    ds = xr.Dataset(
        {
            "temperature": (("time", "y", "x"), temperature, {"units": "K"}),
            "mask": (("y", "x"), sample("|b1", (9, 7), seed=5)),
        },
        coords={
            "time": pd.to_datetime(["2024-01-01", "2024-01-02"]),
            "y": np.linspace(50.0, 48.0, 9),
            "x": np.linspace(10.0, 11.5, 7),
        },
        attrs={"title": "written by xarray"},
    )
    ds.to_zarr(root, zarr_format=zarr_format, consolidated=consolidated,
               encoding={"temperature": {"chunks": (1, 4, 4)}})
    reference = zarr.open_group(zarr.storage.LocalStore(root, read_only=True), mode="r")

    g = geozarr.open_group(str(root))
    assert g.attrs["title"] == "written by xarray"
    assert list(g) == sorted(["temperature", "mask", "time", "y", "x"])
    dims = {"temperature": ("time", "y", "x"), "mask": ("y", "x"), "time": ("time",),
            "y": ("y",), "x": ("x",)}
    for name, names in dims.items():
        a = g[name]
        assert tuple(a.dimension_names) == names
        assert_same(a[...], reference[name][...])  # the stored (encoded) values
    assert tuple(g["temperature"].chunks) == (1, 4, 4)
    assert_same(g["temperature"][...], temperature)
    assert_same(g["y"][...], ds["y"].values)
    assert g["temperature"].attrs["units"] == "K"
    assert "days since" in g["time"].attrs["units"] or "hours since" in g["time"].attrs["units"]
