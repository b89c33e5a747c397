"""`make demo`: the whole flow on envs/sandbox.yaml against the local emulators, in one command.

Starts the sandbox (Graph, login, Sekoia.io, the emulated azuread provider) in a temporary
directory, runs `sekoia-sso apply sandbox --yes --warn-only --quiet` (its users are incomplete on
purpose, so the preflight only warns) and `sekoia-sso status sandbox` as a user would, then logs
one sandbox user in through SSO (the Sekoia.io emulator runs the authorization-code flow against
the login emulator) and prints the claims Sekoia.io received, never a secret; then stops the
sandbox. The sandbox's "Sekoia.io team" verifies domains after a few seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sandbox.sekoia.state import DEMO_COMMUNITY_UUID
from sandbox.up import Sandbox, start_sandbox

REPO = Path(__file__).resolve().parent.parent
DOMAIN_VERIFICATION_SECONDS = 3.0
LOGIN_USER = "alice@contoso.example"  # complete, and a direct member of an assigned group


def main() -> int:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sekoia-sso-demo-") as directory, start_sandbox(directory) as sandbox:
        sandbox.sekoia.domain_verification_delay = DOMAIN_VERIFICATION_SECONDS
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "ARM_"))}
        env.update(SEKOIA_SSO_SANDBOX_DIR=directory, SEKOIA_SSO_PROJECT_DIR=str(REPO))
        print(f"Sandbox up: Graph {sandbox.graph.url}, Sekoia.io {sandbox.sekoia.url}\n", flush=True)
        steps = [
            # The sandbox tenant has users with incomplete profiles on purpose: the preflight shows them.
            ["apply", "sandbox", "--yes", "--warn-only", "--quiet"],
            ["status", "sandbox"],
        ]
        for step in steps:
            print(f"$ sekoia-sso {' '.join(step)}", flush=True)
            done = subprocess.run([sys.executable, "-m", "orchestrator", *step], cwd=REPO, env=env)
            if done.returncode != 0:
                print(f"\ndemo: `sekoia-sso {' '.join(step)}` exited {done.returncode}", file=sys.stderr)
                return done.returncode
            print(flush=True)
        if not log_in(sandbox):
            return 1
    print(f"Demo done in {time.monotonic() - started:.1f}s; the sandbox is stopped.")
    return 0


def log_in(sandbox: Sandbox) -> bool:
    """One SSO login as a user would make it, and what Sekoia.io received (claims only: no secret in them)."""
    print(f"$ SSO login of {LOGIN_USER} to Sekoia.io (authorization code flow, ID token checked)", flush=True)
    result = sandbox.sekoia.sso_login(DEMO_COMMUNITY_UUID, LOGIN_USER)
    if not result.accepted:
        print(f"demo: Sekoia.io refused the login at {result.stage}: {result.reason}", file=sys.stderr)
        return False
    print("Sekoia.io accepted the login; the ID token's claims it received:")
    print(json.dumps(result.claims, indent=2, sort_keys=True), flush=True)
    print(flush=True)
    return True


if __name__ == "__main__":
    sys.exit(main())
