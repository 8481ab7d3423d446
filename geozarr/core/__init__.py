"""The Zarr core: arrays, groups, opening and creating hierarchies."""
