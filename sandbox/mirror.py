"""Install the emulated azuread provider where Terraform finds it without a registry.

    mirror = install_mirror(Path(".sandbox"))
    env["TF_CLI_CONFIG_FILE"] = str(mirror.cli_config)      # terraform init now installs it

Layout (Terraform's "unpacked" filesystem mirror):

    <dir>/providers/registry.terraform.io/hashicorp/azuread/3.7.0/linux_amd64/terraform-provider-azuread_v3.7.0
    <dir>/terraformrc                                  the CLI config naming that mirror

The executable is a shell wrapper that execs this venv's Python on `sandbox.provider`. Its content
depends only on the Python interpreter and the project's location, never on `<dir>`: Terraform's
lock file records the package's hash, and a sandbox restarted elsewhere must keep matching it.
`direct { exclude = [...] }` keeps Terraform from asking the registry for azuread, so a lock file
without a registry hash or an offline machine never sends it there.
"""

from __future__ import annotations

import os
import platform
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from sandbox.provider import (
    PROVIDER_ADDRESS,
    PROVIDER_HOST,
    PROVIDER_NAMESPACE,
    PROVIDER_TYPE,
    PROVIDER_VERSION,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
EXECUTABLE_NAME = f"terraform-provider-{PROVIDER_TYPE}_v{PROVIDER_VERSION}"


@dataclass(frozen=True)
class Mirror:
    """An installed mirror: its directory, the provider executable and the CLI config file."""

    directory: Path
    executable: Path
    cli_config: Path


def platform_name() -> str:
    """Terraform's os_arch name of this machine (linux_amd64, darwin_arm64, ...)."""
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"{sys.platform if sys.platform != 'linux2' else 'linux'}_{arch}"


def wrapper_script(python: str | os.PathLike[str] | None = None) -> str:
    """The provider executable's content: a POSIX shell script that starts `python -m sandbox.provider`."""
    interpreter = os.path.abspath(python or sys.executable)
    return (
        "#!/bin/sh\n"
        "# hashicorp/azuread " + PROVIDER_VERSION + " emulated for the sekoia-sso sandbox (sandbox/provider).\n"
        "# HOME: the provider caches its TLS certificate under $HOME/.cache; keep that out of the user's home.\n"
        "umask 077\n"
        'HOME="${TMPDIR:-/tmp}/sekoia-sso-azuread-provider-$(id -u)"\n'
        f"PYTHONPATH={shlex.quote(str(PROJECT_ROOT))}\n"
        "export HOME PYTHONPATH\n"
        f'exec {shlex.quote(interpreter)} -P -m sandbox.provider "$@"\n'
    )


def cli_config_text(mirror_dir: Path) -> str:
    path = str(mirror_dir.resolve()).replace("\\", "\\\\").replace('"', '\\"')
    return (
        "# Terraform CLI config of the sekoia-sso sandbox (TF_CLI_CONFIG_FILE): the emulated azuread provider\n"
        "# comes from a local mirror, never from the registry.\n"
        "disable_checkpoint = true\n"
        "\n"
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f'    path    = "{path}"\n'
        f'    include = ["{PROVIDER_ADDRESS}"]\n'
        "  }\n"
        "  direct {\n"
        f'    exclude = ["{PROVIDER_ADDRESS}"]\n'
        "  }\n"
        "}\n"
    )


def install_mirror(directory: Path | str, *, python: str | os.PathLike[str] | None = None) -> Mirror:
    """Install (or refresh) the provider under `<directory>/providers` and write `<directory>/terraformrc`."""
    directory = Path(directory).resolve()
    mirror_dir = directory / "providers"
    package_dir = mirror_dir / PROVIDER_HOST / PROVIDER_NAMESPACE / PROVIDER_TYPE / PROVIDER_VERSION / platform_name()
    package_dir.mkdir(parents=True, exist_ok=True)
    executable = package_dir / EXECUTABLE_NAME
    content = wrapper_script(python)
    if not executable.exists() or executable.read_text() != content:
        temporary = executable.with_suffix(".tmp")
        temporary.write_text(content)
        temporary.chmod(0o755)
        os.replace(temporary, executable)
    cli_config = directory / "terraformrc"
    cli_config.write_text(cli_config_text(mirror_dir))
    return Mirror(directory=mirror_dir, executable=executable, cli_config=cli_config)
