"""``geozarr pyramid``: build the web-map tile pyramid of a raster as GeoZarr, like
``gdal2tiles`` but into one Zarr store (a level per TileMatrix, a chunk per tile)."""

from __future__ import annotations

from typing import Any

import click

from geozarr.cli.options import ByteSize, Compressor, ZoomRange


@click.command()
@click.argument("source")
@click.argument("destination")
@click.option("--tms", default="WebMercatorQuad", show_default=True,
              help="The OGC TileMatrixSet: a registered id (WebMercatorQuad, WGS1984Quad, "
                   "UTM31WGS84Quad...) or a TMS 2.0 JSON file.")
@click.option("--zoom", type=ZoomRange(),
              help="Zoom levels MIN-MAX (2-12) or one zoom [default: from the source's "
                   "resolution down to the zoom where it fits one tile].")
@click.option("--resampling", default="average", show_default=True,
              help="How the finest level is warped from the source: nearest, bilinear, "
                   "cubic, cubicspline, lanczos, average, mode, min, max, med, q1, q3, rms.")
@click.option("--overview-resampling",
              help="How each level is reduced into the next coarser one [default: "
                   "--resampling].")
@click.option("--nodata", type=float,
              help="The value marking missing pixels [default: the source's, else NaN for "
                   "floats and 0 for integers].")
@click.option("--compressor", type=Compressor(), default="default", show_default=True,
              help="Tile compressor: default (zstd:3), none, zstd[:level], zlib[:level], "
                   "lz4, blosc[:cname[:clevel]], or numcodecs JSON.")
@click.option("--shards", type=click.IntRange(min=1), metavar="N",
              help="Store N x N tiles per object (Zarr v3 sharding).")
@click.option("--workers", type=click.IntRange(min=1),
              help="Threads building tiles [default: the number of CPUs].")
@click.option("--memory-limit", type=ByteSize(), default="512M", show_default=True,
              help="Memory the build may use (512M, 2G...).")
@click.option("--resume", is_flag=True,
              help="Finish an interrupted build of the same source with the same options.")
@click.option("--overwrite", is_flag=True, help="Replace DESTINATION if it exists.")
def pyramid(source: str, destination: str, tms: str, zoom: tuple[int, int] | None,
            resampling: str, overview_resampling: str | None, nodata: float | None,
            compressor: str | dict[str, Any] | None, shards: int | None,
            workers: int | None, memory_limit: int, resume: bool, overwrite: bool) -> None:
    """Build the tile pyramid of the raster SOURCE at DESTINATION (a .zarr or .zip path).

    SOURCE is anything rasterio opens, a Zarr path or a ZARR:"path":/array:index string.
    Tiles holding only nodata are not stored. An interrupted build (Ctrl-C) is kept beside
    DESTINATION and finished by running the same command with --resume.
    """
    from geozarr.cli.progress import progress_bar
    from geozarr.pyramid.build import build_pyramid

    minzoom, maxzoom = zoom if zoom is not None else (None, None)
    with progress_bar("Building pyramid",
                      cancelled=f"the unfinished pyramid is kept beside {destination}; run "
                                f"the same command with --resume to finish it") as progress:
        plan = build_pyramid(source, destination, tms=_tms(tms), minzoom=minzoom,
                             maxzoom=maxzoom, resampling=resampling,
                             overview_resampling=overview_resampling,
                             nodata=nodata, compressor=compressor, shards=shards,
                             workers=workers, memory_limit=memory_limit, resume=resume,
                             overwrite=overwrite, progress=progress)
    click.echo(f"Wrote {destination}: {plan.tms.id}, zoom {plan.minzoom}-{plan.maxzoom} "
               f"({len(plan.levels)} levels, {plan.tiles} tiles at most), {plan.count} "
               f"band(s) of {plan.dtype}")


def _tms(value: str) -> Any:
    """A TMS id, or the JSON document of the file ``value`` names."""
    import json
    import os

    if not value.lower().endswith(".json") or not os.path.isfile(value):
        return value
    try:
        with open(value, encoding="utf-8") as file:
            return json.load(file)
    except (OSError, json.JSONDecodeError) as error:
        raise click.BadParameter(f"cannot read {value} as TMS JSON: {error}",
                                 param_hint="'--tms'") from error

