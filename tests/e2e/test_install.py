"""Installed from a wheel, the tool works outside this checkout: `init` a repository, render, apply (#17 §1).

The wheel is built as a user builds it (`pip wheel --no-deps .`, setuptools in its isolated build
environment) from a copy of the committed files, in which a run of an example left `.terraform/` and a
state behind: they must not ship. It is installed into a fresh virtual environment outside the checkout;
its dependencies are this checkout's .venv's own (the same versions), seen through a `.pth` file written
after the install, so that pip never sees the checkout's editable install. From there: `sekoia-sso init`
a temporary directory, point its example environment at the sandbox, `render`, `check` and `apply` it with
real Terraform on the session's emulators. No templates/ and no orchestrator/ sit beside that directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.harness.project import REPO

pytestmark = pytest.mark.timeout(400)

PLANTED = ("terraform/modules/sekoia-sso/examples/minimal/.terraform/providers/junk",
           "terraform/modules/sekoia-sso/examples/minimal/terraform.tfstate",
           "terraform/modules/sekoia-sso/examples/minimal/.terraform.lock.hcl")
# setuptools' words when a data directory is not in `packages` (the issue's warning), and its other complaints.
SETUPTOOLS_COMPLAINTS = ("absent from the `packages` configuration", "Package would be ignored",
                         "SetuptoolsDeprecationWarning", "_IncludePackageDataAbuse", "is deprecated")


def run(argv: list[str], *, cwd: Path, env: dict[str, str] | None = None,
        timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> tuple[Path, str]:
    """(the wheel, the build's output), built from a copy of the committed files with a used example."""
    source = tmp_path_factory.mktemp("source")
    listed = run(["git", "ls-files", "-z"], cwd=REPO).stdout.split("\0")
    for name in filter(None, listed):
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_bytes((REPO / name).read_bytes())
    for name in PLANTED:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text("left by a run of the example\n")
    out = tmp_path_factory.mktemp("wheelhouse")
    built = run([sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-cache-dir", "-w", str(out), "."],
                cwd=source)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (path,) = out.glob("sekoia_sso-*.whl")
    return path, built.stdout + built.stderr


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """The `bin/` of a fresh virtual environment, outside the checkout, holding the wheel."""
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    made = run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=venv.parent)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    done = run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                str(wheel[0])], cwd=venv.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    site = run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=venv.parent)
    # The dependencies, at the versions the tests run with: a plain path (not a site dir, so the checkout's
    # editable-install hook in it is never run), after the fresh site-packages.
    Path(site.stdout.strip(), "checkout-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv / "bin"


def test_the_wheel_ships_templates_module_example_and_scaffold_and_no_terraform_leftovers(wheel):
    path, output = wheel
    names = zipfile.ZipFile(path).namelist()
    shipped = sorted(n.removeprefix("orchestrator/data/shipped/") for n in names
                     if n.startswith("orchestrator/data/shipped/"))
    module = sorted(run(["git", "ls-files", "terraform/modules/sekoia-sso"], cwd=REPO).stdout.split())
    assert [n for n in shipped if n.startswith("terraform/")] == module
    assert {"templates/main.tf.j2", "templates/outputs.tf.j2", "templates/versions.tf.j2", "envs/example-prod.yaml",
            "scaffold/Makefile", "scaffold/gitignore"} <= set(shipped)
    assert not [n for n in names if ".terraform" in n or "tfstate" in n]
    assert "orchestrator/data/azuread-3.7.0-schema.json" in names
    complaints = [line for line in output.splitlines() if any(c in line for c in SETUPTOOLS_COMPLAINTS)]
    assert not complaints, complaints


def test_init_then_render_check_and_apply_against_the_sandbox_from_outside_the_checkout(
        installed, tmp_path, sandbox, graph_emulator, sekoia_emulator):
    repo = tmp_path / "sso-infra"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "ARM_", "SEKOIA_", "PYTHON"))}
    env["PATH"] = f"{installed}{os.pathsep}{env.get('PATH', '')}"
    where = run([str(installed / "python"), "-c", "import orchestrator; print(orchestrator.__file__)"], cwd=tmp_path)
    assert Path(where.stdout.strip()).is_relative_to(installed.parent), where.stdout + where.stderr

    made = run(["sekoia-sso", "init", str(repo)], cwd=tmp_path, env=env)
    assert made.returncode == 0, made.stderr
    module_files = len(run(["git", "ls-files", "terraform/modules/sekoia-sso"], cwd=REPO).stdout.split())
    assert "envs/example.yaml" in made.stdout and f"terraform/modules/sekoia-sso/ ({module_files} files)" in made.stdout
    assert not (repo / "templates").exists() and not (repo / "orchestrator").exists()
    assert ".sekoia-sso/" in (repo / ".gitignore").read_text().splitlines()
    assert (repo / "terraform/modules/sekoia-sso/main.tf").read_bytes() == \
        (REPO / "terraform/modules/sekoia-sso/main.tf").read_bytes()

    # The example, edited to aim at the sandbox: its tenant, who may sign in, its community, a local state.
    example = yaml.safe_load((repo / "envs/example.yaml").read_text())
    ours = yaml.safe_load((REPO / "envs/sandbox.yaml").read_text())
    example.update({key: ours[key] for key in ("tenant_id", "sandbox", "application", "access", "sekoia")})
    example["terraform"] = {"backend": {"type": "local"}}
    (repo / "envs/example.yaml").write_text(yaml.safe_dump(example, sort_keys=False))

    rendered = run(["sekoia-sso", "render", "example"], cwd=repo, env=env)
    assert rendered.returncode == 0, rendered.stderr
    main_tf = (repo / "terraform/envs/example/main.tf").read_text()
    assert 'source = "../../modules/sekoia-sso"' in main_tf
    checked = run(["sekoia-sso", "check", "--all"], cwd=repo / "envs", env=env)  # found from a subdirectory
    assert checked.returncode == 0, checked.stdout + checked.stderr

    sandbox_dir = tmp_path / "sandbox"
    sandbox_dir.mkdir()
    (sandbox_dir / "endpoints.json").write_text(json.dumps(sandbox.endpoints()))
    sekoia_emulator.domain_verification_delay = 0
    env["SEKOIA_SSO_SANDBOX_DIR"] = str(sandbox_dir)
    applied = run(["sekoia-sso", "apply", "example", "--yes", "--warn-only", "--timeout", "30s"], cwd=repo, env=env)
    assert applied.returncode == 0, applied.stdout[-3000:] + applied.stderr[-3000:]
    status = run(["sekoia-sso", "status", "example"], cwd=repo, env=env)
    assert status.returncode == 0, status.stdout + status.stderr
    secrets = [v for k, v in sandbox.env.items() if "SECRET" in k or "KEY" in k]
    for printed in (made, rendered, checked, applied, status):
        assert not [s for s in secrets if s and s in printed.stdout + printed.stderr]


def _tree(directory: Path) -> dict[str, str]:
    return {p.relative_to(directory).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def test_init_refuses_a_target_holding_its_files_and_writes_nothing(installed, tmp_path):
    repo = tmp_path / "theirs"
    (repo / "envs").mkdir(parents=True)
    (repo / "envs/example.yaml").write_text("tenant_id: theirs\n")
    (repo / "Makefile").write_text("all:\n\techo theirs\n")
    (repo / "README.md").write_text("# Their repository\n")
    before = _tree(repo)
    refused = run([str(installed / "sekoia-sso"), "init", str(repo)], cwd=tmp_path)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "Makefile, envs/example.yaml" in refused.stderr and "Nothing was written" in refused.stderr
    assert "Traceback" not in refused.stderr and refused.stdout == ""
    assert _tree(repo) == before and sorted(os.listdir(repo)) == ["Makefile", "README.md", "envs"]
