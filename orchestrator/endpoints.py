"""Where an environment's services answer: the real clouds, or the local sandbox.

A sandbox environment (`sandbox: true`) keeps the real, committed URLs everywhere (the
tenant endpoint Sekoia.io stores is still https://login.microsoftonline.com/<tenant>/), and
this module maps those hosts to the emulators at request time, from the endpoints file that
`python -m sandbox up` writes (`.sandbox/endpoints.json`, or $SEKOIA_SSO_SANDBOX_DIR).
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from orchestrator.errors import SandboxNotRunningError, SekoiaSSOError

if TYPE_CHECKING:  # config loads pydantic: apply starts its plan before that (workspace.EarlyPlan)
    from orchestrator.config.schema import Environment

ENDPOINTS_FILE = "endpoints.json"


@dataclass(frozen=True)
class Endpoints:
    login_url: str  # as written in config and outputs, e.g. https://login.microsoftonline.com
    graph_url: str
    sekoia_api_base: str
    # Where requests really go: the same origins, or the sandbox's loopback servers.
    routes: dict[str, str] = field(default_factory=dict)
    # Variables the sandbox adds for Terraform and the clients (CLI config, ARM_* credentials, API key).
    sandbox_env: dict[str, str] = field(default_factory=dict)

    def resolve(self, url: str) -> str:
        """The URL a request for `url` really goes to (itself, outside the sandbox)."""
        for public, actual in self.routes.items():
            if url == public or url.startswith(public + "/"):
                return actual + url[len(public):]
        return url

    def environ(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """Process environment for Terraform and credential lookups.

        In the sandbox, its own values (provider mirror, throwaway ARM_* credentials, API key)
        win: real credentials exported in the shell must never be sent to the emulators.
        """
        merged = dict(os.environ if base is None else base)
        merged.update(self.sandbox_env)
        return merged


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_https(url: str, *, what: str) -> str:
    """HTTPS only, except loopback (the sandbox): credentials never travel in clear text."""
    if urlsplit(url).scheme != "https" and not is_loopback(url):
        raise SekoiaSSOError(f"{what} must use https:// (got {url}); plain http is allowed on loopback only")
    return url


def sandbox_dir(project_dir: Path) -> Path:
    explicit = os.environ.get("SEKOIA_SSO_SANDBOX_DIR")
    return Path(explicit).resolve() if explicit else project_dir / ".sandbox"


def endpoints_for(env: Environment, project_dir: Path) -> Endpoints:
    cloud = env.cloud
    sekoia_api = env.config.sekoia.region_info.api_base
    if not env.config.sandbox:
        return Endpoints(login_url=cloud.login_url, graph_url=cloud.graph_url, sekoia_api_base=sekoia_api)
    running = read_running_sandbox(project_dir, env.path)
    try:
        routes = {
            cloud.login_url: running["login_url"].rstrip("/"),
            cloud.graph_url: running["graph_url"].rstrip("/"),
            sekoia_api: running["sekoia_url"].rstrip("/"),
        }
    except (KeyError, AttributeError, TypeError) as exc:
        raise _invalid_endpoints_file(sandbox_dir(project_dir) / ENDPOINTS_FILE, exc) from None
    return Endpoints(
        login_url=cloud.login_url, graph_url=cloud.graph_url, sekoia_api_base=sekoia_api,
        routes=routes, sandbox_env=sandbox_environ(running),
    )


def _invalid_endpoints_file(path: Path, why: object) -> SandboxNotRunningError:
    return SandboxNotRunningError(f"{path} is not a valid sandbox endpoints file ({why}); restart the sandbox")


def read_running_sandbox(project_dir: Path, env_path: Path | str) -> dict[str, Any]:
    """The endpoints file of the running sandbox; SandboxNotRunningError saying why not."""
    path = sandbox_dir(project_dir) / ENDPOINTS_FILE
    try:
        running = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SandboxNotRunningError(
            f"{env_path} is a sandbox environment but the sandbox is not running ({path} is missing). "
            "Start it with `python -m sandbox up` in another terminal, or run `make demo`."
        ) from None
    except OSError as exc:  # a directory in its place, SEKOIA_SSO_SANDBOX_DIR naming a file, ...
        raise SandboxNotRunningError(f"{path} cannot be read ({exc.strerror}): check SEKOIA_SSO_SANDBOX_DIR, or "
                                     "restart the sandbox") from None
    except ValueError as exc:
        raise _invalid_endpoints_file(path, exc) from None
    if not isinstance(running, dict) or not isinstance(running.get("env", {}), dict):
        raise _invalid_endpoints_file(path, "not an object with an `env` object")
    urls = [running.get(key) for key in ("graph_url", "sekoia_url")]
    loopback_urls = [url for url in urls if isinstance(url, str) and is_loopback(url)]
    if len(loopback_urls) == len(urls) and not any(_answers(url) for url in loopback_urls):
        raise SandboxNotRunningError(
            f"{env_path} is a sandbox environment but the sandbox is not running: {path} was left by a sandbox "
            f"that has stopped (nothing listens at {urls[0]}). Start it with `make sandbox` (or "
            "`python -m sandbox up`) in another terminal, or run `make demo`."
        )
    return running


def _answers(url: str) -> bool:
    """Something listens at the URL's loopback port (a refused connection is immediate on loopback)."""
    import socket

    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 80), timeout=1.0):
            return True
    except (OSError, ValueError):
        return False


def sandbox_environ(running: dict[str, Any]) -> dict[str, str]:
    """What the sandbox adds to the environment of Terraform and the clients."""
    return {str(k): str(v) for k, v in running.get("env", {}).items()}
