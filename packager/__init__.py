"""Packaging: a retailer's branded installer from ``brands/<name>/brand.toml``
(``scripts/package.sh brands/<name>``; see docs/packaging.md). Build-time only: never imported by
the companion, never shipped, and never run on a shopper's computer."""
