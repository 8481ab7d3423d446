"""``geozarr preview``: a quick-look picture of a raster, colour-mapped, nodata transparent,
because people would rather look than read."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from geozarr.cli.options import FloatPair, colour_options


@click.command()
@click.argument("target")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The picture to write: .png, or .webp (lossless).")
@click.option("--size", type=click.IntRange(min=1), default=1024, show_default=True,
              help="Pixels along the longer side (never more than the raster has).")
@colour_options("the --percentiles of the valid values")
@click.option("--percentiles", type=FloatPair(), default="2,98", show_default=True,
              help="The stretch: these percentiles of the valid values span the colours.")
def preview(target: str, output: str, size: int, bands: tuple[int, ...] | None,
            colormap: str, percentiles: tuple[float, float],
            rescale: tuple[float, float] | None) -> None:
    """Write a quick-look picture of the raster TARGET to OUTPUT.

    TARGET is a GeoTIFF or anything rasterio opens, a Zarr path, a ZARR:"path":/array:index
    connection string, or a pyramid (its level nearest the size is read). Values are
    stretched over the colours (the 2nd to 98th percentile by default); nodata is
    transparent.
    """
    from geozarr.errors import MetadataError
    from geozarr.render import Stretch, choose_bands, colorize, default_stretch, encode_image

    fmt = os.path.splitext(output)[1].lower().lstrip(".")
    if fmt not in ("png", "webp"):
        raise click.BadParameter(f"{output} must end in .png or .webp",
                                 param_hint="'-o' / '--output'")
    with _open(target, size) as raster:
        try:
            chosen = choose_bands(bands, raster.count, raster.dtypes[0])
        except MetadataError as error:
            raise click.BadParameter(str(error), param_hint="'--bands'") from None
        height, width = _fit(raster.height, raster.width, size)
        data = _read(raster, chosen, height, width)
    stretch = Stretch(*rescale) if rescale is not None else default_stretch(data, percentiles)
    image = colorize(data, stretch=stretch, colormap=colormap)
    with open(output, "wb") as file:
        file.write(encode_image(image, fmt))
    band_text = f"band {chosen[0]}, {colormap}" if len(chosen) == 1 \
        else f"bands {','.join(map(str, chosen))} as RGB"
    range_text = "values as they are" if stretch is None \
        else f"values {stretch.low:g}..{stretch.high:g}"
    click.echo(f"Wrote {output}: {width} x {height}, {band_text}, {range_text}")


@contextmanager
def _open(target: str, size: int) -> Iterator[Any]:
    """The raster to read: a geozarr reader (a pyramid's level nearest ``size``) or a
    rasterio dataset."""
    from geozarr.raster.translate import is_zarr_source

    if not is_zarr_source(target):
        import rasterio
        from rasterio.errors import RasterioError

        from geozarr.errors import StoreError
        try:
            dataset = rasterio.open(target)
        except RasterioError as error:
            raise StoreError(f"cannot open {target} as a raster: {error}") from error
        with dataset:
            yield dataset
        return
    import geozarr
    from geozarr.errors import DimensionError, MetadataError
    from geozarr.pyramid.reader import open_pyramid

    try:
        raster = geozarr.open_raster(target)
    except DimensionError as several:
        try:
            pyramid = open_pyramid(target)
        except MetadataError:
            raise several from None  # not a pyramid: the list of subdatasets is the news
        with pyramid:
            finest = pyramid.level(pyramid.levels[0])
            left, bottom, right, top = finest.bounds
            res = max(right - left, top - bottom) / size
            yield pyramid.level(pyramid.select_level(res, strategy="upper"))
        return
    with raster:
        yield raster


def _fit(height: int, width: int, size: int) -> tuple[int, int]:
    """(height, width) with the longer side ``size`` (at most the raster's), same aspect."""
    scale = min(1.0, size / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def _read(raster: Any, bands: tuple[int, ...], height: int, width: int) -> Any:
    """``(bands, height, width)`` masked, sampled by nearest neighbour (GDAL's rule), read
    in strips of whole chunk rows so memory holds one strip, whatever the raster's size."""
    import numpy as np
    from rasterio.windows import Window

    rows = np.minimum(((np.arange(height) + 0.5) * raster.height / height).astype(np.int64),
                      raster.height - 1)
    cols = np.minimum(((np.arange(width) + 0.5) * raster.width / width).astype(np.int64),
                      raster.width - 1)
    if (height, width) == (raster.height, raster.width):
        return raster.read(list(bands), masked=True)
    if not hasattr(raster, "array"):  # rasterio: its decimated read uses overviews
        return raster.read(list(bands), masked=True, out_shape=(len(bands), height, width))
    strip = max(1, raster.block_shapes[0][0])
    out = np.ma.MaskedArray(np.zeros((len(bands), height, width), dtype=raster.dtypes[0]),
                            mask=np.ones((len(bands), height, width), dtype=bool))
    for start in range(0, raster.height, strip):
        stop = min(raster.height, start + strip)
        wanted = np.flatnonzero((rows >= start) & (rows < stop))
        if wanted.size == 0:
            continue
        first, last = int(rows[wanted[0]]), int(rows[wanted[-1]]) + 1
        block = raster.read(list(bands), masked=True,
                            window=Window(0, first, raster.width, last - first))
        out[:, wanted, :] = block[:, rows[wanted] - first][:, :, cols]
    return out
