"""``geozarr serve``: a pyramid on a map in the browser, XYZ tiles and TileJSON for any web
map, from a small local server."""

from __future__ import annotations

import click

from geozarr.cli.options import colour_options


@click.command()
@click.argument("pyramid")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="The address to listen on (0.0.0.0 shares the map with the network).")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="The port (0 picks a free one).")
@colour_options("the 2nd to 98th percentile of the coarsest level")
@click.option("--open", "open_browser", is_flag=True, help="Open the map in a web browser.")
@click.option("--access-log", is_flag=True, help="Print a line per request on stderr.")
def serve(pyramid: str, host: str, port: int, bands: tuple[int, ...] | None, colormap: str,
          rescale: tuple[float, float] | None, open_browser: bool, access_log: bool) -> None:
    """Serve the pyramid PYRAMID on a web map until Ctrl-C.

    The page at / shows the map (drag to pan, scroll to zoom, click for the value under
    the cursor); /tiles/{z}/{x}/{y}.png are WebMercatorQuad XYZ tiles (a pyramid in another
    TileMatrixSet is warped on the fly), /tilejson.json describes them for other web maps,
    and /point?lon=..&lat=.. gives the values at a location. Nothing is fetched from the
    internet.
    """
    import os

    from geozarr.errors import StoreError
    from geozarr.pyramid.reader import open_pyramid
    from geozarr.server import TileServer, TileService

    with open_pyramid(pyramid) as source:
        name = os.path.basename(os.path.normpath(pyramid)) or pyramid
        service = TileService(source, bands=bands, colormap=colormap, rescale=rescale,
                              name=name)
        log = (lambda line: click.echo(line, err=True)) if access_log else None
        try:
            server = TileServer(service, host, port, access_log=log)
        except OSError as error:
            raise StoreError(f"cannot listen on {host}:{port}: {error.strerror or error}") \
                from error
        with server:
            click.echo(f"Serving {pyramid} at {server.url} (Ctrl-C to stop)")
            if open_browser:
                import webbrowser
                webbrowser.open(server.url)
            try:
                server.serve_forever()
            except KeyboardInterrupt:
                click.echo("Stopped.")
