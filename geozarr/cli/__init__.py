"""The ``geozarr`` command: one module per subcommand, heavy imports inside each command."""

from __future__ import annotations

import sys

import click

from geozarr.cli.info import info
from geozarr.cli.preview import preview
from geozarr.cli.pyramid import pyramid
from geozarr.cli.sample import sample_data
from geozarr.cli.serve import serve
from geozarr.cli.tiles import tiles
from geozarr.cli.translate import translate
from geozarr.cli.validate import validate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="geozarr")
@click.option("--verbose", is_flag=True, help="Show the full traceback of errors.")
@click.pass_context
def main(context: click.Context, verbose: bool) -> None:
    """geozarr: geospatial Zarr, read and written fast and right."""
    context.obj = {"verbose": verbose}


main.add_command(info)
main.add_command(validate)
main.add_command(translate)
main.add_command(pyramid)
main.add_command(tiles)
main.add_command(serve)
main.add_command(preview)
main.add_command(sample_data)


def run() -> None:
    """Entry point: errors print one clear line (``--verbose`` for the traceback)."""
    from geozarr.errors import GeoZarrError

    try:
        main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except GeoZarrError as exc:
        if "--verbose" in sys.argv:
            raise
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
