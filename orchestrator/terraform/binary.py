"""Finding Terraform (or OpenTofu) and checking its version; the probe is cached per binary."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from orchestrator.errors import ConfigError

MINIMUM_VERSION = (1, 5, 0)
_VERSION_TIMEOUT = 30.0

# --------------------------------------------------------------------------------------------
# Finding the binary


@dataclass(frozen=True)
class TerraformBinary:
    path: str
    version: tuple[int, int, int]
    product: str  # "Terraform" or "OpenTofu"

    @property
    def version_text(self) -> str:
        return ".".join(str(part) for part in self.version)


def find_terraform(binary: str | None = None, *, env: Mapping[str, str] | None = None,
                   cache_file: Path | None = None) -> TerraformBinary:
    """Locate Terraform/OpenTofu and check its version; ConfigError (exit 2) if unusable.

    Order: `binary` (a name on PATH or a path), then $TERRAFORM_BIN, then `terraform`, then `tofu`.
    `cache_file` keeps what `version -json` said about each binary (path, inode, size, mtime), so
    that a later process skips that run (about 60 ms) while the binary is the same file.
    """
    environ = dict(os.environ if env is None else env)
    search_path = environ.get("PATH", os.defpath)
    if binary:
        source, candidates = "binary", [binary]
    elif environ.get("TERRAFORM_BIN"):
        source, candidates = "TERRAFORM_BIN", [environ["TERRAFORM_BIN"]]
    else:
        source, candidates = "PATH", ["terraform", "tofu"]
    for candidate in candidates:
        found = shutil.which(candidate, path=search_path)
        if found:
            path = os.path.abspath(found)
            stat = os.stat(path)
            identity = f"{path}:{stat.st_ino}:{stat.st_size}:{stat.st_mtime_ns}"
            known = _read_probe_cache(cache_file, identity)
            if known is not None:
                return known
            probed = _probe(path, stat.st_mtime_ns, search_path)
            _write_probe_cache(cache_file, identity, probed)
            return probed
    if source == "PATH":
        raise ConfigError(
            "Terraform not found: neither `terraform` nor `tofu` is on PATH. Install Terraform "
            f">= {_dotted(MINIMUM_VERSION)} (or OpenTofu), or set TERRAFORM_BIN to its path."
        )
    raise ConfigError(
        f"Terraform not found: {source}={candidates[0]!r} is not an executable file. Point it "
        f"at Terraform >= {_dotted(MINIMUM_VERSION)} (or OpenTofu)."
    )


def _read_probe_cache(cache_file: Path | None, identity: str) -> TerraformBinary | None:
    if cache_file is None:
        return None
    try:
        entry = json.loads(cache_file.read_text(encoding="utf-8"))
        if entry.get("identity") != identity:
            return None
        version = tuple(int(part) for part in entry["version"])
        if len(version) != 3 or version < MINIMUM_VERSION or entry["product"] not in ("Terraform", "OpenTofu"):
            return None
        return TerraformBinary(path=entry["path"], version=version, product=entry["product"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # no cache, or not one we wrote: probe again


def _write_probe_cache(cache_file: Path | None, identity: str, found: TerraformBinary) -> None:
    if cache_file is None:
        return
    entry = {"identity": identity, "path": found.path, "version": list(found.version), "product": found.product}
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        partial = cache_file.with_name(cache_file.name + f".{os.getpid()}")
        partial.write_text(json.dumps(entry), encoding="utf-8")
        partial.replace(cache_file)
    except OSError:
        pass  # a cache only: the next run probes again


@lru_cache(maxsize=16)
def _probe(path: str, mtime_ns: int, search_path: str) -> TerraformBinary:
    env = {**os.environ, "PATH": search_path, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}
    try:
        completed = subprocess.run(
            [path, "version", "-json"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=env,
            timeout=_VERSION_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"Could not run {path} version: {exc}") from None
    stdout = completed.stdout.decode("utf-8", "replace")
    version = parse_version_output(stdout)
    if completed.returncode != 0 or version is None:
        raise ConfigError(
            f"{path} does not look like Terraform or OpenTofu: `version -json` did not report a version "
            "(a JSON object whose terraform_version is like \"1.9.8\"). Point TERRAFORM_BIN at Terraform "
            f">= {_dotted(MINIMUM_VERSION)} (or OpenTofu)."
        )
    product = "OpenTofu" if "tofu" in os.path.basename(path).lower() else "Terraform"
    found = TerraformBinary(path=path, version=version, product=product)
    if version < MINIMUM_VERSION:
        raise ConfigError(
            f"{product} {found.version_text} at {path} is too old: sekoia-sso needs Terraform >= "
            f"{_dotted(MINIMUM_VERSION)} (or OpenTofu). Upgrade it, or set TERRAFORM_BIN to a newer one."
        )
    return found


def parse_version_output(text: str) -> tuple[int, int, int] | None:
    """The version from `terraform version -json` (OpenTofu uses the same key), or from its text.

    Untrusted: any shape (a list, a number where the string goes, a huge or binary answer) gives None
    or a version, never an exception.
    """
    text = text[:65536]
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        data = None
    if isinstance(data, dict):
        raw = data.get("terraform_version")
        if not isinstance(raw, str):
            return None  # JSON of an unexpected shape: not a Terraform we know
    else:
        raw = text
    match = re.search(r"(\d{1,6})\.(\d{1,6})\.(\d{1,6})", raw)
    if not match:
        return None
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def _dotted(version: Sequence[int]) -> str:
    return ".".join(str(part) for part in version)
