"""What the tests share: the emulators as pytest plugins, the CLI run as processes on the sandbox.

- fixtures_graph.py, fixtures_sekoia.py, fixtures_sandbox.py: each emulator's fixtures (session-wide
  servers, state reset per test) and the sandbox with its provider mirror.
- e2e.py: `runs` (the CLI as real processes on a copy of the project), `evidence` (the figures the
  summary prints), the secret-leak scan and `SecretMonitor`.
- project.py: the repository's root and a copy of the project to work in.
- schemacheck.py: HCL checked against the azuread 3.7.0 schema data.
"""
