"""Preallocated numpy ring buffers for live telemetry: appends are O(1), reads are zero-copy views.

Each sample is written twice (at i and i + capacity) so the newest `capacity` samples are always one
contiguous slice: the redraw timer hands a view to pyqtgraph without concatenating.
"""

from __future__ import annotations

import numpy as np


class RingBuffer:
    """`n_series` float64 series plus a time axis, holding the newest `capacity` samples."""

    def __init__(self, capacity: int, n_series: int) -> None:
        self.capacity = capacity
        self._t = np.zeros(2 * capacity)
        self._v = np.full((n_series, 2 * capacity), np.nan)
        self._next = 0
        self.size = 0

    @property
    def n_series(self) -> int:
        return self._v.shape[0]

    def append(self, t: float, values: list[float | None] | np.ndarray) -> None:
        """Add one sample (None → NaN, shown as a gap)."""
        row = np.array([np.nan if v is None else v for v in values], dtype=float)
        i = self._next
        self._t[i] = self._t[i + self.capacity] = t
        self._v[:, i] = self._v[:, i + self.capacity] = row
        self._next = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def extend(self, t: np.ndarray, values: np.ndarray) -> None:
        """Add many samples at once (values shaped n_series × len(t)); used by benches and replays."""
        for k in range(len(t)):
            self.append(float(t[k]), values[:, k])

    def times(self) -> np.ndarray:
        """The time axis, oldest first (a view)."""
        start = self._start()
        return self._t[start:start + self.size]

    def values(self) -> np.ndarray:
        """All series, oldest first (an n_series × size view aligned with times())."""
        start = self._start()
        return self._v[:, start:start + self.size]

    def clear(self) -> None:
        self._next = 0
        self.size = 0

    def _start(self) -> int:
        return (self._next - self.size) % self.capacity if self.size == self.capacity else 0
