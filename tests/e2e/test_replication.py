"""Entra ID's replication lag, as the real azuread provider meets it, and `apply` converging anyway.

The emulated provider fails where the real one does (tests/integration/test_provider.py); here the CLI
runs as a process on the sandbox and must finish a first apply with exit 0 anyway, saying on stderr what
it waited out and why, or stop after its bounded attempts with a clear message and exit 1.
"""

from __future__ import annotations

import pytest

from tests.harness.e2e import (  # noqa: F401 - the fixture `runs`
    Baseline,
    apply,
    converged_problems,
    error_message,
    runs_fixture,
)

pytestmark = pytest.mark.timeout(600)

SP_NOT_FOUND = dict(status=404, path_prefix="/v1.0/servicePrincipals/", method="PATCH", code="Request_ResourceNotFound",
                    message="Resource 'x' does not exist or one of its queried reference-property objects are not "
                            "present.")


def test_a_first_apply_under_replication_lag_converges(runs, graph_emulator, sekoia_emulator):
    baseline = Baseline.of(graph_emulator)
    # Seeded lag: some new objects unseen for up to 1.2 s, some requests already seeing them; and the first
    # service principal PATCH surely lands on a replica without it (the real provider's #1802 failure).
    graph_emulator.configure(replication_delay_ms=1200, replication_lag_share=0.6, replication_lag_jitter=0.5,
                             replication_seen_share=0.3)
    graph_emulator.queue_fault(**SP_NOT_FOUND)
    done = apply(runs)
    assert done.returncode == 0, done.err[-4000:]
    assert "known transient error, new service principal not replicated yet" in done.err
    assert "Planning again after the transient failure" in done.err
    assert "attempt 2 of 10" in done.err
    status = runs("status", "sandbox")
    assert status.returncode == 0, status.err[-3000:]
    # One of each, all in the state: the retries made nothing twice and left nothing behind.
    problems, duplicates = converged_problems(runs, graph_emulator, sekoia_emulator, baseline)
    assert problems == [] and duplicates == 0, problems
    again = apply(runs)
    assert again.returncode == 0 and "known transient" not in again.err


def test_lag_that_outlasts_the_attempts_fails_bounded_and_a_rerun_goes_on(runs, graph_emulator, sekoia_emulator):
    baseline = Baseline.of(graph_emulator)
    runs.transient_retry = "2,0.2,0.2"
    graph_emulator.queue_fault(**SP_NOT_FOUND, times=2)  # each attempt's new service principal
    done = apply(runs)
    assert done.returncode == 1, done.err[-3000:]
    message = error_message(done)
    assert "Terraform apply still failed after 2 attempts" in message
    assert "new service principal not replicated yet" in message and "run apply again" in message
    assert "Traceback" not in done.err
    again = apply(runs)
    assert again.returncode == 0, again.err[-3000:]
    assert runs("status", "sandbox").returncode == 0
    problems, duplicates = converged_problems(runs, graph_emulator, sekoia_emulator, baseline)
    assert problems == [] and duplicates == 0, problems


def test_a_bad_retry_setting_is_refused_with_exit_2(runs, graph_emulator):
    runs.transient_retry = "lots"
    done = apply(runs)
    assert done.returncode == 2, done.err[-2000:]
    assert "SEKOIA_SSO_TRANSIENT_RETRY must be three numbers" in error_message(done)
