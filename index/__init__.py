"""Catalog indexes shipped with the companion (mapped to ``companion.indexes``)."""
