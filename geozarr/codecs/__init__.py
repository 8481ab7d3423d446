"""Zarr codecs: the v3 codec kinds, the numcodecs bridge, chunk pipelines and sharding."""

from geozarr.codecs.registry import register_codec
from geozarr.codecs.sharding import ShardingCodec

register_codec(ShardingCodec.name, ShardingCodec)
