"""Shared fixtures. Each emulator's fixtures live beside it as a pytest plugin."""

pytest_plugins = [
    "tests.fixtures_graph",
    "tests.fixtures_sekoia",
    "tests.fixtures_sandbox",
]
