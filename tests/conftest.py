"""Shared fixtures. Each emulator's fixtures live beside it as a pytest plugin."""

pytest_plugins = [
    "tests.fixtures_graph",
    "tests.fixtures_sekoia",
    "tests.fixtures_sandbox",
    "tests.e2e",  # `runs` (the CLI as processes on the sandbox) and `evidence` (figures in the summary)
]
