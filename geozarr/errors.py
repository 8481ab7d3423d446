"""The one error hierarchy of geozarr, and its warning classes.

Every error geozarr raises on purpose derives from :class:`GeoZarrError`. Each subclass also
inherits the built-in exception that fits, so ``except FileNotFoundError`` or
``except ValueError`` in existing code keeps working. Messages name the key, path or attribute
at fault and say what is wrong with it.
"""

from __future__ import annotations


class GeoZarrError(Exception):
    """Root of every error geozarr raises on purpose."""


class StoreError(GeoZarrError, OSError):
    """A store could not read, write, list or delete a key."""


class ReadOnlyError(GeoZarrError, PermissionError):
    """A write was attempted on a store, array or group opened read-only."""


class NodeNotFoundError(GeoZarrError, FileNotFoundError, KeyError):
    """No array or group exists at the requested path (also a ``KeyError``, so that
    ``group["missing"]`` behaves like a mapping lookup)."""


class NodeExistsError(GeoZarrError, FileExistsError):
    """An array or group already exists where a new one was to be created."""


class InvalidKeyError(GeoZarrError, ValueError):
    """A key or node name is unsafe or malformed (``..``, absolute, empty segment...)."""


class MetadataError(GeoZarrError, ValueError):
    """Metadata is malformed JSON, misses a required key, or holds an invalid value."""


class UnsupportedDataTypeError(MetadataError):
    """The data type is unknown, or not one geozarr can represent safely."""


class UnsupportedCodecError(MetadataError):
    """A codec, filter or compressor is unknown or has an invalid configuration."""


class UnsafeCodecError(UnsupportedCodecError):
    """A codec would run arbitrary code when decoding (pickle, object dtype); refused."""


class ChunkDecodeError(GeoZarrError, ValueError):
    """A stored chunk is truncated, corrupt, or does not decode to its declared size."""


class ChecksumError(ChunkDecodeError):
    """A stored checksum does not match the data it protects."""


class ArrayIndexError(GeoZarrError, IndexError):
    """An index or selection is out of bounds or not supported."""


class ValueShapeError(GeoZarrError, ValueError):
    """A value written to an array cannot be broadcast to the selection it is written to."""


class GeoreferencingError(GeoZarrError, ValueError):
    """Georeferencing metadata is present but unusable (malformed ``_CRS``, an unknown EPSG
    code, a ``grid_mapping`` naming a missing variable, a transform of the wrong length...)."""


class DimensionError(GeoZarrError, ValueError):
    """A dimension, band, slice index or array named in a request does not exist."""


class ConnectionStringError(GeoZarrError, ValueError):
    """A ``ZARR:"path":/array:index`` connection string is malformed."""


class UsageError(GeoZarrError, ValueError):
    """The call itself is invalid: an unknown mode, a read from a closed raster..."""


class GeoZarrWarning(UserWarning):
    """Base class of every warning geozarr emits."""


class MetadataWarning(GeoZarrWarning):
    """Metadata was accepted although it bends the specification (read liberally)."""


class GeoreferencingWarning(GeoZarrWarning):
    """Georeferencing was resolved with a caveat: sources disagree (the message says which
    won), coordinates are irregular, or convention keys are used without being declared."""


class NotGeoreferencedWarning(GeoreferencingWarning):
    """No usable transform: the raster gets the identity transform, as rasterio does."""
