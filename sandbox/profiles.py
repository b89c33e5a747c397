"""Named sandbox profiles: how strict the emulated Entra ID is (`python -m sandbox up --profile NAME`).

    fast     no lag, no throttling: what the test suite and `make demo` run against (seconds per apply)
    reality  Entra ID as a busy tenant shows it (fixed seeds, so a run is repeatable):
             - replication lag: half the new objects stay unseen for up to 2.5 s, and while one lags a
               third of the requests already reach a replica that has it (a write passes, the next read
               404s: the real provider's failures of sandbox/README.md's fidelity list);
             - a new client secret works only after a few seconds (Entra: 4-18 s reported; here each
               secret draws 4-8 s from the seed, so the suite's slow test stays near two minutes);
             - Graph answers in about 25 ms, and about 2 % of the calls get 429 with Retry-After: 1;
             - the provider polls a new password's sightings 1 s apart, as the real one does.

A profile is data: Graph fault knobs (sandbox/graph/emulator.py's `Faults`) and the provider's poll
interval (AZUREAD_SANDBOX_POLL_SECONDS, through the sandbox's environment).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_PROFILE = "fast"


@dataclass(frozen=True)
class Profile:
    name: str
    summary: str
    graph_faults: dict[str, Any] = field(default_factory=dict)
    poll_seconds: float = 0.05  # the emulated provider's state-change poll interval


def _reality() -> Profile:
    return Profile(
        name="reality",
        summary="replication lag, secret propagation delay, Graph latency and occasional throttling",
        graph_faults={
            "replication_delay_ms": 2500.0,
            "replication_delay_writes": True,
            "replication_lag_share": 0.5,
            "replication_lag_jitter": 0.8,
            "replication_seen_share": 0.35,
            "secret_propagation_ms": 4000.0,
            "secret_propagation_jitter_ms": 4000.0,  # each new secret: 4-8 s, drawn from the tenant's seed
            "latency_ms": 25.0,
            "throttle_rate": 0.02,
            "retry_after": 1.0,
        },
        poll_seconds=1.0,
    )


PROFILES: dict[str, Profile] = {
    "fast": Profile(name="fast", summary="no lag, no throttling (tests, make demo)"),
    "reality": _reality(),
}


def profile_named(name: str) -> Profile:
    """The profile `name`; ValueError naming the known ones otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown sandbox profile {name!r}; known: {', '.join(sorted(PROFILES))}") from None
