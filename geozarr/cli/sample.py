"""``geozarr sample-data``: where the bundled sample datasets are."""

from __future__ import annotations

import click


@click.command("sample-data")
@click.argument("name", default="dem")
def sample_data(name: str) -> None:
    """Print the path of a bundled sample dataset (NAME: dem)."""
    from geozarr.data import sample_path

    click.echo(str(sample_path(name)))
