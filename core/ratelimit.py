"""A sliding-window request limiter, kept in process memory.

Per server process: with N worker processes a user gets up to N times the limit. That bounds cost and abuse
of the AI endpoints well enough for a help desk; a shared store (Redis, the database) would make it exact.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable

from core.errors import RateLimited

AI_REQUESTS_PER_MINUTE = 20


class SlidingWindowLimiter:
    """At most `limit` hits per key in any `window` seconds; the hit over the limit raises `RateLimited`."""

    def __init__(self, *, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 10_000) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be at least 1 and window positive")
        self.limit, self.window, self.clock, self.max_keys = limit, window, clock, max_keys
        self._hits: OrderedDict[Hashable, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: Hashable, *, what: str = "requests") -> None:
        """Count one request for `key`, or refuse it (not counted) with the seconds to wait."""
        now = self.clock()
        with self._lock:
            stamps = self._hits.pop(key, None) or deque()
            while stamps and stamps[0] <= now - self.window:
                stamps.popleft()
            if len(stamps) >= self.limit:
                self._hits[key] = stamps
                wait = max(1, math.ceil(stamps[0] + self.window - now))
                raise RateLimited(
                    f"Too many {what}: at most {self.limit} per {self.window:g} seconds. Try again in {wait} s.",
                    retry_after=wait,
                )
            stamps.append(now)
            self._hits[key] = stamps  # most recently used last, so the oldest key goes first when full
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)

    def reset(self) -> None:
        """Forget every key."""
        with self._lock:
            self._hits.clear()
