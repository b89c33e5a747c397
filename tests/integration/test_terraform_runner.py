"""The Terraform runner against real Terraform (1.11.4 here) and roots made of `terraform_data`.

No provider can be downloaded on these machines, so every root uses only Terraform's built-in
`terraform_data` resource, outputs and a `local` backend. Where a test needs to see exactly what
reached Terraform, the runner is given `binary=` a wrapper script that logs its argv and a few
environment variables, then execs the real Terraform. Where a test needs a misbehaving
Terraform (ignores SIGINT, floods both pipes, too old), a small script stands in for it.

Each quirk of python-terraform listed in shared/reference/terraform-from-python.md has a test
below whose name starts with `test_quirk_`.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import queue
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest

from orchestrator.errors import (
    BackendChangedError,
    ConfigError,
    StalePlanError,
    StateLockedError,
    TerraformCancelled,
    TerraformError,
    TerraformTimeoutError,
    UsageError,
)
from orchestrator.secret import Secret
from orchestrator.terraform.argv import terraform_argv
from orchestrator.terraform.binary import find_terraform, parse_version_output
from orchestrator.terraform.diagnostics import error_blocks, first_error, parse_lock_info
from orchestrator.terraform.runner import TerraformRunner

pytestmark = pytest.mark.timeout(120)

TERRAFORM = shutil.which("terraform")
SECRET = "runner-test-secret-7c1f9e"

BASIC = """
terraform {
  backend "local" {}
}
variable "display_name" {
  type    = string
  default = "Sekoia.io SSO"
}
variable "client_secret" {
  type      = string
  sensitive = true
}
resource "terraform_data" "app" {
  input = var.display_name
}
# terraform_data copies input to output without keeping the sensitive mark: a worst case.
resource "terraform_data" "secret_holder" {
  input = var.client_secret
}
output "client_id" {
  value = terraform_data.app.id
}
output "display_name" {
  value = terraform_data.app.output
}
output "client_secret" {
  value     = var.client_secret
  sensitive = true
}
"""

SLOW = """
terraform {
  backend "local" {}
}
resource "terraform_data" "slow" {
  input = "x"
  provisioner "local-exec" {
    command = "echo provisioning-started; sleep $SLEEP_SECONDS"
  }
}
"""

SECRET_VARS = {"client_secret": Secret(SECRET)}


# ---------------------------------------------------------------------------------------------
# Helpers


@pytest.fixture
def cli_config(tmp_path) -> Path:
    """An empty CLI configuration (the machine's TF_CLI_CONFIG_FILE may name a missing file)."""
    path = tmp_path / "terraformrc"
    path.write_text("")
    return path


def make_root(tmp_path: Path, hcl: str, name: str = "root") -> Path:
    root = tmp_path / name
    root.mkdir()
    (root / "main.tf").write_text(textwrap.dedent(hcl))
    return root


@pytest.fixture
def make_runner(tmp_path, cli_config):
    def make(
        root: Path, *, data_dir: Path | None = None, env: dict | None = None, **kwargs
    ) -> TerraformRunner:
        return TerraformRunner(
            root,
            data_dir=data_dir or tmp_path / f"{root.name}-data",
            env={"TF_CLI_CONFIG_FILE": str(cli_config), **(env or {})},
            **kwargs,
        )

    return make


class ArgvLog:
    """A `terraform` wrapper that writes each invocation's argv and environment to a log."""

    def __init__(self, directory: Path):
        self.log = directory / "argv.log"
        self.binary = directory / "terraform-logged"
        self.binary.write_text(
            textwrap.dedent(f"""\
            #!/bin/sh
            {{
              echo "---"
              for arg in "$@"; do printf 'ARG %s\\n' "$arg"; done
              env | grep -E '^(TF_IN_AUTOMATION|CHECKPOINT_DISABLE|TF_INPUT|TF_DATA_DIR|TF_CLI_ARGS[A-Za-z_]*)=' \\
                | sed 's/^/ENV /'
              env | grep -oE '^TF_VAR_[A-Za-z0-9_]+' | sed 's/^/VARNAME /'
            }} >> {self.log}
            exec {TERRAFORM} "$@"
            """)
        )
        self.binary.chmod(0o755)

    def calls(self) -> list[dict]:
        calls: list[dict] = []
        for line in self.log.read_text().splitlines():
            if line == "---":
                calls.append({"argv": [], "env": {}, "vars": []})
            elif line.startswith("ARG "):
                calls[-1]["argv"].append(line[4:])
            elif line.startswith("ENV "):
                key, _, value = line[4:].partition("=")
                calls[-1]["env"][key] = value
            elif line.startswith("VARNAME "):
                calls[-1]["vars"].append(line[8:])
        return calls

    def argvs(self, command: str | None = None) -> list[list[str]]:
        return [call["argv"] for call in self.calls() if command is None or call["argv"][:1] == [command]]


@pytest.fixture
def argv_log(tmp_path) -> ArgvLog:
    directory = tmp_path / "bin"
    directory.mkdir()
    return ArgvLog(directory)


def fake_terraform(path: Path, body: str) -> Path:
    """A stand-in binary: `version` goes to the real Terraform, everything else runs `body`."""
    path.write_text(f'#!/bin/sh\ncase "$1" in version) exec {TERRAFORM} "$@";; esac\n{textwrap.dedent(body)}')
    path.chmod(0o755)
    return path


class LineReader:
    """Reads a child's stdout on a thread so a test can wait for a line with a timeout."""

    def __init__(self, stream):
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        for raw in iter(stream.readline, b""):
            self._queue.put(raw.decode("utf-8", "replace").rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, needle: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(needle in line for line in self.lines):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{needle!r} never printed; got {self.lines}")
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"stream ended before {needle!r}; got {self.lines}")
            self.lines.append(line)

    def rest(self, timeout: float = 10.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is None:
                break
            self.lines.append(line)
        return self.lines


def assert_lock_free(runner: TerraformRunner, tmp_path: Path) -> None:
    """A plan that may not wait for the lock at all succeeds: nobody holds it."""
    probe = TerraformRunner(runner.root_dir, data_dir=runner.data_dir, env=runner._env, lock_timeout="0s")
    probe.plan(tmp_path / "probe.tfplan")
    assert not (runner.root_dir / ".terraform.tfstate.lock.info").exists()


# ---------------------------------------------------------------------------------------------
# The whole cycle, and the secret never shown


def test_init_plan_apply_outputs_second_plan_destroy(tmp_path, make_runner, capfd, caplog):
    caplog.set_level(logging.DEBUG)
    lines: list[str] = []
    root = make_root(tmp_path, BASIC)
    runner = make_runner(root, on_line=lines.append)
    seen: list[str] = []  # everything the runner handed back as text

    seen.append(runner.init().stdout)
    assert "Terraform has been successfully initialized!" in lines

    plan = runner.plan(tmp_path / "plans" / "first.tfplan", vars=SECRET_VARS)
    assert plan.has_changes and plan.returncode == 2
    assert stat.S_IMODE(plan.plan_path.stat().st_mode) == 0o600  # it holds the secret in clear
    summary = runner.show_plan(plan.plan_path)
    assert {(c.address, c.action) for c in summary.resource_changes} == {
        ("terraform_data.app", "create"),
        ("terraform_data.secret_holder", "create"),
    }
    seen += [plan.output, summary.to_json(), summary.render_text()]

    applied = runner.apply(plan.plan_path)
    assert "Apply complete! Resources: 2 added, 0 changed, 0 destroyed." in applied.stdout
    assert "Apply complete! Resources: 2 added, 0 changed, 0 destroyed." in lines  # streamed
    seen += [applied.stdout, applied.stderr]

    outputs = runner.outputs()
    assert set(outputs) == {"client_id", "client_secret", "display_name"}
    assert outputs["display_name"] == "Sekoia.io SSO"
    assert isinstance(outputs["client_id"], str) and len(outputs["client_id"]) == 36
    assert isinstance(outputs["client_secret"], Secret)
    assert outputs["client_secret"].reveal() == SECRET
    seen += [repr(outputs), str(outputs), f"{outputs}"]
    assert runner.state_list() == ["terraform_data.app", "terraform_data.secret_holder"]
    assert stat.S_IMODE((root / "terraform.tfstate").stat().st_mode) == 0o600  # umask 077

    second = runner.plan(tmp_path / "plans" / "second.tfplan", vars=SECRET_VARS)
    assert not second.has_changes and second.returncode == 0
    assert not runner.show_plan(second.plan_path).has_changes
    assert "No changes." in second.output

    changed = runner.plan(
        tmp_path / "plans" / "third.tfplan", vars={**SECRET_VARS, "display_name": "Renamed"}
    )
    assert changed.has_changes
    renamed = runner.show_plan(changed.plan_path)
    assert [(c.address, c.action, c.attribute_names) for c in renamed.resource_changes] == [
        ("terraform_data.app", "update", ["input", "output"])
    ]
    # The holder's `output` carries the secret with no sensitive mark; the destroy below prints it.
    seen += [changed.output, renamed.render_text(), renamed.to_json()]

    destroyed = runner.destroy(vars=SECRET_VARS)
    assert "Destroy complete! Resources: 2 destroyed." in destroyed.stdout
    seen += [destroyed.stdout, destroyed.stderr]
    assert runner.state_list() == []

    captured = capfd.readouterr()
    # Quirk: capture_output=False hands sys.stdout to Popen. Ours: every byte came through pipes.
    assert captured.out == "" and captured.err == ""
    for text in [*seen, *lines, caplog.text]:
        assert SECRET not in text
    assert "\x1b[" not in "\n".join(lines)  # -no-color everywhere output is kept
    assert "********" in "\n".join(lines)  # the unmarked copy was there, and was masked


def test_stale_plan_is_refused(tmp_path, make_runner):
    runner = make_runner(make_root(tmp_path, BASIC))
    runner.init()
    first = runner.plan(tmp_path / "first.tfplan", vars=SECRET_VARS)
    second = runner.plan(tmp_path / "second.tfplan", vars=SECRET_VARS)
    runner.apply(first.plan_path)
    state_before = (runner.root_dir / "terraform.tfstate").read_text()

    with pytest.raises(StalePlanError) as caught:
        runner.apply(second.plan_path)

    assert caught.value.exit_code == 1
    assert str(caught.value) == (
        f"The saved plan {second.plan_path} is stale: the state changed after it was made (another apply "
        "ran since). Nothing was applied. Run plan again, review it, and apply the new plan."
    )
    assert (runner.root_dir / "terraform.tfstate").read_text() == state_before


def test_validation_error_is_one_clear_paragraph(tmp_path, make_runner):
    root = make_root(
        tmp_path,
        """
        variable "tenant_id" {
          type = string
          validation {
            condition     = can(regex("^[0-9a-f-]{36}$", var.tenant_id))
            error_message = "tenant_id must be a GUID."
          }
        }
        resource "terraform_data" "x" {
          input = var.tenant_id
        }
        """,
    )
    runner = make_runner(root)
    runner.init()
    with pytest.raises(TerraformError) as caught:
        runner.plan(tmp_path / "p.tfplan", vars={"tenant_id": "not-a-guid"})
    error = caught.value
    assert type(error) is TerraformError and error.exit_code == 1 and error.returncode == 1
    assert error.command == "plan"
    assert str(error) == (
        f"terraform plan in {root} failed: Invalid value for variable (main.tf line 2): "
        "tenant_id must be a GUID. This was checked by the validation rule at main.tf:4,3-13."
    )
    assert not (tmp_path / "p.tfplan").exists()


def test_configuration_error_names_the_place(tmp_path, make_runner):
    root = make_root(
        tmp_path,
        """
        resource "terraform_data" "x" {
          input = terraform_data.missing.id
        }
        """,
    )
    runner = make_runner(root)
    runner.init()
    with pytest.raises(TerraformError) as caught:
        runner.plan(tmp_path / "p.tfplan")
    assert str(caught.value) == (
        f"terraform plan in {root} failed: Reference to undeclared resource (main.tf line 3, in resource "
        '"terraform_data" "x"): A managed resource "terraform_data" "missing" has not been declared in the '
        "root module."
    )
    assert "\n" not in str(caught.value)


def test_a_failed_plan_leaves_no_older_plan_behind(tmp_path, make_runner):
    root = make_root(tmp_path, BASIC)
    runner = make_runner(root)
    runner.init()
    plan = runner.plan(tmp_path / "p.tfplan", vars=SECRET_VARS)
    assert plan.plan_path.exists()
    (root / "main.tf").write_text(BASIC + '\noutput "broken" { value = nope.nope }\n')
    with pytest.raises(TerraformError):
        runner.plan(tmp_path / "p.tfplan", vars=SECRET_VARS)
    assert not plan.plan_path.exists()
    with pytest.raises(UsageError, match="run plan first") as caught:
        runner.apply(plan.plan_path)
    assert caught.value.exit_code == 2


# ---------------------------------------------------------------------------------------------
# The state lock, Ctrl-C, timeouts, streaming


def start_slow_apply(
    runner: TerraformRunner, tmp_path: Path, cli_config: Path
) -> tuple[subprocess.Popen, LineReader]:
    """Another Terraform, started by hand, holding the state lock while it sleeps in local-exec."""
    env = {
        **os.environ,
        "TF_DATA_DIR": str(runner.data_dir),
        "TF_CLI_CONFIG_FILE": str(cli_config),
        "SLEEP_SECONDS": "60",
        "TF_IN_AUTOMATION": "1",
    }
    holder = subprocess.Popen(
        [TERRAFORM, "apply", "-auto-approve", "-input=false", "-no-color"],
        cwd=runner.root_dir,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    reader = LineReader(holder.stdout)
    reader.wait_for("provisioning-started")
    return holder, reader


def test_locked_state_gives_state_locked_error(tmp_path, make_runner, cli_config):
    runner = make_runner(make_root(tmp_path, SLOW), lock_timeout="0s")
    runner.init()
    holder, reader = start_slow_apply(runner, tmp_path, cli_config)
    try:
        with pytest.raises(StateLockedError) as caught:
            runner.plan(tmp_path / "p.tfplan")
    finally:
        holder.send_signal(signal.SIGINT)
        holder.wait(timeout=30)
    error = caught.value
    assert error.exit_code == 1 and error.returncode == 1
    assert error.lock.operation == "OperationTypeApply"
    assert len(error.lock.id) == 36 and "@" in error.lock.who
    assert str(error) == (
        f"The Terraform state of {runner.root_dir} is locked by another run (lock ID {error.lock.id}: "
        f"apply by {error.lock.who} since {error.lock.created}). Wait for that run to finish and retry; "
        f"if it died without releasing the lock, release it with `terraform force-unlock {error.lock.id}` "
        f"run in {runner.root_dir} with TF_DATA_DIR={runner.data_dir}."
    )
    assert "-lock-timeout=0s" in runner.commands[-1].argv


def test_a_plan_stopped_on_request_exits_cleanly_and_leaves_no_plan(tmp_path, make_runner, cli_config):
    # A plan waiting for a lock another run holds: the caller's `cancel` stops it long before its timeout.
    runner = make_runner(make_root(tmp_path, SLOW), lock_timeout="60s")
    runner.init()
    holder, reader = start_slow_apply(runner, tmp_path, cli_config)
    cancel = threading.Event()
    threading.Timer(1.0, cancel.set).start()
    started = time.monotonic()
    try:
        with pytest.raises(TerraformCancelled) as caught:
            runner.plan(tmp_path / "p.tfplan", cancel=cancel)
        stopped_after = time.monotonic() - started
    finally:
        holder.send_signal(signal.SIGINT)
        holder.wait(timeout=30)
    assert 1.0 <= stopped_after < 15, stopped_after
    assert caught.value.exit_code == 1 and str(caught.value) == "terraform plan was stopped on request"
    assert runner.commands[-1].returncode != 0
    assert not (tmp_path / "p.tfplan").exists()
    assert_lock_free(runner, tmp_path)


def test_the_version_probe_is_remembered_per_binary(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    stub = bin_dir / "terraform"

    def write_stub(version: str) -> None:
        stub.write_text(f'#!/bin/sh\necho run >> {calls}\necho \'{{"terraform_version": "{version}"}}\'\n')
        stub.chmod(0o755)

    write_stub("1.9.0")
    cache = tmp_path / "data" / "terraform-binary.json"
    assert find_terraform(env={"PATH": str(bin_dir)}, cache_file=cache).version == (1, 9, 0)
    assert find_terraform(env={"PATH": str(bin_dir)}, cache_file=cache).version == (1, 9, 0)
    assert calls.read_text().count("run") == 1  # the second process would not run `version` again

    write_stub("1.4.0")  # replaced by an older one: another size and mtime, so probed again, and refused
    os.utime(stub, ns=(stub.stat().st_atime_ns, stub.stat().st_mtime_ns + 1_000_000_000))
    with pytest.raises(ConfigError, match=r"Terraform 1.4.0 at .* is too old"):
        find_terraform(env={"PATH": str(bin_dir)}, cache_file=cache)
    assert calls.read_text().count("run") == 2

    write_stub("1.10.0")
    cache.write_text("{not json")  # a damaged cache is ignored and written again
    assert find_terraform(env={"PATH": str(bin_dir)}, cache_file=cache).version == (1, 10, 0)
    assert json.loads(cache.read_text())["version"] == [1, 10, 0]


INTERRUPTED_APPLY = """
import sys
from pathlib import Path
from orchestrator.terraform.runner import TerraformRunner

root, data_dir, plan, cli_config = sys.argv[1:5]
runner = TerraformRunner(
    Path(root), data_dir=Path(data_dir), grace_period=30,
    env={"SLEEP_SECONDS": "60", "TF_CLI_CONFIG_FILE": cli_config},
    on_line=lambda line: print(line, flush=True),
)
try:
    runner.apply(Path(plan))
except KeyboardInterrupt:
    print("RUNNER-INTERRUPTED", flush=True)
    sys.exit(130)
print("RUNNER-FINISHED", flush=True)
"""


def test_sigint_during_apply_releases_the_lock_and_a_rerun_converges(tmp_path, make_runner, cli_config):
    runner = make_runner(make_root(tmp_path, SLOW), env={"SLEEP_SECONDS": "0"})
    runner.init()
    plan = runner.plan(tmp_path / "p.tfplan")
    script = tmp_path / "interrupted_apply.py"
    script.write_text(INTERRUPTED_APPLY)
    child = subprocess.Popen(
        [
            sys.executable,
            str(script),
            str(runner.root_dir),
            str(runner.data_dir),
            str(plan.plan_path),
            str(cli_config),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        process_group=0,  # its own group: the SIGINT below is what a terminal's Ctrl-C sends it
    )
    reader = LineReader(child.stdout)
    reader.wait_for("provisioning-started")
    interrupted_at = time.monotonic()
    os.killpg(child.pid, signal.SIGINT)
    assert child.wait(timeout=40) == 130
    lines = reader.rest()
    assert time.monotonic() - interrupted_at < 20  # the 60 s sleep was cut short
    assert "Interrupt received." in lines  # Terraform itself got the forwarded SIGINT
    assert lines[-1] == "RUNNER-INTERRUPTED"  # ...and the runner waited for it before going on

    assert_lock_free(runner, tmp_path)
    rerun = runner.plan(tmp_path / "rerun.tfplan")
    summary = runner.show_plan(rerun.plan_path)
    # Usually Terraform records the half-made resource as tainted; interrupted earlier (a loaded
    # machine), it records nothing. Either way the re-run finishes the job.
    assert [(c.address, c.action, c.reason) for c in summary.resource_changes] in (
        [("terraform_data.slow", "replace", "tainted by a failed or interrupted run")],
        [("terraform_data.slow", "create", None)],
    )
    runner.apply(rerun.plan_path)
    assert not runner.plan(tmp_path / "after.tfplan").has_changes


def test_timeout_interrupts_terraform_cleanly(tmp_path, make_runner):
    runner = make_runner(make_root(tmp_path, SLOW), env={"SLEEP_SECONDS": "60"}, timeout=1.5, grace_period=20)
    runner.init()
    plan = runner.plan(tmp_path / "p.tfplan")
    started = time.monotonic()
    with pytest.raises(TerraformTimeoutError) as caught:
        runner.apply(plan.plan_path)
    assert time.monotonic() - started < 15
    assert caught.value.exit_code == 1
    assert str(caught.value) == (
        f"terraform apply in {runner.root_dir} timed out after 1.5s: it was interrupted and stopped "
        "cleanly, releasing the state lock. Re-run it; raise the timeout if the operation is legitimately slow."
    )
    assert_lock_free(runner, tmp_path)


def test_timeout_kills_a_terraform_that_ignores_sigint(tmp_path, make_runner):
    stubborn = fake_terraform(
        tmp_path / "stubborn",
        """
        trap '' INT
        echo "working"
        sleep 60
        """,
    )
    runner = make_runner(make_root(tmp_path, SLOW), binary=str(stubborn), timeout=1.0, grace_period=1.0)
    started = time.monotonic()
    with pytest.raises(TerraformTimeoutError, match=r"did not stop within 1s of SIGINT and was killed"):
        runner.state_list()
    assert time.monotonic() - started < 10
    assert runner.commands[-1].returncode == -signal.SIGKILL


def test_lines_are_streamed_while_terraform_runs(tmp_path, make_runner):
    arrivals: list[tuple[float, str]] = []
    runner = make_runner(
        make_root(tmp_path, SLOW),
        env={"SLEEP_SECONDS": "3"},
        on_line=lambda line: arrivals.append((time.monotonic(), line)),
    )
    runner.init()
    plan = runner.plan(tmp_path / "p.tfplan")
    runner.apply(plan.plan_path)
    finished = time.monotonic()
    provisioning = next(at for at, line in arrivals if "provisioning-started" in line)
    assert finished - provisioning >= 2  # seen while the 3 s sleep was still running


def test_both_pipes_are_drained_together(tmp_path, make_runner):
    # 2 MB on stderr before anything on stdout: reading one pipe after the other would deadlock.
    flooding = fake_terraform(
        tmp_path / "flooding",
        """
        yes 'Warning: a line on stderr' | head -n 80000 >&2
        yes 'terraform_data.x' | head -n 80000
        """,
    )
    runner = make_runner(make_root(tmp_path, SLOW), binary=str(flooding), timeout=30)
    started = time.monotonic()
    assert len(runner.state_list()) == 80000
    assert time.monotonic() - started < 20


def test_a_failing_line_callback_stops_terraform_and_releases_the_lock(tmp_path, make_runner):
    def explode(line: str) -> None:
        if "provisioning-started" in line:
            raise RuntimeError("display went away")

    runner = make_runner(make_root(tmp_path, SLOW), env={"SLEEP_SECONDS": "60"}, on_line=explode)
    runner.init()
    plan = runner.plan(tmp_path / "p.tfplan")
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="display went away"):
        runner.apply(plan.plan_path)
    assert time.monotonic() - started < 20
    assert_lock_free(runner, tmp_path)


# ---------------------------------------------------------------------------------------------
# Environment, data dir, binary


def test_environment_and_per_environment_data_dirs(tmp_path, make_runner, argv_log):
    root = make_root(tmp_path, BASIC)
    prod = make_runner(root, data_dir=tmp_path / "data" / "prod", binary=str(argv_log.binary))
    staging = make_runner(root, data_dir=tmp_path / "data" / "staging", binary=str(argv_log.binary))
    prod.init({"path": str(tmp_path / "state" / "prod.tfstate")})
    staging.init({"path": str(tmp_path / "state" / "staging.tfstate")})  # no "backend changed"
    prod.apply(prod.plan(tmp_path / "prod.tfplan", vars={**SECRET_VARS, "display_name": "prod"}).plan_path)

    assert prod.outputs()["display_name"] == "prod"
    assert staging.state_list() == []
    assert not (root / ".terraform").exists()
    assert stat.S_IMODE((tmp_path / "data" / "prod").stat().st_mode) == 0o700
    calls = [call for call in argv_log.calls() if call["argv"][0] != "version"]
    assert [call["argv"][0] for call in calls] == ["init", "init", "plan", "apply", "output", "state"]
    for call in calls:
        data_dir = call["env"]["TF_DATA_DIR"]
        assert data_dir in (str(tmp_path / "data" / "prod"), str(tmp_path / "data" / "staging"))
        assert {k: v for k, v in call["env"].items() if k != "TF_DATA_DIR"} == {
            "TF_IN_AUTOMATION": "1",
            "CHECKPOINT_DISABLE": "1",
            "TF_INPUT": "0",
        }
    for argv in argv_log.argvs("plan") + argv_log.argvs("apply") + argv_log.argvs("init"):
        assert "-input=false" in argv and "-lock-timeout=30s" in argv


def test_missing_binary_is_a_config_error(tmp_path, monkeypatch):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    with pytest.raises(ConfigError) as caught:
        find_terraform(env={"PATH": str(empty)})
    assert caught.value.exit_code == 2
    assert str(caught.value) == (
        "Terraform not found: neither `terraform` nor `tofu` is on PATH. Install Terraform >= 1.5.0 "
        "(or OpenTofu), or set TERRAFORM_BIN to its path."
    )
    with pytest.raises(ConfigError, match=r"TERRAFORM_BIN='/nowhere/terraform' is not an executable file"):
        find_terraform(env={"PATH": str(empty), "TERRAFORM_BIN": "/nowhere/terraform"})
    root = make_root(tmp_path, BASIC)
    with pytest.raises(ConfigError, match=r"binary='/nowhere/tf' is not an executable file"):
        TerraformRunner(root, data_dir=tmp_path / "d", binary="/nowhere/tf")


def test_binary_order_and_versions(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()

    def version_stub(name: str, version: str) -> Path:
        path = bin_dir / name
        path.write_text(
            f'#!/bin/sh\necho \'{{"terraform_version": "{version}", "platform": "linux_amd64"}}\'\n'
        )
        path.chmod(0o755)
        return path

    tofu = version_stub("tofu", "1.8.3")
    found = find_terraform(env={"PATH": str(bin_dir)})
    assert (found.path, found.product, found.version) == (str(tofu), "OpenTofu", (1, 8, 3))

    old = version_stub("terraform", "1.4.6")
    with pytest.raises(ConfigError) as caught:
        find_terraform(env={"PATH": str(bin_dir)})  # terraform comes before tofu
    assert str(caught.value) == (
        f"Terraform 1.4.6 at {old} is too old: sekoia-sso needs Terraform >= 1.5.0 (or OpenTofu). "
        "Upgrade it, or set TERRAFORM_BIN to a newer one."
    )
    chosen = find_terraform(env={"PATH": str(bin_dir), "TERRAFORM_BIN": TERRAFORM})
    assert (chosen.path, chosen.version) == (TERRAFORM, (1, 11, 4))


def test_version_parsing():
    assert parse_version_output('{"terraform_version": "1.11.4", "platform": "linux_amd64"}') == (1, 11, 4)
    assert parse_version_output("OpenTofu v1.9.0\non linux_amd64\n") == (1, 9, 0)
    assert parse_version_output("hello") is None


# ---------------------------------------------------------------------------------------------
# python-terraform's quirks, one test each (reference/terraform-from-python.md)


def test_quirk_init_never_adds_reconfigure_and_a_changed_backend_is_an_error(
    tmp_path, make_runner, argv_log, monkeypatch
):
    """init() adds `-reconfigure -backend=true` by default (silently skips state migration)."""
    runner = make_runner(make_root(tmp_path, BASIC), binary=str(argv_log.binary))
    runner.init({"path": str(tmp_path / "a.tfstate")})
    runner.apply(runner.plan(tmp_path / "p.tfplan", vars=SECRET_VARS).plan_path)
    # Not even through the environment: Terraform reads extra arguments from TF_CLI_ARGS_<cmd>.
    monkeypatch.setenv("TF_CLI_ARGS_init", "-reconfigure")

    with pytest.raises(BackendChangedError) as caught:
        runner.init({"path": str(tmp_path / "b.tfstate")})
    assert caught.value.exit_code == 1
    assert str(caught.value) == (
        f"The backend settings of {runner.root_dir} differ from those its data dir {runner.data_dir} was "
        "initialised with; nothing was changed. If the existing state must move to the new backend, run "
        "init again with state migration (terraform init -migrate-state); if the new backend already "
        "holds the right state, run init again with reconfigure (terraform init -reconfigure)."
    )
    assert runner.state_list() == ["terraform_data.app", "terraform_data.secret_holder"]
    assert not (tmp_path / "b.tfstate").exists()

    runner.init({"path": str(tmp_path / "b.tfstate")}, migrate_state=True)
    assert runner.state_list() == ["terraform_data.app", "terraform_data.secret_holder"]
    assert (tmp_path / "b.tfstate").exists()

    inits = argv_log.argvs("init")
    assert [arg for argv in inits for arg in argv if arg.startswith(("-reconfigure", "-backend="))] == []
    assert inits[-1][-2:] == ["-migrate-state", "-force-copy"]
    assert all("TF_CLI_ARGS_init" not in call["env"] for call in argv_log.calls())


def test_quirk_no_tfvars_temp_file_and_no_secret_on_the_command_line(
    tmp_path, make_runner, argv_log, monkeypatch
):
    """plan/apply/destroy/init always get `-var-file=/tmp/tmpXXXX.tfvars.json`, written in clear."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    runner = make_runner(make_root(tmp_path, BASIC), binary=str(argv_log.binary))
    runner.init()
    plan = runner.plan(tmp_path / "p.tfplan", vars={**SECRET_VARS, "display_name": "Via env"})
    runner.apply(plan.plan_path)
    runner.destroy(vars=SECRET_VARS)

    assert list(temp.iterdir()) == []
    everything = [arg for argv in argv_log.argvs() for arg in argv]
    assert [arg for arg in everything if arg.startswith(("-var", "-var-file"))] == []
    assert all(SECRET not in arg and "Via env" not in arg for arg in everything)
    plan_call = next(call for call in argv_log.calls() if call["argv"][:1] == ["plan"])
    assert sorted(plan_call["vars"]) == ["TF_VAR_client_secret", "TF_VAR_display_name"]
    assert runner.outputs() == {}  # destroyed
    # The argv builder refuses a dict that python-terraform would turn into a temporary file.
    with pytest.raises(TypeError, match="temporary tfvars file"):
        terraform_argv("terraform", "plan", var={"client_secret": "x"})
    with pytest.raises(TypeError, match="secret may not go on the command line"):
        terraform_argv("terraform", "plan", var=[Secret("x")])


def test_quirk_apply_and_destroy_never_wait_for_approval(tmp_path, make_runner, argv_log):
    """apply() waits for approval ("error asking for approval: EOF"); destroy() passes -force."""
    runner = make_runner(make_root(tmp_path, BASIC), binary=str(argv_log.binary))
    runner.init()
    runner.apply(runner.plan(tmp_path / "p.tfplan", vars=SECRET_VARS).plan_path)
    destroyed = runner.destroy(vars=SECRET_VARS)
    assert "Destroy complete!" in destroyed.stdout
    assert runner.state_list() == []

    (apply_argv,) = argv_log.argvs("apply")
    assert [arg for arg in apply_argv if "approve" in arg] == []
    assert apply_argv[-1] == str(tmp_path / "p.tfplan")  # exactly the saved plan
    (destroy_argv,) = argv_log.argvs("destroy")
    assert [arg for arg in destroy_argv if "approve" in arg or arg.startswith("-force")] == ["-auto-approve"]


def test_quirk_plan_exit_code_2_means_changes(tmp_path, make_runner, argv_log, caplog):
    """plan() passes -detailed-exitcode: rc 2, which raise_on_error turns into an exception + a warning."""
    caplog.set_level(logging.DEBUG)
    runner = make_runner(make_root(tmp_path, BASIC), binary=str(argv_log.binary))
    runner.init()
    plan = runner.plan(tmp_path / "p.tfplan", vars=SECRET_VARS)
    assert (plan.returncode, plan.has_changes) == (2, True)
    assert "-detailed-exitcode" in argv_log.argvs("plan")[0]
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_quirk_outputs_come_from_output_json_with_sensitive_ones_wrapped(tmp_path, make_runner, argv_log):
    """output(NAME) is broken on >= 0.15; output() returns sensitive values in clear."""
    runner = make_runner(make_root(tmp_path, BASIC), binary=str(argv_log.binary))
    runner.init()
    runner.apply(runner.plan(tmp_path / "p.tfplan", vars=SECRET_VARS).plan_path)
    outputs = runner.outputs()
    assert argv_log.argvs("output") == [["output", "-json", "-no-color"]]
    assert {name: type(value).__name__ for name, value in outputs.items()} == {
        "client_id": "str",
        "client_secret": "Secret",
        "display_name": "str",
    }
    assert outputs["client_secret"].reveal() == SECRET


def test_quirk_no_state_or_synchronous_flags(tmp_path, make_runner, argv_log):
    """`state=` is passed to init too (fails); `synchronous=False` is forwarded as a flag (fails)."""
    runner = make_runner(make_root(tmp_path, BASIC), binary=str(argv_log.binary))
    runner.init()
    runner.apply(runner.plan(tmp_path / "p.tfplan", vars=SECRET_VARS).plan_path)
    runner.outputs()
    runner.state_list()
    runner.destroy(vars=SECRET_VARS)
    flags = [arg for argv in argv_log.argvs() for arg in argv if arg.startswith("-")]
    assert [flag for flag in flags if flag.startswith(("-state", "-synchronous", "-capture", "-raise"))] == []
    with pytest.raises(TypeError, match="synchronous is not a Terraform flag"):
        terraform_argv("terraform", "plan", synchronous=False)


def test_quirk_no_color_wherever_output_is_parsed(tmp_path, make_runner, argv_log):
    """Workspace helpers add no -no-color; python-terraform leaves colour to each helper."""
    runner = make_runner(make_root(tmp_path, BASIC), binary=str(argv_log.binary))
    runner.init()
    plan = runner.plan(tmp_path / "p.tfplan", vars=SECRET_VARS)
    runner.show_plan(plan.plan_path)
    runner.apply(plan.plan_path)
    runner.outputs()
    runner.state_list()
    runner.destroy(vars=SECRET_VARS)
    commands = [argv for argv in argv_log.argvs() if argv[0] != "version"]
    assert [argv[0] for argv in commands] == ["init", "plan", "show", "apply", "output", "state", "destroy"]
    assert all("-no-color" in argv for argv in commands)


def test_quirk_state_is_read_through_terraform_not_a_local_file(tmp_path, make_runner):
    """`t.tfstate` reads ./terraform.tfstate only; the constructor reads it eagerly, too."""
    root = make_root(tmp_path, BASIC)
    # python-terraform's constructor json-loads ./.terraform/terraform.tfstate when it exists;
    # with TF_DATA_DIR elsewhere, Terraform never looks at it.
    (root / ".terraform").mkdir()
    (root / ".terraform" / "terraform.tfstate").write_text("{ not json")
    runner = make_runner(root)
    runner.init({"path": str(tmp_path / "elsewhere" / "env.tfstate")})
    runner.apply(runner.plan(tmp_path / "p.tfplan", vars=SECRET_VARS).plan_path)
    assert runner.state_list() == ["terraform_data.app", "terraform_data.secret_holder"]
    assert runner.outputs()["display_name"] == "Sekoia.io SSO"
    assert not (root / "terraform.tfstate").exists()
    assert (root / ".terraform" / "terraform.tfstate").read_text() == "{ not json"


def test_quirk_a_typo_is_an_attribute_error_not_a_terraform_command(tmp_path, make_runner, argv_log):
    """Any attribute name becomes a command (`__getattr__`), so typos run Terraform."""
    runner = make_runner(make_root(tmp_path, BASIC), binary=str(argv_log.binary))
    with pytest.raises(AttributeError):
        runner.aply(tmp_path / "p.tfplan")  # type: ignore[attr-defined]
    assert runner.commands == []
    assert [argv[0] for argv in argv_log.argvs()] == ["version"]


def test_quirk_nothing_secret_is_logged(tmp_path, make_runner, caplog):
    """The command line and output are logged at DEBUG (python-terraform logs `output -json` too)."""
    caplog.set_level(logging.DEBUG)
    runner = make_runner(make_root(tmp_path, BASIC))
    runner.init()
    runner.apply(runner.plan(tmp_path / "p.tfplan", vars=SECRET_VARS).plan_path)
    outputs = runner.outputs()
    logging.getLogger("test").info("outputs: %s %r", outputs["client_secret"], outputs)
    runner.destroy(vars=SECRET_VARS)
    # python-terraform's own logger (command lines, whole outputs) is never reached; its tfstate
    # logger speaks once, about the path that never exists.
    assert [r for r in caplog.records if r.name == "python_terraform"] == []
    assert {r.getMessage().split()[-1] for r in caplog.records if r.name == "python_terraform.tfstate"} <= {
        "/dev/null/python-terraform-reads-no-state",
        "exist",
    }
    assert any(r.name == "orchestrator.terraform" and "running" in r.getMessage() for r in caplog.records)
    assert SECRET not in caplog.text


# ---------------------------------------------------------------------------------------------
# Secret, and the pure parsers


def test_secret_is_masked_everywhere_but_reveal():
    secret = Secret("hunter2-but-longer")
    shown = [
        str(secret),
        repr(secret),
        f"{secret}",
        f"{secret!r}",
        "%s" % secret,  # noqa: UP031
        "{}".format(secret),  # noqa: UP032
        f"{secret:>20}",
        str([secret]),
        str({"k": secret}),
    ]
    assert all("hunter2" not in text for text in shown)
    assert str(secret) == "********" and repr(secret) == "Secret('********')"
    assert secret.reveal() == "hunter2-but-longer"
    assert secret == Secret("hunter2-but-longer") and secret != Secret("other")
    with pytest.raises(TypeError):
        json.dumps({"secret": secret})
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_secret_in_backend_config_is_refused(tmp_path, make_runner):
    runner = make_runner(make_root(tmp_path, BASIC))
    with pytest.raises(ConfigError, match="'access_key' is a secret") as caught:
        runner.init({"access_key": Secret("k3y-value")})
    assert "k3y-value" not in str(caught.value)
    assert runner.commands == []


STDERR_WITH_WARNING_THEN_ERRORS = """\
There are some problems with the CLI configuration:
╷
│ Warning: Unable to open CLI configuration file
│
│ The CLI configuration file at "/root/.terraformrc" does not exist.
╵

Error: execution halted


Error: local-exec provisioner error

  with terraform_data.slow,
  on main.tf line 6, in resource "terraform_data" "slow":
   6:   provisioner "local-exec" {

Error running command 'sleep 60': signal: killed.
"""


def test_error_blocks_skip_warnings_source_lines_and_generic_halts():
    block, count = first_error(STDERR_WITH_WARNING_THEN_ERRORS)
    assert count == 2
    assert block.paragraph() == (
        'local-exec provisioner error (terraform_data.slow, main.tf line 6, in resource "terraform_data" '
        "\"slow\"): Error running command 'sleep 60': signal: killed."
    )
    assert [b.summary for b in error_blocks(STDERR_WITH_WARNING_THEN_ERRORS)] == [
        "execution halted",
        "local-exec provisioner error",
    ]
    assert first_error("all good\n") == (None, 0)


def test_lock_info_parsing():
    lock = parse_lock_info("""\
Error: Error acquiring the state lock

Error message: resource temporarily unavailable
Lock Info:
  ID:        976fbc08-bcfa-712b-ea10-ab1b7181e98d
  Path:      terraform.tfstate
  Operation: OperationTypeApply
  Who:       root@vm
  Version:   1.11.4
  Created:   2026-11-26 17:00:41.658368739 +0000 UTC
  Info:
""")
    assert (lock.id, lock.path, lock.operation, lock.who, lock.version, lock.created, lock.info) == (
        "976fbc08-bcfa-712b-ea10-ab1b7181e98d",
        "terraform.tfstate",
        "OperationTypeApply",
        "root@vm",
        "1.11.4",
        "2026-11-26 17:00:41.658368739 +0000 UTC",
        "",
    )
