"""Web-map tile pyramids: OGC TileMatrixSet levels in GeoZarr, planned, built, read, exported."""
