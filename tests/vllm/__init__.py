"""Tests of the vllm and openai backends (real vLLM on the demo model)."""
