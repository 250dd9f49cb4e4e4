"""Environment discovery (no Qt): NVIDIA GPUs via NVML, Python interpreters that can host the engine
(probed in a subprocess, never imported here), the user's choice of engine interpreter, and the
first-run checks behind `inferlab doctor` and the first-run dialog."""
