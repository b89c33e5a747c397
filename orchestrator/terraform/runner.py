"""Terraform, driven from Python: the one module that runs it.

    runner = TerraformRunner(Path("terraform/envs/prod"), data_dir=Path(".sekoia-sso/prod"))
    runner.init({"key": "prod.tfstate"})
    plan = runner.plan(Path(".sekoia-sso/prod/tfplan"))
    print(runner.show_plan(plan.plan_path).render_text())
    if plan.has_changes:
        runner.apply(plan.plan_path)
    secret = runner.outputs()["client_secret"]      # a Secret: prints as ********

Terraform or OpenTofu (>= 1.5) is found through `binary=`, then $TERRAFORM_BIN, then `terraform`
and `tofu` on PATH. A missing or too old binary is a ConfigError (exit 2): the machine is set up
wrongly, nothing ran. Every failure of Terraform itself is a TerraformError (exit 1) whose text
is Terraform's first `Error:` block as one paragraph; the state lock, a stale plan and a changed
backend have their own subclasses and say what to do.

python-terraform 0.10.1 is used for what it does right, and only that: its command-line syntax
(`Terraform.generate_cmd_string`: keyword → `-flag`, `IsFlagged`, lists repeated, the
`backend_config` dict as `-backend-config=k=v`), with every flag spelled out by this module.
Its `cmd()` is not called: it waits in `communicate()` (no streaming, no timeout, no process
group to forward Ctrl-C to), logs the command's whole output at DEBUG (the `output -json` of a
sensitive output included) and stderr at WARNING on every non-zero exit (plan's 2 too), and
its helpers are broken on Terraform >= 0.15 (see shared/reference/terraform-from-python.md:
`-reconfigure` added to init, `-force` to destroy, `var=` dicts written to /tmp in clear, …).
So the argv it builds runs under this module's own supervisor: stdin closed, both pipes drained
by threads, lines streamed to `on_line`, SIGINT forwarded to Terraform's process group on
Ctrl-C or timeout, then a grace period, then SIGKILL.

Secrets: variables go to Terraform as TF_VAR_* in its environment, never on the command line or
in a file; sensitive outputs come back as `Secret`; the output of `show -json` and `output -json`
(which holds secrets in clear) is parsed in memory and never streamed, logged or put in an error.
Plan files and local state hold sensitive values too (Terraform's design): Terraform runs under
umask 077 so they are readable by the owner only, as is the data dir. Values already known to be
secret (Secret env/vars, sensitive outputs once read) are masked in every line streamed or kept,
because Terraform itself prints some in clear (a `terraform_data` copies a sensitive input into
its `output` without the mark). One runner runs one command at a time.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.errors import (
    ConfigError,
    TerraformCancelled,
    TerraformError,
    UsageError,
)
from orchestrator.secret import Secret, reveal, strings_in
from orchestrator.terraform.argv import (
    apply_argv,
    destroy_argv,
    import_argv,
    init_argv,
    output_argv,
    plan_argv,
    show_plan_argv,
    state_list_argv,
    variables_env,
)
from orchestrator.terraform.binary import find_terraform
from orchestrator.terraform.diagnostics import command_error, timeout_error
from orchestrator.terraform.planview import PlanSummary
from orchestrator.terraform.process import Supervisor

log = logging.getLogger("orchestrator.terraform")  # the name users filter on, whichever module logs


DEFAULT_TIMEOUT = 1800.0  # seconds per command: an azuread apply takes a minute, not half an hour
DEFAULT_GRACE_PERIOD = 60.0  # after SIGINT, how long Terraform gets to stop and release the lock


# --------------------------------------------------------------------------------------------
# Errors with their own remedy


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class CommandRecord:
    """What ran, without its output (which may hold secrets): for logs and tests."""

    argv: tuple[str, ...]
    returncode: int | None
    duration: float


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    duration: float


@dataclass(frozen=True)
class PlanResult:
    plan_path: Path
    has_changes: bool  # -detailed-exitcode 2; 0 means the plan is empty
    returncode: int
    output: str = field(repr=False, default="")  # Terraform's human plan (sensitive values hidden by it)


# --------------------------------------------------------------------------------------------
# The runner


class TerraformRunner:
    """Runs Terraform commands in `root_dir`, with `.terraform/` kept in `data_dir`.

    `data_dir` is per environment (TF_DATA_DIR), so two environments never share a backend
    configuration or provider cache. `env` is added to Terraform's environment (provider
    credentials, TF_CLI_CONFIG_FILE, …; values may be Secret). `on_line` receives each line
    init/plan/apply/destroy print, as they print it. `timeout` applies to each command.
    """

    def __init__(
        self,
        root_dir: Path,
        *,
        data_dir: Path,
        env: Mapping[str, str | Secret] | None = None,
        binary: str | None = None,
        lock_timeout: str = "30s",
        timeout: float = DEFAULT_TIMEOUT,
        grace_period: float = DEFAULT_GRACE_PERIOD,
        on_line: Callable[[str], None] | None = None,
    ):
        self.root_dir = Path(root_dir)
        self.data_dir = Path(data_dir).absolute()
        self._env = dict(env or {})
        self.lock_timeout = lock_timeout
        self.timeout = timeout
        self.grace_period = grace_period
        self.on_line = on_line
        self.commands: list[CommandRecord] = []
        # Values known to be secret (Secret env/vars, sensitive outputs): masked in every line kept
        # or streamed, because Terraform itself loses the mark in places (terraform_data.output).
        self._secrets: set[str] = set()
        self._remember_secrets(self._env.values())
        if not self.root_dir.is_dir():
            raise ConfigError(f"Terraform root {self.root_dir} is not a directory")
        if not re.fullmatch(r"\d+(ms|s|m|h)", lock_timeout):
            raise ConfigError(f"lock_timeout {lock_timeout!r} is not a Terraform duration such as 30s or 5m")
        self.terraform = find_terraform(binary, env=self._base_env(),
                                        cache_file=self.data_dir / "terraform-binary.json")

    @property
    def binary(self) -> str:
        return self.terraform.path

    def _remember_secrets(self, values: Iterable[Any]) -> None:
        for value in values:
            if isinstance(value, Secret):
                self._secrets.update(text for text in strings_in(value.reveal()) if len(text) >= 4)

    def redact(self, text: str) -> str:
        """`text` with every secret value this runner has seen replaced by ********."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, Secret.MASK)
        return text

    # ---- commands ------------------------------------------------------------------------

    def init(
        self,
        backend_config: Mapping[str, str] | None = None,
        *,
        reconfigure: bool = False,
        migrate_state: bool = False,
    ) -> CommandResult:
        """`terraform init` with these backend settings (never -reconfigure unless asked).

        When the backend settings differ from those this data dir was initialised with, raises
        BackendChangedError: choose `migrate_state=True` (copy the state to the new backend) or
        `reconfigure=True` (the new backend already holds the state).
        """
        if reconfigure and migrate_state:
            raise UsageError("init: reconfigure and migrate_state exclude each other")
        for key, value in (backend_config or {}).items():
            if isinstance(value, Secret):
                raise ConfigError(
                    f"backend setting {key!r} is a secret: give it to the backend through its "
                    "environment variable (for azurerm: ARM_ACCESS_KEY, ARM_CLIENT_SECRET…), never "
                    "on the command line"
                )
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self.data_dir.chmod(0o700)  # the backend settings cached here may name storage accounts
        except OSError as exc:
            raise TerraformError(f"Terraform's working data dir {self.data_dir} cannot be made ({exc.strerror}): "
                                 "is the checkout read-only? Run from a writable checkout") from None
        argv = init_argv(
            self.binary,
            lock_timeout=self.lock_timeout,
            backend_config=backend_config,
            reconfigure=reconfigure,
            migrate_state=migrate_state,
        )
        return self._run(argv, stream=True)

    def plan(
        self,
        out: Path,
        *,
        destroy: bool = False,
        refresh_only: bool = False,
        vars: Mapping[str, Any] | None = None,
        replace: Sequence[str] = (),
        targets: Sequence[str] = (),
        cancel: threading.Event | None = None,
    ) -> PlanResult:
        """Plan into the saved plan file `out`; rc 2 (changes) is a result, not an error.

        Setting `cancel` (from another thread) stops the plan as Ctrl-C would, and it raises
        TerraformCancelled once Terraform has exited: a plan changes nothing, so a caller may start
        one before its own checks are done and drop it if they fail."""
        if destroy and refresh_only:
            raise UsageError("plan: destroy and refresh_only exclude each other")
        out = Path(out).absolute()
        out.parent.mkdir(parents=True, exist_ok=True)
        # A failed plan must not leave an older plan behind to be applied by mistake.
        out.unlink(missing_ok=True)
        argv = plan_argv(
            self.binary,
            out,
            lock_timeout=self.lock_timeout,
            destroy=destroy,
            refresh_only=refresh_only,
            replace=replace,
            targets=targets,
        )
        self._remember_secrets((vars or {}).values())
        try:
            result = self._run(argv, stream=True, ok=(0, 2), extra_env=variables_env(vars), cancel=cancel)
        except BaseException:
            out.unlink(missing_ok=True)  # Terraform saves an errored plan too: nobody may apply it
            raise
        if out.exists():
            out.chmod(0o600)  # a plan file holds the sensitive values in clear
        return PlanResult(
            plan_path=out,
            has_changes=result.returncode == 2,
            returncode=result.returncode,
            output=result.stdout,
        )

    def show_plan(self, plan_path: Path) -> PlanSummary:
        """What the saved plan will do, sensitive values masked."""
        plan_path = self._existing_plan(plan_path)
        result = self._run(show_plan_argv(self.binary, plan_path), stream=False, secret_stdout=True)
        try:
            return PlanSummary.from_json_text(result.stdout)
        except ValueError:
            raise TerraformError(
                f"terraform show -json {plan_path} did not print the JSON of a plan",
                command="show",
                returncode=result.returncode,
            ) from None

    def apply(self, plan_path: Path) -> CommandResult:
        """Apply exactly this saved plan; StalePlanError if the state changed since it was made."""
        return self._run(
            apply_argv(self.binary, self._existing_plan(plan_path), lock_timeout=self.lock_timeout),
            stream=True,
            plan_path=plan_path,
        )

    def destroy(self, *, vars: Mapping[str, Any] | None = None) -> CommandResult:
        """Destroy everything in the state, without a prompt."""
        self._remember_secrets((vars or {}).values())
        return self._run(
            destroy_argv(self.binary, lock_timeout=self.lock_timeout),
            stream=True,
            extra_env=variables_env(vars),
        )

    def import_resource(self, address: str, resource_id: str) -> CommandResult:
        """Record in the state, under `address`, an object that already exists (`terraform import`)."""
        return self._run(
            import_argv(self.binary, address, resource_id, lock_timeout=self.lock_timeout),
            stream=True,
        )

    def outputs(self) -> dict[str, Any]:
        """Every root output, name → value; sensitive ones wrapped in Secret."""
        result = self._run(output_argv(self.binary), stream=False, secret_stdout=True)
        try:
            data = json.loads(result.stdout or "{}")
        except ValueError:
            raise TerraformError(
                "terraform output -json did not print JSON", command="output", returncode=result.returncode
            ) from None
        values = {
            name: Secret(item.get("value")) if item.get("sensitive") else item.get("value")
            for name, item in sorted(data.items())
        }
        self._remember_secrets(values.values())
        return values

    def state_list(self) -> list[str]:
        """The addresses of the resources in the state."""
        try:
            result = self._run(state_list_argv(self.binary), stream=False)
        except TerraformError as exc:
            if "require a state file" in str(exc):  # nothing applied yet: an empty state
                return []
            raise
        return [line.strip() for line in result.stdout.splitlines() if line.strip()]

    # ---- running -------------------------------------------------------------------------

    def _existing_plan(self, plan_path: Path) -> Path:
        plan_path = Path(plan_path).absolute()
        if not plan_path.is_file():
            raise UsageError(f"No saved plan at {plan_path}: run plan first")
        return plan_path

    def _base_env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("TF_CLI_ARGS")}
        env.update({key: str(reveal(value)) for key, value in self._env.items()})
        # We own the command line: extra arguments from the environment (TF_CLI_ARGS_init=-reconfigure)
        # would bring back exactly what this module keeps out.
        for key in [key for key in env if key.startswith("TF_CLI_ARGS")]:
            del env[key]
        if env.get("TF_LOG") and not env.get("TF_LOG_PATH"):
            # Debug logs on stderr would carry provider requests, secrets included, to the terminal.
            log.warning("TF_LOG ignored: set TF_LOG_PATH too to write Terraform's debug log to a file")
            for key in ("TF_LOG", "TF_LOG_CORE", "TF_LOG_PROVIDER"):
                env.pop(key, None)
        env.update(
            TF_IN_AUTOMATION="1",
            CHECKPOINT_DISABLE="1",
            TF_INPUT="0",
            TF_DATA_DIR=str(self.data_dir),
        )
        return env

    def _run(
        self,
        argv: list[str],
        *,
        stream: bool,
        ok: Sequence[int] = (0,),
        secret_stdout: bool = False,
        extra_env: Mapping[str, str] | None = None,
        plan_path: Path | None = None,
        cancel: threading.Event | None = None,
    ) -> CommandResult:
        command = argv[1] if len(argv) > 1 else "?"
        env = self._base_env()
        env.update(extra_env or {})
        log.debug("running %s in %s", shlex.join(argv), self.root_dir)
        started = time.monotonic()
        try:
            process = subprocess.Popen(
                argv,
                cwd=self.root_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                process_group=0,  # Ctrl-C reaches us only; we forward it (below) and wait
                umask=0o077,  # plan files and local state hold secrets in clear: owner-only from birth
            )
        except OSError as exc:
            raise TerraformError(f"Could not start {argv[0]}: {exc.strerror}", command=command) from None
        supervisor = Supervisor(
            process,
            on_line=self.on_line if stream else None,
            deadline=started + self.timeout,
            grace_period=self.grace_period,
            redact=self.redact,
            redact_stdout=not secret_stdout,
            cancel=cancel,
        )
        try:
            supervisor.pump()
        except BaseException as exc:  # Ctrl-C, or on_line raised: stop Terraform cleanly first
            supervisor.stop(exc)
            self._record(argv, process.returncode, started)
            raise
        self._record(argv, process.returncode, started)
        stdout, stderr = supervisor.text("stdout"), supervisor.text("stderr")
        duration = time.monotonic() - started
        if supervisor.stopping.timed_out:
            raise timeout_error(command, root_dir=self.root_dir, timeout=self.timeout,
                                grace_period=self.grace_period, killed=supervisor.stopping.killed)
        if supervisor.stopping.cancelled:
            raise TerraformCancelled(f"terraform {command} was stopped on request", command=command,
                                     returncode=process.returncode)
        if process.returncode not in ok:
            raise command_error(command, process.returncode, stderr, "" if secret_stdout else stdout,
                                root_dir=self.root_dir, data_dir=self.data_dir, plan_path=plan_path)
        return CommandResult(tuple(argv), process.returncode, stdout, stderr, duration)

    def _record(self, argv: list[str], returncode: int | None, started: float) -> None:
        duration = time.monotonic() - started
        self.commands.append(CommandRecord(tuple(argv), returncode, duration))
        log.debug("%s exited %s after %.1fs", argv[1] if len(argv) > 1 else argv[0], returncode, duration)
