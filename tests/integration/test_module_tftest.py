"""The module's own `terraform test` suite (terraform/modules/sekoia-sso/tests/*.tftest.hcl) runs here.

Those files mock the azuread provider (`mock_provider`), so they need no tenant; Terraform still
needs the provider's schema, which `terraform init` installs from the sandbox's filesystem mirror
(the emulated provider serves the real 3.7.0 schema). With the registry instead of the mirror,
the same files run unchanged on hashicorp/azuread.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from sandbox.mirror import install_mirror
from tests.harness.module import MODULE, copy_module, offline_terraform_env

pytestmark = pytest.mark.timeout(300)

TEST_FILES = sorted(path.name for path in (MODULE / "tests").glob("*.tftest.hcl"))


def _terraform(workdir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["terraform", *args], cwd=workdir, env=env, capture_output=True, text=True,
                          timeout=240, check=False)


@pytest.fixture(scope="module")
def tftest_run(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    """`terraform init` then `terraform test` on a copy of the module, once for this file."""
    workdir = tmp_path_factory.mktemp("module-tftest")
    env = offline_terraform_env(install_mirror(workdir / "mirror"))
    module_dir = copy_module(workdir)
    init = _terraform(module_dir, env, "init", "-input=false", "-no-color", "-backend=false")
    assert init.returncode == 0, init.stdout + init.stderr
    return _terraform(module_dir, env, "test", "-no-color")


def test_every_terraform_test_of_the_module_passes(tftest_run):
    assert tftest_run.returncode == 0, tftest_run.stdout + tftest_run.stderr
    summary = re.search(r"Success! (\d+) passed, 0 failed\.", tftest_run.stdout)
    assert summary, tftest_run.stdout
    runs = sum(len(re.findall(r'^run "', (MODULE / "tests" / name).read_text(), re.M)) for name in TEST_FILES)
    assert int(summary.group(1)) == runs  # every run block ran: none skipped after an earlier failure


@pytest.mark.parametrize("name", TEST_FILES)
def test_each_test_file_runs_and_passes(tftest_run, name):
    assert f"tests/{name}... pass" in tftest_run.stdout, tftest_run.stdout
