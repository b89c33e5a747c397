"""The Terraform module terraform/modules/sekoia-sso on its own, as a platform team uses it.

    module_dir = copy_module(tmp_path)           # a writable copy: init writes .terraform/ and a lock file
    env = offline_terraform_env(mirror)          # the sandbox's provider mirror, no tenant, no credentials

Tests run Terraform on a copy, never on the checkout (which may be read-only, and whose
.terraform/ would then differ from a fresh clone's).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from tests.harness.project import REPO

if TYPE_CHECKING:
    from sandbox.graph.emulator import GraphEmulator
    from sandbox.mirror import Mirror

MODULE = REPO / "terraform" / "modules" / "sekoia-sso"
EXAMPLES = sorted(path.name for path in (MODULE / "examples").iterdir() if path.is_dir())
# The caller's environment must not steer Terraform elsewhere (a real tenant, another CLI config).
_DROPPED_PREFIXES = ("TF_", "ARM_", "AZUREAD_SANDBOX_")


def copy_module(target: Path) -> Path:
    """Copy the module (with its tests and examples, without any local Terraform state) to `target/sekoia-sso`."""
    destination = target / "sekoia-sso"
    shutil.copytree(MODULE, destination, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*", "*.tfplan"))
    return destination


def offline_terraform_env(mirror: Mirror) -> dict[str, str]:
    """Terraform's environment with the provider from `mirror` and neither a tenant nor credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED_PREFIXES)}
    env.update({"TF_CLI_CONFIG_FILE": str(mirror.cli_config), "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"})
    return env


def tenant_objects(graph: GraphEmulator) -> dict[str, object]:
    """What Terraform can create in the emulated tenant: applications (with their secrets), service
    principals, assignments, consent grants, owners."""
    state = graph.state
    return {
        "applications": {i: (a.get("displayName"), len(a.get("passwordCredentials") or []))
                         for i, a in state.applications.items()},
        "service_principals": sorted(state.service_principals),
        "app_role_assignments": sorted(state.app_role_assignments),
        "grants": sorted(state.oauth2_permission_grants),
        "owners": {k: sorted(v) for k, v in state.owners.items() if v},
    }
