"""The CI recipes' command lines, run with bash against the sandbox (real Terraform, the emulators).

Each recipe's shell lines are taken from its YAML (tests/harness/recipes.py), the matrix and the
variables given the values one environment (the sandbox) has, and run in order as the CI system would
on one runner: pull request, then merge (apply), then the schedule (status and the rotation). Every
line must exit 0, as the recipe expects; what they leave in the job summary and outputs is checked.
The `if:` of a GitHub step is not evaluated: the rotation runs too, as a forced one would; Azure DevOps'
scheduled script decides by itself, and with the secret just rotated it does not rotate again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.harness.e2e import Runs, runs_fixture  # noqa: F401 - the fixture `runs`
from tests.harness.recipes import Step, azure_steps, github_steps

ENV = "sandbox"
SANDBOX_TENANT = "8f0c2b7e-4d1a-4c55-9e3b-2a6f1d9c7e10"  # envs/sandbox.yaml
CLIENT_ID = "3f9a1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"  # the Terraform identity's (the sandbox logs in its own way)
SUBSCRIPTION = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
# The sandbox's users are incomplete on purpose: its preflight reports them and goes on, as a team's
# SEKOIA_SSO_PREFLIGHT_ARGS (e.g. --max-problems 3) lets it.
PREFLIGHT_ARGS = "--warn-only"


def run(runs: Runs, steps: list[Step], files: dict[str, Path]) -> None:
    """Each step with bash in the project, `sekoia-sso` this checkout's; stop at the first that fails."""
    for step in steps:
        env = {**runs.env(), **step.env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               **{key: str(path) for key, path in files.items()}}
        done = subprocess.run([*step.shell, "-c", step.script], cwd=runs.project, env=env, capture_output=True,
                              timeout=300)
        runs.printed += [done.stdout, done.stderr]
        assert done.returncode == 0, f"{step.where} exited {done.returncode}:\n{done.stderr.decode()[-3000:]}"


def outputs_of(path: Path) -> dict[str, str]:
    """What the steps wrote to $GITHUB_OUTPUT (name=value lines)."""
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def test_the_recipes_lines_on_one_environment_github_then_azure_devops(runs, tmp_path):
    """One project, as a team moving from one CI system to the other would have it: GitHub's jobs bring the
    environment up and rotate its secret, then Azure DevOps' stages find it applied (one apply of ~30 s,
    not two)."""
    github_jobs(runs, tmp_path)
    azure_stages(runs, tmp_path)


def github_jobs(runs: Runs, tmp_path: Path) -> None:
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    files = {name: tmp_path / name.lower() for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")}
    for path in files.values():
        path.touch()
    files["RUNNER_TEMP"] = temp
    values = {"matrix.environment": ENV, "vars.ARM_CLIENT_ID": CLIENT_ID, "vars.ARM_TENANT_ID": SANDBOX_TENANT,
              "vars.ARM_SUBSCRIPTION_ID": SUBSCRIPTION, "vars.SEKOIA_SSO_PREFLIGHT_ARGS": PREFLIGHT_ARGS,
              "secrets.SEKOIA_API_KEY": "", "github.ref": "refs/pull/1/merge"}

    # Pull request: check --all and the matrix, then preflight and the plan into the job summary.
    run(runs, github_steps("sekoia-sso-pull-request.yml", "environments", values), files)
    listed = json.loads(runs("list", "--json").out)["environments"]
    assert json.loads(outputs_of(files["GITHUB_OUTPUT"])["names"]) == [e["name"] for e in listed if not e["sandbox"]]
    run(runs, github_steps("sekoia-sso-pull-request.yml", "plan", values), files)
    summary = files["GITHUB_STEP_SUMMARY"].read_text()
    assert summary.startswith(f"### sekoia-sso plan: {ENV}\n") and "to create" in summary

    # Merge: apply, its JSON document in the summary.
    run(runs, github_steps("sekoia-sso-apply.yml", "environments", values), files)
    run(runs, github_steps("sekoia-sso-apply.yml", "apply", values), files)
    applied = json.loads((temp / "apply.json").read_text())
    assert applied.get("exit_code", 0) == 0, applied
    assert f"### sekoia-sso apply: {ENV} (exit 0)" in files["GITHUB_STEP_SUMMARY"].read_text()

    # Schedule: status (all matches after the apply), the rotation, the verdict from the status's exit code.
    files["GITHUB_OUTPUT"].write_text("")
    status_steps = github_steps("sekoia-sso-scheduled.yml", "status", {**values, "steps.status.outputs.exit_code": "0"})
    run(runs, status_steps[:1], files)
    assert outputs_of(files["GITHUB_OUTPUT"]) == {"exit_code": "0", "rotation_due": "false"}
    key_before = runs.outputs()["client_secret_key_id"]
    run(runs, status_steps[1:], files)
    rotated = json.loads((temp / "rotate.json").read_text())
    assert rotated.get("exit_code", 0) == 0, rotated
    assert runs.outputs()["client_secret_key_id"] != key_before


def azure_stages(runs: Runs, tmp_path: Path) -> None:
    temp = tmp_path / "agent-temp"
    temp.mkdir()
    listed = json.loads(runs("list", "--json").out)["environments"]
    declared = json.dumps([e["name"] for e in listed if not e["sandbox"]])  # the environments parameter
    values = {"convertToJson(parameters.environments)": declared, "parameters.forceRotation": "False"}
    macros_env = {"AGENT_TEMPDIRECTORY": temp}
    login = {"servicePrincipalId": CLIENT_ID, "tenantId": SANDBOX_TENANT, "idToken": "eyJ.federated.token"}
    groups = {"SEKOIA_API_KEY": "", "ARM_SUBSCRIPTION_ID": SUBSCRIPTION, "SEKOIA_SSO_PREFLIGHT_ARGS": PREFLIGHT_ARGS}

    def steps(name: str, prefix: str) -> list[Step]:
        found = azure_steps(name, prefix, ENV, values, groups)
        for step in found:
            step.env = {**login, **step.env}
        return found

    run(runs, steps("azure-pipelines.yml", "check"), macros_env)
    run(runs, steps("azure-pipelines.yml", "plan_"), macros_env)
    plan = (temp / "plan.md").read_text()
    assert plan.startswith(f"### sekoia-sso plan: {ENV}\n") and "| Entra ID (Terraform) | no changes |" in plan
    run(runs, steps("azure-pipelines.yml", "apply_"), macros_env)
    assert json.loads((temp / "apply.json").read_text()).get("exit_code", 0) == 0
    run(runs, steps("azure-pipelines-scheduled.yml", "status_"), macros_env)
    assert json.loads((temp / "status.json").read_text())["exit_code"] == 0
    assert not (temp / "rotate.json").exists()  # not due, not forced: no rotation
