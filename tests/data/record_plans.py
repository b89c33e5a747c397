"""Re-record the `terraform show -json` plans that tests/unit/test_planview.py reads.

    .venv/bin/python tests/data/record_plans.py        # needs only a terraform binary on PATH

Each scenario is a root using only Terraform's built-in `terraform_data` (no provider download),
applied to a starting state, then planned into its target configuration. The recorded JSON
holds the fake secret values below in clear, as a real plan does: the tests check that no
summary ever shows them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
SENSITIVE_VALUE = "s3cr3t-recorded-value"  # a `sensitive = true` variable
NAMED_SECRET_VALUE = "unmarked-but-named-secret"  # in an attribute called client_secret, not marked

_HEADER = """
variable "secret" {
  type      = string
  sensitive = true
  default   = "SENSITIVE_VALUE"
}
""".replace("SENSITIVE_VALUE", SENSITIVE_VALUE)


def _secret_output(value: str = "var.secret") -> str:
    return f'output "client_secret" {{\n  value     = {value}\n  sensitive = true\n}}\n'


def _mixed_root(name: str, redirect: str, password: str, client_secret: str, trigger: str, tail: str) -> str:
    """The app, a replaced trigger and a resource asked to be replaced: both sides of the mixed plan."""
    return _HEADER + f"""
resource "terraform_data" "app" {{
  input = {{
    display_name  = "{name}"
    web           = [{{ redirect_uris = ["{redirect}"], homepage = "https://a.example" }}]
    password      = {password}
    client_secret = "{client_secret}"
  }}
}}
resource "terraform_data" "rotate" {{ triggers_replace = "{trigger}" }}
resource "terraform_data" "asked" {{ input = "same" }}
""" + tail


SCENARIOS: dict[str, tuple[str | None, str, list[str]]] = {
    # name: (starting configuration or None, configuration to plan, extra plan flags)
    "plan_create": (
        None,
        _HEADER
        + """
resource "terraform_data" "app" {
  input = {
    display_name = "Sekoia.io SSO"
    web          = [{ redirect_uris = ["https://app.sekoia.io/user/callback"] }]
    password     = var.secret
  }
}
"""
        + _secret_output()
        + 'output "display_name" { value = terraform_data.app.output.display_name }\n',
        [],
    ),
    "plan_mixed": (
        _mixed_root("old name", "https://a.example/cb", "var.secret", f"{NAMED_SECRET_VALUE}-old", "v1",
                    'resource "terraform_data" "gone" { input = "bye" }\n'
                    + _secret_output('"${var.secret}-old"') + 'output "tenant" { value = "old-tenant" }\n'),
        _mixed_root("new name", "https://b.example/cb", '"${var.secret}-2"', NAMED_SECRET_VALUE, "v2",
                    _secret_output() + 'output "tenant" { value = "new-tenant" }\n'),
        ["-replace=terraform_data.asked"],
    ),
    "plan_moved_forget": (
        """
resource "terraform_data" "old" { input = "kept" }
resource "terraform_data" "orphan" { input = "left alone" }
""",
        """
resource "terraform_data" "new" { input = "kept" }
moved {
  from = terraform_data.old
  to   = terraform_data.new
}
removed {
  from = terraform_data.orphan
  lifecycle { destroy = false }
}
""",
        [],
    ),
    "plan_no_changes": (
        _HEADER + 'resource "terraform_data" "app" { input = var.secret }\n',
        _HEADER + 'resource "terraform_data" "app" { input = var.secret }\n',
        [],
    ),
    "plan_destroy": (
        _HEADER + '\nresource "terraform_data" "app" { input = var.secret }\n' + _secret_output(),
        _HEADER + '\nresource "terraform_data" "app" { input = var.secret }\n' + _secret_output(),
        ["-destroy"],
    ),
}


def terraform(root: Path, *args: str) -> str:
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1", "TF_INPUT": "0"}
    completed = subprocess.run(
        ["terraform", *args], cwd=root, env=env, capture_output=True, text=True, check=False
    )
    if completed.returncode not in (0, 2):
        sys.exit(f"terraform {' '.join(args)} failed in {root}:\n{completed.stderr}")
    return completed.stdout


def record(name: str, start: str | None, target: str, flags: list[str], workdir: Path) -> None:
    root = workdir / name
    root.mkdir()
    if start is not None:
        (root / "main.tf").write_text(start)
        terraform(root, "init", "-input=false", "-no-color")
        terraform(root, "apply", "-input=false", "-no-color", "-auto-approve")
    (root / "main.tf").write_text(target)
    terraform(root, "init", "-input=false", "-no-color")
    terraform(root, "plan", "-input=false", "-no-color", "-out=tfplan", *flags)
    plan = json.loads(terraform(root, "show", "-json", "tfplan"))
    (HERE / f"{name}.json").write_text(json.dumps(plan, indent=1, sort_keys=True) + "\n")
    print(f"recorded {name}.json")


def main() -> None:
    with tempfile.TemporaryDirectory() as workdir:
        for name, (start, target, flags) in SCENARIOS.items():
            record(name, start, target, flags, Path(workdir))


if __name__ == "__main__":
    main()
