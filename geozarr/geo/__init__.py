"""Georeferencing: dimensions, CRS, transform and CF value encodings of Zarr arrays."""
