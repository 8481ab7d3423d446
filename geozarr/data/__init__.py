"""Small datasets shipped with geozarr, for the quick start, examples and docs."""

from __future__ import annotations

from pathlib import Path

from geozarr.errors import UsageError

_FILES = {"dem": "sample_dem.tif"}


def sample_path(name: str = "dem") -> Path:
    """The path of a bundled sample: ``"dem"``, a 512 x 512 int16 DEM at 30 m in UTM 11N
    (EPSG:32611) with a nodata corner (``fixtures/make_sample_dem.py`` makes it)."""
    try:
        return Path(__file__).with_name(_FILES[name])
    except KeyError:
        raise UsageError(f"no sample named {name!r}; the samples are: "
                         f"{', '.join(sorted(_FILES))}") from None
