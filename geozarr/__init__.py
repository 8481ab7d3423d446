"""geozarr: geospatial Zarr, read and written fast and right.

The Zarr core (v2 and v3, every standard codec, sharding, consolidated metadata) is its own
implementation on numpy and numcodecs::

    import geozarr
    g = geozarr.open_group("data.zarr")
    a = g["temperature"]
    window = a[0, 100:612, 0:512]

and the geo layer opens any of it as a rasterio-like raster::

    with geozarr.open_raster('ZARR:"data.zarr":/temperature:2') as r:
        r.crs, r.transform, r.read(1)
"""

from geozarr.config import config, get_config
from geozarr.core.array import Array
from geozarr.core.creation import create_array
from geozarr.core.group import Group
from geozarr.core.hierarchy import consolidate_metadata, open_array, open_group, open_node
from geozarr.errors import (
    ArrayIndexError,
    ChecksumError,
    ChunkDecodeError,
    ConnectionStringError,
    DimensionError,
    GeoreferencingError,
    GeoreferencingWarning,
    NotGeoreferencedWarning,
    GeoZarrError,
    GeoZarrWarning,
    InvalidKeyError,
    MetadataError,
    MetadataWarning,
    NodeExistsError,
    NodeNotFoundError,
    ReadOnlyError,
    StoreError,
    UnsafeCodecError,
    UnsupportedCodecError,
    UnsupportedDataTypeError,
    UsageError,
    ValueShapeError,
)

__version__ = "0.1.0"

#: The geo, raster and pyramid layers pull in rasterio, pyproj and morecantile: they load on
#: first use (PEP 562), so ``import geozarr`` and the command line start fast.
_LAZY = {
    "open": "geozarr.raster.dataset", "open_raster": "geozarr.raster.dataset",
    "GeoDataset": "geozarr.raster.dataset", "RasterReader": "geozarr.raster.reader",
    "translate": "geozarr.raster.translate", "write_raster": "geozarr.raster.writer",
    "plan_pyramid": "geozarr.pyramid.plan", "PyramidPlan": "geozarr.pyramid.plan",
    "LevelPlan": "geozarr.pyramid.plan", "TileLimits": "geozarr.pyramid.plan",
    "build_pyramid": "geozarr.pyramid.build", "export_tiles": "geozarr.pyramid.export",
    "open_pyramid": "geozarr.pyramid.reader", "Pyramid": "geozarr.pyramid.reader",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'geozarr' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

__all__ = [
    "open", "open_raster", "GeoDataset", "RasterReader", "write_raster", "translate",
    "plan_pyramid", "build_pyramid", "open_pyramid", "export_tiles", "Pyramid", "PyramidPlan",
    "LevelPlan", "TileLimits",
    "Array", "Group", "open_node", "open_array", "open_group", "create_array",
    "consolidate_metadata", "config", "get_config",
    "GeoZarrError", "GeoZarrWarning", "MetadataWarning", "StoreError", "ReadOnlyError",
    "NodeNotFoundError", "NodeExistsError", "InvalidKeyError", "MetadataError",
    "UnsupportedDataTypeError", "UnsupportedCodecError", "UnsafeCodecError",
    "ChunkDecodeError", "ChecksumError", "ArrayIndexError", "ValueShapeError",
    "GeoreferencingError", "DimensionError", "ConnectionStringError", "GeoreferencingWarning",
    "NotGeoreferencedWarning", "UsageError",
]
