"""Terraform command lines and environments: pure functions of their arguments, unit-tested without Terraform."""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from python_terraform import IsFlagged, Terraform

from orchestrator.errors import UsageError
from orchestrator.secret import Secret, reveal

# A path that can never exist (nothing lives under /dev/null): python-terraform's constructor
# reads `<working_dir>/terraform.tfstate` eagerly — secrets into memory, a crash on a corrupt
# file — unless `state=` names a file, and it never reads a file that does not exist.
_NO_STATE = "/dev/null/python-terraform-reads-no-state"
# Keywords of python-terraform's `cmd()` that are not Terraform flags; generate_cmd_string would
# turn them into bogus flags (`-synchronous=false`) or they belong to the call we do not make.
_NOT_FLAGS = frozenset({"capture_output", "raise_on_error", "synchronous"})



# --------------------------------------------------------------------------------------------
# Command lines: pure functions of their arguments


def terraform_argv(binary: str, command: str, *args: str, **flags: Any) -> list[str]:
    """python-terraform's `-flag` syntax, refusing the parts of it that are unsafe.

    A dict value other than `backend_config` would be written by python-terraform to a
    /tmp/*.tfvars.json file in clear text; `capture_output`/`synchronous`/… are not flags.
    """
    for name, value in flags.items():
        if name in _NOT_FLAGS:
            raise TypeError(f"{name} is not a Terraform flag")
        if isinstance(value, dict) and name != "backend_config":
            raise TypeError(f"{name}: a dict would become a temporary tfvars file; use TF_VAR_* instead")
        if isinstance(value, Secret) or (
            isinstance(value, list | dict)
            and any(
                isinstance(item, Secret) for item in (value.values() if isinstance(value, dict) else value)
            )
        ):
            raise TypeError(f"{name}: a secret may not go on the command line")
    return _argv_builder(binary).generate_cmd_string(command, *args, **flags)


@lru_cache(maxsize=8)
def _argv_builder(binary: str) -> Terraform:
    return Terraform(working_dir=None, state=_NO_STATE, terraform_bin_path=binary, is_env_vars_included=False)


def init_argv(
    binary: str,
    *,
    lock_timeout: str,
    backend_config: Mapping[str, str] | None = None,
    reconfigure: bool = False,
    migrate_state: bool = False,
) -> list[str]:
    return terraform_argv(
        binary,
        "init",
        input=False,
        no_color=IsFlagged,
        lock_timeout=lock_timeout,
        backend_config=dict(backend_config) if backend_config else None,
        reconfigure=IsFlagged if reconfigure else None,
        migrate_state=IsFlagged if migrate_state else None,
        # -migrate-state would otherwise ask "copy the state?" and fail with -input=false
        force_copy=IsFlagged if migrate_state else None,
    )


def plan_argv(
    binary: str,
    out: Path,
    *,
    lock_timeout: str,
    destroy: bool = False,
    refresh_only: bool = False,
    replace: Iterable[str] = (),
    targets: Iterable[str] = (),
) -> list[str]:
    return terraform_argv(
        binary,
        "plan",
        input=False,
        no_color=IsFlagged,
        lock_timeout=lock_timeout,
        detailed_exitcode=IsFlagged,
        out=str(out),
        destroy=IsFlagged if destroy else None,
        refresh_only=IsFlagged if refresh_only else None,
        replace=list(replace) or None,
        target=list(targets) or None,
    )


def apply_argv(binary: str, plan_path: Path, *, lock_timeout: str) -> list[str]:
    # A saved plan is applied without a prompt: no -auto-approve of any form is needed.
    return terraform_argv(
        binary,
        "apply",
        str(plan_path),
        input=False,
        no_color=IsFlagged,
        lock_timeout=lock_timeout,
    )


def destroy_argv(binary: str, *, lock_timeout: str) -> list[str]:
    # -auto-approve (Terraform >= 0.15 has no -force), with stdin closed so nothing can prompt.
    return terraform_argv(
        binary,
        "destroy",
        input=False,
        no_color=IsFlagged,
        lock_timeout=lock_timeout,
        auto_approve=IsFlagged,
    )


def import_argv(binary: str, address: str, resource_id: str, *, lock_timeout: str) -> list[str]:
    return terraform_argv(
        binary,
        "import",
        address,
        resource_id,
        input=False,
        no_color=IsFlagged,
        lock_timeout=lock_timeout,
    )


def show_plan_argv(binary: str, plan_path: Path) -> list[str]:
    return terraform_argv(binary, "show", str(plan_path), json=IsFlagged, no_color=IsFlagged)


def output_argv(binary: str) -> list[str]:
    # Every output at once: `output NAME` is what python-terraform breaks on >= 0.15.
    return terraform_argv(binary, "output", json=IsFlagged, no_color=IsFlagged)


def state_list_argv(binary: str) -> list[str]:
    return terraform_argv(binary, "state list", no_color=IsFlagged)



def variables_env(variables: Mapping[str, Any] | None) -> dict[str, str]:
    """Terraform input variables as TF_VAR_* (never argv, never a file); Secret values revealed here."""
    env: dict[str, str] = {}
    for name, value in (variables or {}).items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", name):
            raise UsageError(f"{name!r} is not a Terraform variable name")
        value = reveal(value)
        if isinstance(value, str):
            env[f"TF_VAR_{name}"] = value
        elif isinstance(value, bool):
            env[f"TF_VAR_{name}"] = "true" if value else "false"
        else:  # numbers, lists, maps: Terraform parses TF_VAR_ values of those types as HCL, a JSON superset
            env[f"TF_VAR_{name}"] = json.dumps(value)
    return env
