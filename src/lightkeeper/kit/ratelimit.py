"""An in-process sliding-window counter, for limits that must not cost a database write."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


class SlidingWindow:
    def __init__(self, window_seconds: float, limit: int) -> None:
        self.window = window_seconds
        self.limit = limit
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()
        self.total = 0

    def hit(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            self.total += 1
            hits = self._hits[key]
            hits.append(now)
            self._trim(hits, now)

    def retry_after(self, key: str) -> int:
        """Seconds until `key` may try again; 0 when it is under the limit."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits.get(key)
            if not hits:
                return 0
            self._trim(hits, now)
            if len(hits) < self.limit:
                return 0
            return int(hits[0] + self.window - now) + 1

    def _trim(self, hits: deque[float], now: float) -> None:
        while hits and hits[0] <= now - self.window:
            hits.popleft()
