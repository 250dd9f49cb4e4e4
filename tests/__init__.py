"""InferLab test suite (a package, so tests/engine is tests.engine and never shadows engine/)."""
