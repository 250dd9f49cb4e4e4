"""Model sources: the built-in demo model, local folders, .gguf files and the HF cache (offline)."""
