"""``geozarr validate``: check a store against Zarr v2/v3 and the GeoZarr conventions."""

from __future__ import annotations

import json

import click


@click.command()
@click.argument("target")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON for scripts.")
@click.option("--chunks", is_flag=True,
              help="Also decode every stored chunk and report corrupt ones (reads all data).")
@click.option("--strict", is_flag=True, help="Count warnings as errors.")
def validate(target: str, as_json: bool, chunks: bool, strict: bool) -> None:
    """Validate TARGET (a directory, .zip or URL) against the Zarr specifications and the
    proj, spatial and multiscales conventions.

    Prints one line per finding, "SEVERITY CODE key: message", then a summary; exits with
    status 1 when there are errors (or, with --strict, warnings). The codes are documented
    in docs/validate.md.
    """
    from geozarr.errors import GeoZarrError
    from geozarr.validate import validate as validate_store

    try:
        report = validate_store(target, chunks=chunks)
    except GeoZarrError as error:
        raise click.ClickException(str(error)) from error
    if as_json:
        click.echo(json.dumps(report.to_json(strict=strict), indent=2))
    else:
        for line in report.lines(strict=strict):
            click.echo(line)
    if report.failed(strict=strict):
        raise SystemExit(1)
