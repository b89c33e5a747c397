"""Where one environment's Terraform runs: its rendered root, data dir, plan file and backend.

Every command that runs Terraform for an environment goes through `Workspace`, so the data
dir (TF_DATA_DIR, one per environment: two environments never share `.terraform/`), the
saved plan's path and the sandbox's state location are decided in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from orchestrator.config import Environment
from orchestrator.endpoints import Endpoints, endpoints_for, sandbox_dir
from orchestrator.errors import UsageError


@dataclass
class Workspace:
    env: Environment
    project_dir: Path

    @cached_property
    def endpoints(self) -> Endpoints:
        return endpoints_for(self.env, self.project_dir)

    @property
    def root_dir(self) -> Path:
        return self.project_dir / "terraform" / "envs" / self.env.name

    @property
    def data_dir(self) -> Path:
        if self.env.config.sandbox:
            # Beside the sandbox's state: a restarted sandbox (a fresh tenant) starts clean too.
            return sandbox_dir(self.project_dir) / "terraform" / self.env.name
        return self.project_dir / ".sekoia-sso" / self.env.name

    @property
    def plan_path(self) -> Path:
        return self.data_dir / "plan.tfplan"

    @property
    def backend_config(self) -> dict[str, str] | None:
        """Settings given at init on top of the rendered backend block (the sandbox's state file)."""
        if self.env.config.sandbox:
            return {"path": str(sandbox_dir(self.project_dir) / "terraform" / f"{self.env.name}.tfstate")}
        return None

    def require_rendered_root(self) -> None:
        if not self.root_dir.is_dir():
            raise UsageError(
                f"terraform/envs/{self.env.name} does not exist: run `sekoia-sso render {self.env.name}` and commit it"
            )

    def require_current_render(self) -> None:
        """Terraform runs only what was reviewed: refuse when the committed HCL is stale."""
        from orchestrator.render import StaleRenderError, diff_rendered, render_environment

        self.require_rendered_root()
        if diff_rendered(render_environment(self.env, self.project_dir), self.project_dir):
            raise StaleRenderError([self.env.name])

    def runner(self, *, on_line: Callable[[str], None] | None = None, timeout: float | None = None):
        from orchestrator.terraform import TerraformRunner

        options = {} if timeout is None else {"timeout": timeout}
        return TerraformRunner(
            self.root_dir, data_dir=self.data_dir, env=self.endpoints.sandbox_env, on_line=on_line, **options
        )

    def initialised_runner(self, *, on_line: Callable[[str], None] | None = None):
        from orchestrator.errors import TerraformError

        runner = self.runner(on_line=on_line)
        fingerprint = self._init_fingerprint(runner)
        marker = self.data_dir / "init.fingerprint"
        if marker.is_file() and marker.read_text() == fingerprint:
            return runner  # nothing init depends on has changed since the last successful init
        marker.unlink(missing_ok=True)
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
        marker.write_text(self._init_fingerprint(runner))
        return runner

    def _init_fingerprint(self, runner) -> str:
        """What `terraform init` depends on: the root and module HCL, the lock file, the backend
        settings, the binary, and the CLI config that says where providers come from."""
        import hashlib
        import json
        import os

        digest = hashlib.sha256()
        cli_config = self.endpoints.environ().get("TF_CLI_CONFIG_FILE", "")
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
