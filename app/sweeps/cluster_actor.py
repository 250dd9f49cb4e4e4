"""The Ray actor that hosts trials on a cluster node: one `WorkerClient` subprocess, kept between trials.

Ray places the actor where its GPU request fits and sets `CUDA_VISIBLE_DEVICES` in its process; the
engine worker it starts inherits that, so the trial's devices 0..n-1 are the ones Ray assigned (and
the engine records them with the run's environment). Trials with the same load key reach the same
actor (`app.sweeps.cluster`), so the worker keeps the model loaded. `run_trial` streams the worker's
events back to the driver, then the result; the driver writes the store, never the actor.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from typing import Any

import ray

from app.core.worker_client import WorkerClient

_DONE = object()


class TrialHost:
    """Runs trials one at a time in its own engine worker; `cancel` may be called while one runs."""

    def __init__(self, python: str | None) -> None:
        self.client = WorkerClient(python)

    def placement(self) -> dict[str, Any]:
        """Where Ray put this actor: node id and IP, Ray's GPU ids and the resulting CUDA_VISIBLE_DEVICES."""
        context = ray.get_runtime_context()
        return {"node_id": context.get_node_id(), "node_ip": ray.util.get_node_ip_address(),
                "gpu_ids": [str(g) for g in ray.get_gpu_ids()], "pid": os.getpid(),
                "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES")}

    def run_trial(self, flat: dict[str, Any], trial_id: str) -> Iterator[dict[str, Any]]:
        """Yield `{"event": ...}` for each worker event, then `{"result": TrialResult dict}` last."""
        events: queue.Queue[Any] = queue.Queue()
        outcome: dict[str, Any] = {}

        def work() -> None:
            try:
                result = self.client.run_trial(flat, on_event=events.put, trial_id=trial_id)
                result.environment["cluster"] = self.placement()
                outcome["result"] = result.to_dict()
            except Exception as exc:  # raised again below, in the caller's generator
                outcome["error"] = exc
            finally:
                events.put(_DONE)

        thread = threading.Thread(target=work, name="trial", daemon=True)
        thread.start()
        yield {"placement": self.placement()}
        while (item := events.get()) is not _DONE:
            yield {"event": item}
        thread.join()
        if "error" in outcome:  # run_trial reports worker failures as results; this is a bug or bad config
            raise outcome["error"]
        yield outcome

    def cancel(self) -> None:
        self.client.cancel()

    def close(self) -> None:
        self.client.close()


# A threaded actor (two calls at once) so that `cancel` runs while `run_trial` streams.
TrialActor = ray.remote(max_concurrency=2)(TrialHost)
