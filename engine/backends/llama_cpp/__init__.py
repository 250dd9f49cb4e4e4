"""Backend package; its registry entry is in engine/registry.py."""
