"""Pytest fixtures for the Graph emulator (sandbox.graph): one server per session, a clean tenant per test.

    def test_something(graph_emulator, graph_client):
        graph_client.get("/v1.0/users")              # authenticated as the Terraform principal
        graph_emulator.faults.throttle_every = 2      # knobs are back to defaults at the next test
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sandbox.graph.emulator import GraphEmulator


@pytest.fixture(scope="session")
def graph_emulator_server() -> Iterator[GraphEmulator]:
    """The session's Graph emulator, default fixture tenant, seed 0. Prefer `graph_emulator`."""
    with GraphEmulator(seed=0) as emulator:
        yield emulator


@pytest.fixture
def graph_emulator(graph_emulator_server: GraphEmulator) -> Iterator[GraphEmulator]:
    """The session's Graph emulator, reset to its fixture tenant and default knobs for this test."""
    graph_emulator_server.reset()
    yield graph_emulator_server
    errors = list(graph_emulator_server.internal_errors)
    graph_emulator_server.reset()
    assert not errors, "the Graph emulator crashed while serving this test:\n" + "\n".join(errors)


@pytest.fixture
def graph_token(graph_emulator: GraphEmulator) -> str:
    """A bearer token of the Terraform principal, with the Graph permissions the fixture grants it."""
    return graph_emulator.issue_token()


@pytest.fixture
def graph_client(graph_emulator: GraphEmulator, graph_token: str) -> Iterator[httpx.Client]:
    """An httpx client on the emulator's root URL, sending the Terraform principal's bearer token."""
    with httpx.Client(base_url=graph_emulator.url, headers={"Authorization": f"Bearer {graph_token}"},
                      timeout=10) as client:
        yield client
