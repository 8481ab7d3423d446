"""``geozarr tiles``: export a pyramid as a ``{z}/{x}/{y}.png`` folder for static hosting."""

from __future__ import annotations

import click

from geozarr.cli.options import ZoomRange, colour_options


@click.command()
@click.argument("pyramid")
@click.argument("outdir")
@click.option("--format", "fmt", type=click.Choice(["png", "webp"]), default="png",
              show_default=True, help="Tile image format (WebP is lossless).")
@click.option("--zoom", type=ZoomRange(),
              help="Only these zoom levels, MIN-MAX or one zoom [default: every level].")
@colour_options("the 2nd to 98th percentile of the coarsest level, as `geozarr serve`; "
                "none for uint8 RGB")
@click.option("--scheme", type=click.Choice(["xyz", "tms"]), default="xyz",
              show_default=True, help="Row numbering: xyz counts from the top (web maps), "
                                      "tms from the bottom.")
@click.option("--workers", type=click.IntRange(min=1),
              help="Threads encoding tiles [default: the number of CPUs].")
@click.option("--overwrite", is_flag=True, help="Replace OUTDIR if it exists.")
def tiles(pyramid: str, outdir: str, fmt: str, zoom: tuple[int, int] | None,
          bands: tuple[int, ...] | None, colormap: str, rescale: tuple[float, float] | None,
          scheme: str, workers: int | None, overwrite: bool) -> None:
    """Write the tiles of PYRAMID as OUTDIR/{z}/{x}/{y}.png, for any web server or bucket.

    Tiles are coloured as `geozarr serve` colours them. Nodata is transparent; tiles
    holding only nodata are not written (web maps show nothing where a tile is missing).
    OUTDIR appears only once complete.
    """
    from geozarr.cli.progress import progress_bar
    from geozarr.errors import DimensionError
    from geozarr.pyramid.export import export_tiles
    from geozarr.pyramid.reader import open_pyramid

    with open_pyramid(pyramid) as source:
        levels = list(source.levels)
        if zoom is not None:
            levels = [z for z in levels if z.lstrip("-").isdigit()
                      and zoom[0] <= int(z) <= zoom[1]]
            if not levels:
                raise DimensionError(f"{pyramid} has no level in zoom {zoom[0]}-{zoom[1]}; "
                                     f"its levels are {', '.join(source.levels)}")
        with progress_bar("Writing tiles", cancelled=f"nothing was written to {outdir}") \
                as progress:
            written = export_tiles(source, outdir, format=fmt, levels=levels, bands=bands,
                                   colormap=colormap, rescale=rescale, scheme=scheme,
                                   workers=workers, overwrite=overwrite, progress=progress)
    zooms = sorted(int(z) for z in levels)
    click.echo(f"Wrote {written} tiles to {outdir} (zoom {zooms[0]}-{zooms[-1]}, "
               f"{fmt}, {scheme})")
