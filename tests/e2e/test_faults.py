"""Seeded fault runs: the whole `sekoia-sso apply` from scratch while both emulators misbehave.

Each seed draws its own mix with random.Random(seed): 5xx answers, 429 storms (throttling at a
rate, and queued bursts on one path), connection resets, latency (with spikes on the Sekoia.io
side), Entra ID replication delay, and a domain verification that takes a moment. A run ends with
exit 0, or with exit 1/3 and one clear `Error:` paragraph (no traceback); re-runs with the faults
reduced, then off, converge to exit 0. Then the tenant holds exactly one application, one service
principal, the three assignments of envs/sandbox.yaml and one live secret; Sekoia.io holds each
domain once and that secret.

Figures (runs, faults injected, runs converged, duplicates found) are printed in the terminal
summary. 5 seeds run in `make test`; 50 more in `make test-slow`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import pytest

from orchestrator.sekoia.client import RetryPolicy
from tests.harness.e2e import Baseline, apply, clean_failure, converged_problems, error_message, fault_answers

pytestmark = pytest.mark.timeout(900)

QUICK_SEEDS = range(5)
SLOW_SEEDS = range(5, 55)
# Paths a queued 429 burst or reset may hit: what Terraform's provider writes and reads, what the
# orchestrator reads (preflight, the readable wait), and the token endpoint.
GRAPH_HOT_PATHS = ("/v1.0/applications", "/v1.0/servicePrincipals", "/v1.0/groups", "/v1.0/users",
                   "/v1.0/$batch")
SEKOIA_OPERATIONS = ("list_domains", "add_domain", "read_sso", "write_sso", "community", "me")


@dataclass
class FaultMix:
    """What one seed injects; `describe()` is shown when a seed fails, to reproduce it by hand."""

    seed: int
    graph: dict[str, Any] = field(default_factory=dict)
    graph_queued: list[dict[str, Any]] = field(default_factory=list)
    sekoia: dict[str, Any] = field(default_factory=dict)
    sekoia_queued: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    verification_delay: float = 0.0

    @classmethod
    def draw(cls, seed: int, *, quick: bool = False) -> FaultMix:
        """quick: the same kinds of fault with shorter waits (delays, storms), for `make test`'s time budget."""
        rng = random.Random(seed)
        mix = cls(seed)
        wait = 0.4 if quick else 1.0  # scales delays
        often = 0.5 if quick else 1.0  # scales rates
        kinds = rng.sample(["5xx", "429", "reset", "latency", "replication"], k=rng.randint(2, 5))
        if "5xx" in kinds:
            mix.graph["error_rate"] = round(rng.uniform(0.02, 0.08) * often, 3)
            mix.sekoia["error_rate"] = round(rng.uniform(0.02, 0.08) * often, 3)
            mix.graph["retry_after"] = round(rng.uniform(0.1, 0.5) * wait, 2)
        if "429" in kinds:
            mix.graph["throttle_rate"] = round(rng.uniform(0.03, 0.12) * often, 3)
            mix.graph["retry_after"] = round(rng.uniform(0.1, 0.5) * wait, 2)
            mix.sekoia["throttle_rate"] = round(rng.uniform(0.03, 0.12) * often, 3)
            mix.sekoia["throttle_retry_after"] = round(rng.uniform(0.1, 0.5) * wait, 2)
            mix.graph_queued.append({"status": 429, "path_prefix": rng.choice(GRAPH_HOT_PATHS),
                                     "times": rng.randint(3, 8), "retry_after": round(rng.uniform(0.1, 0.4), 2)})
            # A storm on one operation: a write refused with 429 is sent again (it was not applied), like a read.
            mix.sekoia_queued.append(("throttle_storm", {"count": rng.randint(1, 2) if quick else rng.randint(2, 5),
                                                         "retry_after": round(rng.uniform(0.1, 0.5) * wait, 2),
                                                         "operation": rng.choice(SEKOIA_OPERATIONS)}))
        if "reset" in kinds:
            mix.graph["reset_rate"] = round(rng.uniform(0.01, 0.05) * often, 3)
            mix.sekoia["reset_rate"] = round(rng.uniform(0.01, 0.05) * often, 3)
            mix.graph_queued.append({"reset": True, "path_prefix": rng.choice(GRAPH_HOT_PATHS),
                                     "method": rng.choice(["GET", "POST", None]), "times": rng.randint(1, 2)})
            mix.sekoia_queued.append(("reset_next", {"times": 1, "operation": rng.choice(SEKOIA_OPERATIONS)}))
        if "latency" in kinds:
            mix.graph["latency_ms"] = round(rng.uniform(5, 40) * wait)
            mix.sekoia["latency"] = round(rng.uniform(0.01, 0.1), 3)
            mix.sekoia["latency_jitter"] = round(rng.uniform(0.1, 0.8), 2)  # a spike now and then
        if "replication" in kinds:
            mix.graph["replication_delay_ms"] = round(rng.uniform(300, 3000) * wait)
            mix.graph["replication_delay_writes"] = rng.random() < 0.7
            # Some objects lag, not all: the real provider fails a lagging service principal outright, and
            # with every replacement lagging too no number of apply's attempts would do.
            mix.graph["replication_lag_share"] = round(rng.uniform(0.3, 0.7), 2)
        mix.verification_delay = round(rng.choice([0.0, 0.0, rng.uniform(0.5, 3.0) * wait]), 2)
        return mix

    def inject(self, graph, sekoia, *, scale: float = 1.0) -> None:
        """Turn the faults on; scale < 1 reduces the rates and leaves the one-shot bursts out."""
        knobs = {k: (v * scale if k.endswith("_rate") else v) for k, v in self.graph.items()}
        graph.configure(**knobs)
        for name, value in self.sekoia.items():
            setattr(sekoia, name, value * scale if name.endswith("_rate") else value)
        sekoia.domain_verification_delay = self.verification_delay
        if scale < 1:
            return
        for queued in self.graph_queued:
            graph.queue_fault(**queued)
        for method, kwargs in self.sekoia_queued:
            getattr(sekoia, method)(**kwargs)

    @property
    def reruns_allowed(self) -> int:
        """Re-runs after a failed first run: one with the rates halved, one with them off, and one more per
        one-shot Sekoia.io fault that may fail a run: each reset (a write whose connection broke is not
        sent again, as it may have been applied: the run says so, exit 1, and the next run goes on), and
        a 429 storm that may outlast the client's tries, counting the random 429s that may fall on it."""
        attempts = RetryPolicy().attempts
        one_shots = sum(kwargs.get("times", 1) if method == "reset_next" else int(kwargs["count"] >= attempts - 1)
                        for method, kwargs in self.sekoia_queued)
        return 2 + one_shots

    def describe(self) -> str:
        return (f"seed {self.seed}: graph {self.graph} queued {self.graph_queued}; sekoia {self.sekoia} queued "
                f"{self.sekoia_queued}; domain verification {self.verification_delay}s")


def faults_off(graph, sekoia) -> None:
    """The rates and delays back to none. One-shot faults not served yet stay: the next run meets them."""
    graph.configure(latency_ms=0, throttle_every=0, throttle_rate=0.0, error_rate=0.0, reset_rate=0.0,
                    replication_delay_ms=0.0, replication_lag_share=1.0)
    for name in ("error_rate", "reset_rate", "throttle_rate", "throttle_every", "latency", "latency_jitter"):
        setattr(sekoia, name, 0)
    sekoia.block(0)  # a WAF block the faults provoked is over


def failure_kind(done) -> str:
    """What stopped a failed run, in a few words, from its Error paragraph."""
    message = error_message(done)
    for needle, kind in (("Sekoia.io POST", "Sekoia.io write refused"), ("Sekoia.io PUT", "Sekoia.io write refused"),
                         ("Sekoia.io DELETE", "Sekoia.io write refused"), ("Sekoia.io", "Sekoia.io read"),
                         ("terraform", "Terraform"), ("Microsoft Graph", "Microsoft Graph"),
                         ("Entra ID", "Entra ID")):
        if needle in message:
            return kind
    return f"exit {done.returncode}"


def run_seed(seed: int, runs, graph, sekoia, evidence, *, quick: bool) -> None:
    tally = evidence.tally("faults: seeded apply from scratch" + (" (quick mixes)" if quick else ""))
    mix = FaultMix.draw(seed, quick=quick)
    baseline = Baseline.of(graph)
    mix.inject(graph, sekoia)
    tally.runs += 1
    history: list[str] = []
    done = apply(runs)
    history.append(f"run 1 (faults on): exit {done.returncode}")
    reruns = 0
    while done.returncode != 0 and reruns < mix.reruns_allowed:
        problem = clean_failure(done)
        assert problem is None, f"{mix.describe()}\n{history}\nunclean failure ({problem}):\n{done.err[-3000:]}"
        history[-1] += f" — {error_message(done)[:300]}"
        tally.notes[f"first runs ending in exit {done.returncode}" if reruns == 0 else "re-runs that failed"] += 1
        tally.notes[f"failed runs: {failure_kind(done)}"] += 1
        reruns += 1
        faults_off(graph, sekoia)
        if reruns == 1:
            mix.inject(graph, sekoia, scale=0.5)
        label = "faults halved" if reruns == 1 else "faults off"
        done = apply(runs)
        history.append(f"re-run {reruns} ({label}): exit {done.returncode}")
    tally.notes["re-runs"] += reruns
    tally.faults.update(fault_answers(graph, sekoia))
    assert done.returncode == 0, f"{mix.describe()}\n" + "\n".join(history) + f"\n{done.err[-3000:]}"
    faults_off(graph, sekoia)
    problems, duplicates = converged_problems(runs, graph, sekoia, baseline)
    tally.duplicates += duplicates
    assert problems == [], f"{mix.describe()}\n" + "\n".join(history)
    tally.converged += 1


@pytest.mark.parametrize("seed", QUICK_SEEDS)
def test_apply_under_faults_converges_without_duplicates(seed, runs, graph_emulator, sekoia_emulator, evidence):
    run_seed(seed, runs, graph_emulator, sekoia_emulator, evidence, quick=True)


@pytest.mark.slow
@pytest.mark.parametrize("seed", SLOW_SEEDS)
def test_apply_under_faults_converges_without_duplicates_slow(seed, runs, graph_emulator, sekoia_emulator, evidence):
    run_seed(seed, runs, graph_emulator, sekoia_emulator, evidence, quick=False)


def test_the_fault_mixes_cover_every_kind_of_fault():
    """The seeds of both suites draw each kind of fault, so the figures are about all of them."""
    mixes = [FaultMix.draw(seed, quick=True) for seed in QUICK_SEEDS] + [FaultMix.draw(seed) for seed in SLOW_SEEDS]
    drawn = {
        "5xx": any("error_rate" in m.graph for m in mixes),
        "429 storm": any(q.get("status") == 429 for m in mixes for q in m.graph_queued),
        "reset": any("reset_rate" in m.graph for m in mixes),
        "latency spike": any("latency_jitter" in m.sekoia for m in mixes),
        "replication delay": any("replication_delay_ms" in m.graph for m in mixes),
    }
    assert all(drawn.values()), drawn
    assert all(m.graph and m.sekoia for m in mixes[:len(QUICK_SEEDS)])
