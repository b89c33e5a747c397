"""Fixtures of the Sekoia.io emulator: one server per test session, its state reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.sekoia.emulator import SekoiaEmulator
from sandbox.sekoia.state import DEMO_COMMUNITY_UUID


@pytest.fixture(scope="session")
def sekoia_server() -> Iterator[SekoiaEmulator]:
    """The running emulator, shared by the session; prefer `sekoia_emulator`, which resets it."""
    with SekoiaEmulator(seed=0) as emulator:
        yield emulator


@pytest.fixture
def sekoia_emulator(sekoia_server: SekoiaEmulator) -> SekoiaEmulator:
    """The emulator with the demo data, default knobs and an empty request log."""
    sekoia_server.reset()
    return sekoia_server


@pytest.fixture
def sekoia_api_key(sekoia_emulator: SekoiaEmulator) -> str:
    """The demo key: reaches Contoso SOC, carries COMMUNITY_READ_ROLE and COMMUNITY_WRITE_ROLE."""
    assert sekoia_emulator.demo_api_key is not None
    return sekoia_emulator.demo_api_key


@pytest.fixture
def sekoia_community_uuid() -> str:
    return DEMO_COMMUNITY_UUID


class MemoryHandover:
    """The hand-over records kept in memory: what connect asks of rotation.TerraformSecrets, in order."""

    def __init__(self) -> None:
        self.recorded: list[str] = []  # key IDs recorded as pushed
        self.events: list[tuple[str, str]] = []

    def before_push(self, target) -> None:
        self.events.append(("pushing", target.client_secret_key_id))

    def after_push(self, target) -> None:
        self.events.append(("pushed", target.client_secret_key_id))
        self.recorded.append(target.client_secret_key_id)
