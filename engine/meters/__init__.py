"""Meters: one module per measured quantity (latency/throughput, memory, energy), plus the NVML
access they and the telemetry sampler share. Each reports `unavailable` with the reason where the
hardware or permissions cannot provide a figure; none estimates silently."""
