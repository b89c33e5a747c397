"""The Sekoia.io emulator's WAF (rate limiter) of one API key, in front of everything else.

More than `rate_limit` requests in one second, or more than `error_limit` errors per second over
`error_window` seconds, blocks every request for `rate_limit_block` seconds (a (low, high) pair
draws a duration, 30 s to 10 min by default like the real one) with 429 and `Retry-After`.
"""

from __future__ import annotations

import random
from collections import deque
from typing import Protocol

from sandbox.sekoia.replies import Reply, error_reply, retry_after_header


class WafKnobs(Protocol):
    rate_limit: int | None
    error_limit: float | None
    error_window: float
    rate_limit_block: float | tuple[float, float]


class Waf:
    def __init__(self) -> None:
        self._arrivals: deque[float] = deque()
        self._errors: deque[float] = deque()
        self.blocked_until = 0.0

    def check(self, now: float, knobs: WafKnobs, rng: random.Random) -> Reply | None:
        """The WAF's 429 when the request arriving at `now` is blocked, else None (and it is counted)."""
        if now < self.blocked_until:
            return self.block_reply(self.blocked_until - now)
        self._arrivals.append(now)
        while self._arrivals and self._arrivals[0] <= now - 1.0:
            self._arrivals.popleft()
        if knobs.rate_limit is not None and len(self._arrivals) > knobs.rate_limit:
            return self.block_reply(self._start_block(now, knobs, rng))
        return None

    def count_error(self, now: float, knobs: WafKnobs, rng: random.Random) -> None:
        self._errors.append(now)
        while self._errors and self._errors[0] <= now - knobs.error_window:
            self._errors.popleft()
        if knobs.error_limit is not None and len(self._errors) > knobs.error_limit * knobs.error_window:
            self._start_block(now, knobs, rng)

    def _start_block(self, now: float, knobs: WafKnobs, rng: random.Random) -> float:
        span = knobs.rate_limit_block
        seconds = rng.uniform(*span) if isinstance(span, tuple) else float(span)
        self.blocked_until = now + seconds
        self._arrivals.clear()
        self._errors.clear()
        return seconds

    @staticmethod
    def block_reply(remaining: float) -> Reply:
        reply = error_reply(429, "Too many requests: blocked by the rate limiter", "TOO_MANY_REQUESTS",
                            **{"Retry-After": retry_after_header(remaining)})
        reply.waf = True
        return reply
