"""Shared fixtures. Each emulator's fixtures live beside it as a pytest plugin."""

pytest_plugins = [
    "tests.harness.fixtures_graph",
    "tests.harness.fixtures_sekoia",
    "tests.harness.fixtures_sandbox",
    "tests.harness.e2e",  # `runs` (the CLI as processes on the sandbox) and `evidence` (figures in the summary)
]
