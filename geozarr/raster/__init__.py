"""Rasters: Zarr arrays seen as georeferenced bands, with rasterio's names and types."""
