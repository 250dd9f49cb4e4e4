"""Load shapes for a server: fixed concurrency or Poisson arrivals, with cancel within ~0.1 s.

- concurrency: `batch_size` requests in flight; a new one starts as soon as one finishes.
- rate: request i is sent at the i-th arrival of a Poisson process of `request_rate` req/s, seeded by
  the trial's seed and the repetition (the same schedule for the same seed), regardless of how many
  are still in flight.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from engine.errors import CancelledError

T = TypeVar("T")
_CANCEL_POLL_S = 0.1


def poisson_offsets_s(count: int, rate_per_s: float, seed: int) -> list[float]:
    """Send times (s from the start) of `count` Poisson arrivals at `rate_per_s`; the first at 0."""
    rng = random.Random(seed)
    offsets, t = [], 0.0
    for i in range(count):
        if i:
            t += rng.expovariate(rate_per_s)
        offsets.append(t)
    return offsets


async def run_shaped(jobs: Sequence[Callable[[], Awaitable[T]]], *, concurrency: int | None,
                     offsets_s: Sequence[float] | None, cancel: threading.Event,
                     on_done: Callable[[int], None]) -> list[T]:
    """Run every job under the shape (exactly one of concurrency/offsets_s); results in job order.

    Raises engine.errors.CancelledError (after cancelling what is in flight) once `cancel` is set.
    """
    gate = asyncio.Semaphore(concurrency) if concurrency else None
    started = time.perf_counter()
    done = 0

    async def one(i: int) -> T:
        nonlocal done
        if offsets_s is not None:
            await asyncio.sleep(max(0.0, started + offsets_s[i] - time.perf_counter()))
        if gate is not None:
            async with gate:
                result = await jobs[i]()
        else:
            result = await jobs[i]()
        done += 1
        on_done(done)
        return result

    tasks = [asyncio.ensure_future(one(i)) for i in range(len(jobs))]
    everything = asyncio.gather(*tasks)
    while not everything.done():
        await asyncio.wait([everything], timeout=_CANCEL_POLL_S)
        if cancel.is_set() and not everything.done():
            everything.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise CancelledError("cancelled while requests were in flight")
    return list(everything.result())
