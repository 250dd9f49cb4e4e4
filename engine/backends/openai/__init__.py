"""Backend package; see engine/backends/__init__.py."""
