"""Where one environment's Terraform runs: its rendered root, data dir, plan file and backend.

Every command that runs Terraform for an environment goes through `Workspace`, so the data
dir (TF_DATA_DIR, one per environment: two environments never share `.terraform/`), the
saved plan's path and the sandbox's state location are decided in one place (`PlanSite`).

`EarlyPlan` starts `apply`'s plan before the environment's config is validated: the plan
reads only the committed HCL and these places, and loading the config (pydantic) takes a
tenth of a second that a no-op apply would otherwise add to the plan's time.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import IO, TYPE_CHECKING

from orchestrator.endpoints import (
    Endpoints,
    endpoints_for,
    read_running_sandbox,
    sandbox_dir,
    sandbox_environ,
)
from orchestrator.errors import (
    ConfigError,
    EnvironmentBusyError,
    ReadOnlyCheckoutError,
    SekoiaSSOError,
    UsageError,
)

if TYPE_CHECKING:  # config loads pydantic, which EarlyPlan must not wait for
    from orchestrator.config.schema import Environment
    from orchestrator.terraform.runner import PlanResult, TerraformRunner


def find_project_dir(start: Path | None = None) -> Path:
    """The directory holding `envs/`: $SEKOIA_SSO_PROJECT_DIR, else the nearest parent of the cwd."""
    explicit = os.environ.get("SEKOIA_SSO_PROJECT_DIR")
    if explicit:
        return Path(explicit).resolve()
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "envs").is_dir():
            return candidate
    raise ConfigError(f"no envs/ directory in {here} or its parents; run sekoia-sso from your project (or set "
                      "SEKOIA_SSO_PROJECT_DIR), or start one with `sekoia-sso init`")


def apply_plan_step(name: str) -> str:
    """What apply says as its plan starts (early or not)."""
    return (f"Planning the Terraform changes, reading Entra ID and Sekoia.io; checking that terraform/envs/{name} "
            f"is a fresh render of envs/{name}.yaml")


# Commands that promise to write nothing (status, plan --json) may keep their working data elsewhere
# when the checkout is read-only (a CI runner's workspace); the others stop naming the path.
_ELSEWHERE = {"allowed": False}


def work_elsewhere_when_read_only() -> None:
    """Let this process keep an environment's working data and lock outside a read-only checkout."""
    _ELSEWHERE["allowed"] = True


def _writable(directory: Path) -> bool:
    """`directory` (or the nearest part of it that exists) may be written."""
    for candidate in (directory, *directory.parents):
        if candidate.exists():
            return candidate.is_dir() and os.access(candidate, os.W_OK | os.X_OK) and _not_read_only_fs(candidate)
    return False


def _not_read_only_fs(directory: Path) -> bool:
    try:
        return not os.statvfs(directory).f_flag & os.ST_RDONLY
    except OSError:
        return True


def _elsewhere(project_dir: Path, name: str) -> Path:
    """$XDG_CACHE_HOME/sekoia-sso/<checkout>/<env> (or ~/.cache/..., else the temporary dir), per checkout."""
    import hashlib
    import tempfile

    checkout = hashlib.sha256(str(project_dir.resolve()).encode()).hexdigest()[:16]
    roots = [os.environ.get("XDG_CACHE_HOME") or "", os.path.join(os.path.expanduser("~"), ".cache"),
             tempfile.gettempdir()]
    for root in roots:
        if root and os.path.isabs(root) and _writable(Path(root)):
            return Path(root) / "sekoia-sso" / checkout / name
    return Path(tempfile.gettempdir()) / "sekoia-sso" / checkout / name


@dataclass(frozen=True)
class PlanSite:
    """Where an environment's Terraform runs, from its name and whether it is the sandbox alone."""

    project_dir: Path
    name: str
    sandbox: bool

    @property
    def root_dir(self) -> Path:
        return self.project_dir / "terraform" / "envs" / self.name

    @property
    def data_dir(self) -> Path:
        if self.sandbox:
            # Beside the sandbox's state: a restarted sandbox (a fresh tenant) starts clean too.
            return sandbox_dir(self.project_dir) / "terraform" / self.name
        own = self.project_dir / ".sekoia-sso" / self.name
        if _ELSEWHERE["allowed"] and not _writable(own):
            return _elsewhere(self.project_dir, self.name)  # a read-only checkout: status, plan --json
        return own

    def make_data_dir(self) -> Path:
        """The data dir, made; ReadOnlyCheckoutError naming it when it cannot be."""
        directory = self.data_dir
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ReadOnlyCheckoutError(
                f"{directory} cannot be made ({exc.strerror}): `{self.name}`'s working data and lock live there. "
                "Run from a writable checkout; on a read-only one only `status` and `plan --json` work"
            ) from None
        return directory

    @property
    def plan_path(self) -> Path:
        return self.data_dir / "plan.tfplan"

    @property
    def backend_config(self) -> dict[str, str] | None:
        """Settings given at init on top of the rendered backend block (the sandbox's state file)."""
        if self.sandbox:
            return {"path": str(sandbox_dir(self.project_dir) / "terraform" / f"{self.name}.tfstate")}
        return None

    def runner(self, sandbox_env: dict[str, str], *, on_line: Callable[[str], None] | None = None,
               timeout: float | None = None) -> TerraformRunner:
        from orchestrator.terraform.runner import TerraformRunner

        if timeout is None:
            return TerraformRunner(self.root_dir, data_dir=self.data_dir, env=sandbox_env, on_line=on_line)
        return TerraformRunner(self.root_dir, data_dir=self.data_dir, env=sandbox_env, on_line=on_line,
                               timeout=timeout)

    def init_fingerprint(self, runner: TerraformRunner, sandbox_env: dict[str, str]) -> str:
        """What `terraform init` depends on: the root and module HCL, the lock file, the backend
        settings, the binary, and the CLI config that says where providers come from."""
        import hashlib
        import json

        digest = hashlib.sha256()
        cli_config = sandbox_env.get("TF_CLI_CONFIG_FILE", os.environ.get("TF_CLI_CONFIG_FILE", ""))
        parts = {
            "binary": [runner.binary, str(runner.terraform.version)],
            "backend": self.backend_config,
            "cli_config": [cli_config, Path(cli_config).read_text() if os.path.isfile(cli_config) else ""],
        }
        digest.update(json.dumps(parts, sort_keys=True).encode())
        modules = self.project_dir / "terraform" / "modules"
        for path in sorted([*self.root_dir.glob("*.tf"), *self.root_dir.glob(".terraform.lock.hcl"),
                            *modules.rglob("*.tf")]):
            digest.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()

    @property
    def init_marker(self) -> Path:
        return self.data_dir / "init.fingerprint"

    def is_initialised(self, runner: TerraformRunner, sandbox_env: dict[str, str]) -> bool:
        """Nothing init depends on has changed since the last successful init."""
        marker = self.init_marker
        return marker.is_file() and marker.read_text() == self.init_fingerprint(runner, sandbox_env)

    def lock(self) -> EnvironmentLock:
        return EnvironmentLock(self)


class EnvironmentLock:
    """One run per environment at a time; the second fails fast (Terraform's lock covers only its half)."""

    def __init__(self, site: PlanSite):
        self.site = site
        self._handle: IO[str] | None = None

    def acquire(self) -> EnvironmentLock:
        path = self.site.make_data_dir() / "sekoia-sso.lock"
        try:
            handle = path.open("a+")
        except OSError as exc:
            raise ReadOnlyCheckoutError(f"{path} cannot be opened ({exc.strerror}): run from a writable "
                                        "checkout") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise EnvironmentBusyError(
                f"another sekoia-sso run is working on environment {self.site.name} ({holder}); "
                "wait for it to finish, then re-run"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        self._handle = handle
        return self

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


@dataclass
class Workspace:
    env: Environment
    project_dir: Path

    @cached_property
    def site(self) -> PlanSite:
        return PlanSite(self.project_dir, self.env.name, self.env.config.sandbox)

    @cached_property
    def endpoints(self) -> Endpoints:
        return endpoints_for(self.env, self.project_dir)

    @property
    def root_dir(self) -> Path:
        return self.site.root_dir

    @property
    def data_dir(self) -> Path:
        return self.site.data_dir

    @property
    def plan_path(self) -> Path:
        return self.site.plan_path

    @property
    def backend_config(self) -> dict[str, str] | None:
        return self.site.backend_config

    def require_rendered_root(self) -> None:
        if not self.root_dir.is_dir():
            raise UsageError(
                f"terraform/envs/{self.env.name} does not exist: run `sekoia-sso render {self.env.name}` and commit it"
            )

    def require_current_render(self) -> None:
        """Terraform runs only what was reviewed: refuse when the committed HCL is stale."""
        from orchestrator.errors import StaleRenderError
        from orchestrator.render import diff_rendered, render_environment

        self.require_rendered_root()
        if diff_rendered(render_environment(self.env, self.project_dir), self.project_dir):
            raise StaleRenderError([self.env.name])

    def runner(self, *, on_line: Callable[[str], None] | None = None, timeout: float | None = None) -> TerraformRunner:
        return self.site.runner(self.endpoints.sandbox_env, on_line=on_line, timeout=timeout)

    def initialised_runner(self, *, on_line: Callable[[str], None] | None = None) -> TerraformRunner:
        from orchestrator.errors import TerraformError

        runner = self.runner(on_line=on_line)
        if self.site.is_initialised(runner, self.endpoints.sandbox_env):
            return runner
        self.site.init_marker.unlink(missing_ok=True)
        try:
            runner.init(self.backend_config)
        except TerraformError as exc:
            # The emulated provider's checksum covers its wrapper script, which names the checkout's
            # paths: a sandbox lock file made from another checkout or copy is dropped and re-made.
            lock_file = self.root_dir / ".terraform.lock.hcl"
            if not (self.env.config.sandbox and "checksum" in str(exc) and lock_file.exists()):
                raise
            lock_file.unlink()
            runner.init(self.backend_config)
        self.site.init_marker.write_text(self.site.init_fingerprint(runner, self.endpoints.sandbox_env))
        return runner


class EarlyPlan:
    """apply's `terraform plan`, started from the environment's name before its config is validated.

    The plan needs only the PlanSite, and whether the environment is the sandbox is read from its
    YAML without the schema. `start` gives None, and apply starts its plan as ever, whenever anything
    is not as a no-op re-run expects (the YAML does not read, the sandbox is not running, the root is
    not rendered, init is due, another run holds the environment): then apply reports it in its usual
    order. `take` hands the plan to the apply whose validated config names the same PlanSite;
    otherwise `close` stops it as Ctrl-C would, drops its file and frees the environment.
    """

    def __init__(self, site: PlanSite, sandbox_env: dict[str, str], lock: EnvironmentLock,
                 runner: TerraformRunner, held: _HeldOutput | None = None):
        self.site = site
        self.held = held or _HeldOutput(None)
        self.sandbox_env = sandbox_env
        self.lock = lock
        self.runner = runner
        self.cancel = threading.Event()
        self.future: Future[PlanResult] = Future()
        self._taken = False
        threading.Thread(target=self._plan, name="early-plan", daemon=True).start()

    def _plan(self) -> None:
        try:
            self.future.set_result(self.runner.plan(self.site.plan_path, cancel=self.cancel))
        except BaseException as error:  # the apply that takes the plan raises it
            self.future.set_exception(error)

    @classmethod
    def start(cls, project_dir: Path, name: str, *, on_line: Callable[[str], None] | None = None,
              announce: Callable[[str], None] | None = None) -> EarlyPlan | None:
        """The plan of environment `name`, started; `announce` is given apply_plan_step's text first."""
        site = _site_from_yaml(project_dir, name)
        if site is None or not site.root_dir.is_dir():
            return None
        try:
            sandbox_env = (sandbox_environ(read_running_sandbox(project_dir, f"envs/{name}.yaml"))
                           if site.sandbox else {})
            lock = site.lock().acquire()
        except SekoiaSSOError:
            return None
        try:
            # Nothing of the plan is shown until an apply takes it: a config error comes first and alone.
            held = _HeldOutput(on_line)
            if announce is not None:
                held.announce(announce, apply_plan_step(name))
            runner = site.runner(sandbox_env, on_line=held)
            if site.is_initialised(runner, sandbox_env):
                return cls(site, sandbox_env, lock, runner, held)
        except (SekoiaSSOError, OSError):
            pass
        lock.release()
        return None

    def take(self, workspace: Workspace) -> bool:
        """True when this plan is the one `workspace` would start: the caller now owns it and the lock."""
        if self._taken or workspace.site != self.site or workspace.endpoints.sandbox_env != self.sandbox_env:
            return False
        self._taken = True
        self.held.release()
        return True

    def close(self) -> None:
        """Stop and drop the plan unless an apply took it; free the environment."""
        if self._taken:
            return
        self._taken = True
        self.held.drop()  # stopped silently: its "Interrupt received" is no news to the user
        self.cancel.set()
        try:
            self.future.exception()
        finally:
            self.site.plan_path.unlink(missing_ok=True)
            self.lock.release()


class _HeldOutput:
    """The early plan's announcement and Terraform lines, kept until an apply takes the plan (then shown,
    and the lines that follow go straight through) or dropped with it."""

    def __init__(self, on_line: Callable[[str], None] | None):
        self._on_line = on_line
        self._lock = threading.Lock()
        self._held: list[tuple[Callable[[str], None], str]] = []
        self._state = "holding"

    def announce(self, say: Callable[[str], None], text: str) -> None:
        with self._lock:
            self._held.append((say, text))

    def __call__(self, line: str) -> None:
        if self._on_line is None:
            return
        with self._lock:
            if self._state == "holding":
                self._held.append((self._on_line, line))
                return
            if self._state == "dropped":
                return
        self._on_line(line)

    def release(self) -> None:
        with self._lock:  # in order: a line that comes meanwhile waits for the held ones
            for say, text in self._held:
                say(text)
            self._held, self._state = [], "released"

    def drop(self) -> None:
        with self._lock:
            self._held, self._state = [], "dropped"


def _site_from_yaml(project_dir: Path, name: str) -> PlanSite | None:
    """The PlanSite of envs/<name>.yaml read without its schema; None when that is not plain.

    The file is read by the loader every command uses (a regular file, at most 1 MB), so a FIFO, a
    device or a huge file is never read here: apply then reports it as the config's error.
    """
    import yaml

    from orchestrator.config.envfile import read_environment_file

    try:
        _, raw = read_environment_file(project_dir, name)
        document = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (SekoiaSSOError, OSError, yaml.YAMLError, ValueError, RecursionError):
        return None
    if not isinstance(document, dict) or not isinstance(document.get("sandbox", False), bool):
        return None
    return PlanSite(project_dir, name, document.get("sandbox", False))
