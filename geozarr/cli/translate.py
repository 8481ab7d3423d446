"""``geozarr translate``: copy a raster between GeoTIFF (or anything rasterio reads or
writes) and GeoZarr, like ``gdal_translate``."""

from __future__ import annotations

import os
from typing import Any

import click

from geozarr.cli.options import ByteSize, Compressor, IntList


@click.command()
@click.argument("source")
@click.argument("destination")
@click.option("--driver", metavar="NAME",
              help="Output format: Zarr, GTiff, COG... [default: from DESTINATION's "
                   "extension; .zarr and .zip are Zarr]")
@click.option("--name", metavar="NAME",
              help="The data array's name in a Zarr output [default: DESTINATION's stem].")
@click.option("--chunks", type=IntList(repeat=2), default="512", show_default=True,
              help="Chunk shape ROWS,COLS of a Zarr output (tile size of a GeoTIFF); one "
                   "number for square chunks.")
@click.option("--shards", type=IntList(repeat=2),
              help="Shard shape ROWS,COLS of a Zarr v3 output (whole chunks).")
@click.option("--compressor", type=Compressor(), default="default", show_default=True,
              help="Zarr compressor: default (zstd:3), none, zstd[:level], zlib[:level], "
                   "gzip[:level], lz4, blosc[:cname[:clevel]], or numcodecs JSON.")
@click.option("--zarr-format", type=click.Choice(["2", "3"]), default="3", show_default=True,
              help="Zarr format version of a Zarr output.")
@click.option("-b", "--bands", type=IntList(),
              help="Bands to copy, 1-based, in output order (3,2,1). For a Zarr source, "
                   "fix dimensions with ZARR:\"path\":/array:index instead.")
@click.option("--co", "creation_options", multiple=True, metavar="NAME=VALUE",
              help="A GDAL creation option of a rasterio output (repeatable).")
@click.option("--memory-limit", type=ByteSize(), default="512M", show_default=True,
              help="Peak memory to stay under (512M, 2G...).")
@click.option("--overwrite", is_flag=True, help="Replace DESTINATION if it exists.")
def translate(source: str, destination: str, driver: str | None, name: str | None,
              chunks: tuple[int, int], shards: tuple[int, int] | None,
              compressor: str | dict[str, Any] | None, zarr_format: str,
              bands: tuple[int, ...] | None, creation_options: tuple[str, ...],
              memory_limit: int, overwrite: bool) -> None:
    """Copy the raster SOURCE to DESTINATION, GeoTIFF <-> GeoZarr.

    SOURCE is anything rasterio opens (GeoTIFF, COG, /vsicurl/...), a Zarr path, or a GDAL
    connection string ZARR:"path":/array:index. DESTINATION is a .zarr or .zip path (GeoZarr)
    or a file rasterio writes (.tif...). The output appears only once complete.
    """
    import geozarr
    from geozarr.cli.progress import progress_bar

    options = _creation_options(creation_options)
    if bands is not None:
        source = _band_subset(source, bands)
    with progress_bar("Translating", cancelled=f"nothing was written to {destination}") \
            as progress:
        geozarr.translate(source, destination, driver=driver, name=name, chunks=chunks,
                          shards=shards, compressor=compressor, zarr_format=int(zarr_format),
                          creation_options=options, overwrite=overwrite,
                          memory_limit=memory_limit, progress=progress)
    click.echo(f"Wrote {destination}: {_describe(destination, driver, name)}")


def _creation_options(pairs: tuple[str, ...]) -> dict[str, str]:
    options = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key.strip():
            raise click.BadParameter(f"expected NAME=VALUE, got {pair!r}",
                                     param_hint="'--co'")
        options[key.strip()] = value.strip()
    return options


def _band_subset(source: str, bands: tuple[int, ...]) -> str:
    """GDAL's ``vrt://`` connection for ``bands`` of a rasterio source (GDAL >= 3.7)."""
    from geozarr.raster.translate import is_zarr_source

    if is_zarr_source(source):
        raise click.BadParameter(
            "a Zarr source's bands are chosen with a connection string, "
            "ZARR:\"path\":/array:index (one index per non-spatial dimension)",
            param_hint="'--bands'")
    import rasterio
    from rasterio.errors import RasterioError

    try:
        with rasterio.open(source) as dataset:
            count = dataset.count
    except RasterioError as error:
        from geozarr.errors import StoreError
        raise StoreError(f"cannot open {source} as a raster: {error}") from error
    wrong = [band for band in bands if band > count]
    if wrong:
        raise click.BadParameter(f"{source} has {count} band(s); there is no band "
                                 f"{', '.join(map(str, wrong))}", param_hint="'--bands'")
    path = source if "://" in source or source.startswith("/vsi") \
        else os.path.abspath(source)
    return f"vrt://{path}?bands={','.join(map(str, bands))}"


def _describe(destination: str, driver: str | None, name: str | None) -> str:
    """Size, bands, type and CRS of the written raster, read back from it."""
    import geozarr
    from geozarr.raster.translate import is_zarr_destination

    if driver == "Zarr" or (driver is None and is_zarr_destination(destination)):
        with geozarr.open_raster(destination, array=name) as raster:
            return _summary(raster.width, raster.height, raster.count, raster.dtypes[0],
                            raster.crs, f"Zarr v{raster.array.zarr_format}")
    import rasterio

    with rasterio.open(destination) as dataset:
        return _summary(dataset.width, dataset.height, dataset.count, dataset.dtypes[0],
                        dataset.crs, dataset.driver)


def _summary(width: int, height: int, count: int, dtype: str, crs: Any, kind: str) -> str:
    where = crs.to_string() if crs is not None else "no CRS"
    return f"{kind}, {width} x {height} pixels, {count} band(s) of {dtype}, {where}"
