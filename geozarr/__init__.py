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
from geozarr.raster.dataset import GeoDataset, open, open_raster
from geozarr.raster.reader import RasterReader
from geozarr.raster.translate import translate
from geozarr.raster.writer import write_raster
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

__all__ = [
    "open", "open_raster", "GeoDataset", "RasterReader", "write_raster", "translate",
    "Array", "Group", "open_node", "open_array", "open_group", "create_array",
    "consolidate_metadata", "config", "get_config",
    "GeoZarrError", "GeoZarrWarning", "MetadataWarning", "StoreError", "ReadOnlyError",
    "NodeNotFoundError", "NodeExistsError", "InvalidKeyError", "MetadataError",
    "UnsupportedDataTypeError", "UnsupportedCodecError", "UnsafeCodecError",
    "ChunkDecodeError", "ChecksumError", "ArrayIndexError", "ValueShapeError",
    "GeoreferencingError", "DimensionError", "ConnectionStringError", "GeoreferencingWarning",
    "NotGeoreferencedWarning", "UsageError",
]
