"""One Sekoia.io API key, one budget: every client of a process using the key shares its rate limiter.

The emulator's WAF counts each key's requests (more than 4 in one second blocks that key), as Sekoia.io
does; the environments of `status --all` that use one key open a client each, side by side in threads.
"""

from __future__ import annotations

import threading
import time

import pytest

from orchestrator.errors import SekoiaRateLimitedError
from orchestrator.sekoia.client import _SHARED_WINDOWS, DEFAULT_RATE, RetryPolicy, SekoiaClient, shared_request_window
from sandbox.sekoia.state import DEMO_COMMUNITY_UUID

pytestmark = pytest.mark.timeout(60)

NO_RETRY = RetryPolicy(attempts=1)  # a 429 is raised at once: the test sees every throttled request


def side_by_side(clients: list[SekoiaClient], calls: int) -> list[BaseException]:
    """`calls` reads on each client, all clients at once in threads; the errors raised."""
    errors: list[BaseException] = []

    def reads(client: SekoiaClient) -> None:
        try:
            for _ in range(calls):
                client.community(DEMO_COMMUNITY_UUID)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=reads, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def clients(emulator, key: str, count: int, **options) -> list[SekoiaClient]:
    return [SekoiaClient(api_base=emulator.url, api_key=key, retry=NO_RETRY, **options) for _ in range(count)]


@pytest.fixture
def waf_at_sekoias_budget(sekoia_emulator):
    sekoia_emulator.rate_limit = 4  # 5 requests in one second with one key block it
    sekoia_emulator.rate_limit_block = 60
    time.sleep(1.2)  # out of the window of the last test's requests
    return sekoia_emulator


def test_three_clients_of_one_key_share_its_budget_and_never_trip_the_waf(waf_at_sekoias_budget, sekoia_api_key):
    paced = clients(waf_at_sekoias_budget, sekoia_api_key, 3, rate=DEFAULT_RATE)
    assert paced[0].limiter is paced[1].limiter is paced[2].limiter
    started = time.monotonic()
    assert side_by_side(paced, 4) == []
    assert [r.status for r in waf_at_sekoias_budget.requests] == [200] * 12
    assert time.monotonic() - started >= 8 / DEFAULT_RATE - 0.05  # 12 requests: two windows waited out


def test_the_counter_test_clients_pacing_alone_trip_it(waf_at_sekoias_budget, sekoia_api_key):
    # Each paced on its own (a window each, as before the shared limiter): together they exceed the budget.
    alone = clients(waf_at_sekoias_budget, sekoia_api_key, 3, rate=DEFAULT_RATE, sleep=lambda s: time.sleep(s))
    assert alone[0].limiter is not alone[1].limiter
    errors = side_by_side(alone, 4)
    assert errors and all(isinstance(e, SekoiaRateLimitedError) for e in errors)


def test_another_key_has_its_own_budget(waf_at_sekoias_budget, sekoia_api_key):
    other = waf_at_sekoias_budget.add_api_key(["COMMUNITY_READ_ROLE"])
    burst = clients(waf_at_sekoias_budget, sekoia_api_key, 1, rate=1000.0)[0]
    with pytest.raises(SekoiaRateLimitedError):
        for _ in range(6):
            burst.community(DEMO_COMMUNITY_UUID)  # this key is blocked for a minute now
    (fine,) = clients(waf_at_sekoias_budget, other, 1, rate=DEFAULT_RATE)
    assert fine.limiter is not burst.limiter
    assert fine.community(DEMO_COMMUNITY_UUID)["uuid"] == DEMO_COMMUNITY_UUID


def test_the_windows_are_kept_by_a_hash_never_by_the_key(sekoia_api_key):
    shared_request_window(sekoia_api_key, DEFAULT_RATE)
    kept = repr(list(_SHARED_WINDOWS))
    assert sekoia_api_key not in kept and sekoia_api_key.encode().hex() not in kept
