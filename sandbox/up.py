"""The whole sandbox in one call: Graph emulator (with login), Sekoia.io emulator, provider mirror.

    with start_sandbox(".sandbox") as sandbox:           # in-process (tests, the demo)
        subprocess.run(["terraform", "plan"], env={**os.environ, **sandbox.env})

    python -m sandbox up [--dir DIR] [--profile reality]  # a process, until SIGINT/SIGTERM

`<dir>/endpoints.json` (mode 0600, removed on stop) tells the CLI and `envs/sandbox.yaml` where
everything is:

    {"graph_url": ..., "login_url": ..., "sekoia_url": ..., "terraform_cli_config": ...,
     "env": {"TF_CLI_CONFIG_FILE", "AZUREAD_SANDBOX_GRAPH_URL", "ARM_TENANT_ID", "ARM_CLIENT_ID",
             "ARM_CLIENT_SECRET", "AZUREAD_SANDBOX_POLL_SECONDS", "SEKOIA_SANDBOX_API_KEY"}}

A profile (sandbox/profiles.py: fast, the default, or reality) sets the Graph emulator's fault knobs
and the emulated provider's poll interval.

It holds the sandbox's client secret and API key: those are made fresh at each start and only
ever written there, never printed.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from sandbox.graph.emulator import GraphEmulator
from sandbox.graph.login import LOGIN_HOST
from sandbox.mirror import Mirror, install_mirror
from sandbox.profiles import DEFAULT_PROFILE, Profile, profile_named
from sandbox.provider import GRAPH_URL_ENV, POLL_SECONDS_ENV
from sandbox.sekoia.emulator import SekoiaEmulator

SANDBOX_DIR_ENV = "SEKOIA_SSO_SANDBOX_DIR"
DEFAULT_DIR_NAME = ".sandbox"
ENDPOINTS_FILE = "endpoints.json"
SEKOIA_API_KEY_ENV = "SEKOIA_SANDBOX_API_KEY"


def default_dir() -> Path:
    """$SEKOIA_SSO_SANDBOX_DIR, else `.sandbox` in the current directory."""
    return Path(os.environ.get(SANDBOX_DIR_ENV) or DEFAULT_DIR_NAME)


@dataclass
class Sandbox:
    """A running sandbox. `env` is what Terraform and the CLI need to use it."""

    directory: Path
    graph: GraphEmulator
    sekoia: SekoiaEmulator
    mirror: Mirror
    endpoints_file: Path | None = None
    # Emulators handed in already running (e.g. pytest's session servers) are left running by stop().
    owns_graph: bool = True
    owns_sekoia: bool = True
    profile: Profile = field(default_factory=lambda: profile_named(DEFAULT_PROFILE))
    _stopped: bool = field(default=False, repr=False)

    @property
    def env(self) -> dict[str, str]:
        return {
            "TF_CLI_CONFIG_FILE": str(self.mirror.cli_config),
            GRAPH_URL_ENV: self.graph.url,
            "ARM_TENANT_ID": self.graph.tenant_id,
            "ARM_CLIENT_ID": self.graph.principal_client_id,
            "ARM_CLIENT_SECRET": self.graph.principal_client_secret,
            POLL_SECONDS_ENV: f"{self.profile.poll_seconds:g}",
            SEKOIA_API_KEY_ENV: self.sekoia.demo_api_key or "",
        }

    def endpoints(self) -> dict[str, Any]:
        return {
            "graph_url": self.graph.url,
            "login_url": self.graph.url,
            "sekoia_url": self.sekoia.url,
            "terraform_cli_config": str(self.mirror.cli_config),
            "env": self.env,
        }

    def write_endpoints(self) -> Path:
        """Write `<dir>/endpoints.json`, readable by its owner only (it holds the secrets)."""
        path = self.directory / ENDPOINTS_FILE
        temporary = path.with_name(f".{ENDPOINTS_FILE}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(self.endpoints(), handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)  # readers never see a half-written file
        self.endpoints_file = path
        return path

    def stop(self) -> None:
        """Stop both emulators and remove endpoints.json. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        if self.endpoints_file is not None:
            self.endpoints_file.unlink(missing_ok=True)
        if self.owns_graph:
            self.graph.stop()
        if self.owns_sekoia:
            self.sekoia.stop()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_sandbox(directory: Path | str | None = None, *, write_endpoints: bool = True, seed: int = 0,
                  graph: GraphEmulator | None = None, sekoia: SekoiaEmulator | None = None,
                  profile: str = DEFAULT_PROFILE) -> Sandbox:
    """Start the emulators on free 127.0.0.1 ports and install the provider mirror under `directory`.

    graph / sekoia: emulators to use instead of new ones; started here unless already running, and
    then left running by `Sandbox.stop()`. `profile`: a name of sandbox/profiles.py (ValueError if unknown).
    """
    chosen = profile_named(profile)
    directory = Path(directory or default_dir()).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    mirror = install_mirror(directory)
    graph = graph or GraphEmulator(seed=seed)
    sekoia = sekoia or SekoiaEmulator(seed=seed)
    owns_graph, owns_sekoia = not _running(graph), not _running(sekoia)
    if owns_graph:
        graph.start()
    try:
        if owns_sekoia:
            sekoia.start()
    except BaseException:
        if owns_graph:
            graph.stop()
        raise
    if chosen.graph_faults:
        graph.configure(**chosen.graph_faults)
    # the emulated Sekoia.io logs users in against the login emulator, as the real one against Entra ID
    sekoia.login_routes = {LOGIN_HOST: graph.url}
    sandbox = Sandbox(directory=directory, graph=graph, sekoia=sekoia, mirror=mirror, owns_graph=owns_graph,
                      owns_sekoia=owns_sekoia, profile=chosen)
    if write_endpoints:
        try:
            sandbox.write_endpoints()
        except BaseException:
            sandbox.stop()
            raise
    return sandbox


def _running(emulator: GraphEmulator | SekoiaEmulator) -> bool:
    try:
        emulator.url  # noqa: B018 - both emulators raise RuntimeError until started
    except RuntimeError:
        return False
    return True


def describe(sandbox: Sandbox) -> str:
    """What `up` prints: where things are, never a secret."""
    return "\n".join([
        "sekoia-sso sandbox is up",
        f"  Microsoft Graph + login   {sandbox.graph.url}",
        f"  Sekoia.io API             {sandbox.sekoia.url}",
        f"  Terraform CLI config      {sandbox.mirror.cli_config}",
        f"  endpoints and credentials {sandbox.endpoints_file}",
        f"  profile                   {sandbox.profile.name}: {sandbox.profile.summary}",
        "Stop with Ctrl-C.",
    ])


DEFAULT_DOMAIN_VERIFICATION_SECONDS = 5.0


def run(directory: Path | str | None = None, *, out: TextIO = sys.stdout,
        on_ready: Callable[[Sandbox], None] | None = None,
        domain_verification_delay: float | None = DEFAULT_DOMAIN_VERIFICATION_SECONDS,
        profile: str = DEFAULT_PROFILE,
        secret_propagation_delay: float | tuple[float, float] | None = None) -> int:
    """`python -m sandbox up`: start, print the URLs, wait for SIGINT/SIGTERM, stop cleanly.

    Sekoia.io's team verifies a new domain by hand; the sandbox's stand-in verifies it after
    `domain_verification_delay` seconds (None: never, domains stay pending). A new client secret is
    refused by the token endpoint for `secret_propagation_delay` seconds, or a seeded draw in a
    (low, high) pair for each new secret (Entra ID: 4-18 s).
    """
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with start_sandbox(directory, profile=profile) as sandbox:
            sandbox.sekoia.domain_verification_delay = domain_verification_delay
            if secret_propagation_delay is not None:  # given on the command line: it wins over the profile's
                low, high = (secret_propagation_delay if isinstance(secret_propagation_delay, tuple)
                             else (secret_propagation_delay, secret_propagation_delay))
                sandbox.graph.configure(secret_propagation_ms=low * 1000,
                                        secret_propagation_jitter_ms=(high - low) * 1000)
            print(describe(sandbox), file=out, flush=True)
            if on_ready is not None:
                on_ready(sandbox)
            while not stop.wait(0.5):
                pass
            print("sekoia-sso sandbox stopped", file=out, flush=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
