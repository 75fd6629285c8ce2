"""The performance harness: ``python -m bench`` (see bench/__main__.py and docs/PERFORMANCE.md)."""
