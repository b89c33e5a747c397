"""Injected faults of the Sekoia.io emulator: queued one-shot faults, then random and periodic ones.

Drawn for each request the WAF lets through, before the route's checks: a queued fault for the
request's operation (or any), else a connection reset at `reset_rate`, a 5xx at `error_rate`, a 429
every `throttle_every` requests or at `throttle_rate`. 502/503/504 answer a load balancer's HTML page.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from orchestrator.sekoia.routes import ROUTES
from sandbox.sekoia.replies import RESET, Reply, error_reply, retry_after_header

_GATEWAY_BODY = b"<html><head><title>{status}</title></head><body><h1>{status}</h1></body></html>"


@dataclass
class QueuedFault:
    status: int | None  # None with reset=True: drop the connection
    reset: bool = False
    retry_after: float | None = None
    operation: str | None = None  # None: the next request whatever its route
    times: int = 1

    def check(self) -> None:
        if self.operation is not None and self.operation not in ROUTES:
            raise ValueError(f"unknown Sekoia operation {self.operation!r}")
        if self.times < 1:
            raise ValueError("times is at least 1")


class FaultKnobs(Protocol):
    reset_rate: float
    error_rate: float
    error_statuses: tuple[int, ...]
    throttle_every: int
    throttle_rate: float
    throttle_retry_after: float


class InjectedFaults:
    def __init__(self) -> None:
        self.queued: deque[QueuedFault] = deque()
        self.served = 0  # requests that reached the fault draw: what throttle_every counts

    def draw(self, operation: str | None, knobs: FaultKnobs, rng: random.Random) -> Reply | None:
        for fault in self.queued:
            if fault.operation is None or fault.operation == operation:
                fault.times -= 1
                if fault.times == 0:
                    self.queued.remove(fault)
                return RESET if fault.reset else fault_reply(fault.status, fault.retry_after)
        self.served += 1
        if knobs.reset_rate and rng.random() < knobs.reset_rate:
            return RESET
        if knobs.error_rate and rng.random() < knobs.error_rate:
            return fault_reply(rng.choice(knobs.error_statuses), None)
        if knobs.throttle_every and self.served % knobs.throttle_every == 0:
            return fault_reply(429, knobs.throttle_retry_after)
        if knobs.throttle_rate and rng.random() < knobs.throttle_rate:
            return fault_reply(429, knobs.throttle_retry_after)
        return None


def fault_reply(status: int, retry_after: float | None) -> Reply:
    headers = {"Retry-After": retry_after_header(retry_after)} if retry_after is not None else {}
    if status == 429:
        return error_reply(429, "Too many requests", "TOO_MANY_REQUESTS", **headers)
    if status in (502, 503, 504):
        # what a load balancer in front of the API answers: HTML, not the API's JSON
        return Reply(status, _GATEWAY_BODY.replace(b"{status}", str(status).encode()), "text/html", headers)
    if status >= 500:
        return error_reply(status, "Internal server error", "INTERNAL_ERROR", **headers)
    return error_reply(status, f"Injected error {status}", "INJECTED_ERROR", **headers)
