"""The vLLM backend's engine-core log (`engine.backends.vllm.core_log`) with real child processes: their output
reaches the worker's stderr unchanged, and only the out-of-memory exception lines written after a mark count."""

from __future__ import annotations

import subprocess
import sys

import pytest

from engine.backends.vllm import core_log
from engine.errors import OutOfMemoryError

OOM_LINE = "ValueError: Available memory on node 0 (9.00/9.00 GiB) on kv cache allocation is less than requested memory for kv (1024.00 GiB). Decrease --kv-cache-memory-bytes"  # noqa: E501


def _child(text: str) -> None:
    """A child process started while the log is attached, writing `text` to its stderr and a line to stdout."""
    subprocess.run([sys.executable, "-c", f"import sys; print('out'); sys.stderr.write({text!r})"], check=True)


def test_only_out_of_memory_exception_lines_after_the_mark_count(capfd: pytest.CaptureFixture[str]) -> None:
    log = core_log.CoreLog()
    with log.attached():
        _child(f"Traceback (most recent call last):\n{OOM_LINE}\n")  # before the mark: an earlier trial's
    mark = log.mark()
    with log.attached():
        _child("INFO hint: lower gpu_memory_utilization to avoid out of memory errors\n"  # not an exception line
               "Traceback (most recent call last):\n  File \"x.py\", line 1\ntorch.OutOfMemoryError: CUDA out of "
               "memory. Tried to allocate 2.00 GiB\n(EngineCore_DP0 pid=7) MemoryError\nRuntimeError: shape mismatch\n")
    assert log.evidence_since(mark) == ["torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB",
                                        "(EngineCore_DP0 pid=7) MemoryError"]
    assert log.sync()
    err = capfd.readouterr().err  # every byte reached the worker's stderr, the sync markers left out
    assert err.count("out\n") == 2 and OOM_LINE in err and "RuntimeError: shape mismatch" in err
    assert "\x00" not in err


def test_an_engine_core_death_with_evidence_becomes_oom_and_other_errors_pass() -> None:
    log = core_log.CoreLog()
    mark = log.mark()
    with pytest.raises(RuntimeError, match="shape"), log.out_of_memory_as_oom(mark):
        raise RuntimeError("shape mismatch")
    with pytest.raises(RuntimeError, match="initialization failed"), log.out_of_memory_as_oom(mark):
        raise RuntimeError("Engine core initialization failed. See root cause above.")  # no evidence: unchanged
    with log.attached():
        _child(OOM_LINE + "\n")
    with pytest.raises(OutOfMemoryError) as err, log.out_of_memory_as_oom(mark):
        raise RuntimeError("Engine core initialization failed. See root cause above. Failed core proc(s): {}")
    assert err.value.evidence == (OOM_LINE,) and OOM_LINE in str(err.value)
