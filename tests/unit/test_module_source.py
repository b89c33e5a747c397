"""terraform.module_source / module_version: where a rendered root takes the module from (#17 §1).

The refusals (each naming the key and what is allowed) are cases of tests/e2e/test_bad_input.py; here,
what the accepted values render to, and that the default renders exactly what it always did.
"""

from __future__ import annotations

import subprocess

import pytest
import yaml
from click.testing import CliRunner

from orchestrator.cli import cli
from orchestrator.config.loading import load_environment
from orchestrator.config.module_source import check_module_source, check_module_version, source_kind
from orchestrator.render import render_environment, write_rendered
from tests.harness.project import REPO, copy_project

GIT = "git::https://github.com/acme/sekoia-sso.git//terraform/modules/sekoia-sso?ref=v1.2.0"


@pytest.fixture
def project(tmp_path, monkeypatch):
    root = copy_project(tmp_path / "project", envs=("sandbox",))
    monkeypatch.setenv("SEKOIA_SSO_PROJECT_DIR", str(root))
    return root


def with_module(project, **terraform) -> None:
    path = project / "envs" / "sandbox.yaml"
    data = yaml.safe_load(path.read_text())
    data["terraform"].update(terraform)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def module_block(project) -> list[str]:
    root = render_environment(load_environment(project, "sandbox"), project)
    lines = root.files["main.tf"].splitlines()
    start = lines.index('module "sekoia_sso" {')
    return lines[start + 1:lines.index("", start)]


def test_without_the_key_the_root_is_byte_for_byte_the_committed_one(project):
    assert module_block(project) == ['  source = "../../modules/sekoia-sso"']
    root = render_environment(load_environment(project, "sandbox"), project)
    for name, text in root.files.items():
        assert text == (REPO / "terraform/envs/sandbox" / name).read_text(encoding="utf-8")


def test_a_git_source_is_written_as_given_and_check_sees_the_change(project):
    with_module(project, module_source=GIT)
    assert module_block(project) == [f'  source = "{GIT}"']
    stale = CliRunner().invoke(cli, ["check", "sandbox"])
    assert stale.exit_code == 1 and f'+  source = "{GIT}"' in stale.output
    assert CliRunner().invoke(cli, ["render", "sandbox"]).exit_code == 0
    assert CliRunner().invoke(cli, ["check", "sandbox"]).exit_code == 0


def test_a_registry_source_gets_its_exact_version_aligned_as_terraform_fmt_wants(project):
    with_module(project, module_source="app.terraform.io/acme/sekoia-sso/azuread", module_version="1.2.0")
    assert module_block(project) == ['  source  = "app.terraform.io/acme/sekoia-sso/azuread"',
                                     '  version = "1.2.0"']
    write_rendered(render_environment(load_environment(project, "sandbox"), project), project)
    fmt = subprocess.run(["terraform", "fmt", "-check", "-diff", str(project / "terraform/envs/sandbox")],
                         capture_output=True, text=True, check=False)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_a_local_path_of_your_own_is_taken_as_it_is(project):
    with_module(project, module_source="../../../platform/modules/sekoia-sso")
    assert module_block(project) == ['  source = "../../../platform/modules/sekoia-sso"']


@pytest.mark.parametrize(("source", "kind"), [
    (None, "vendored"), ("./m", "local"), (GIT, "git"),
    ("git::ssh://git@github.com/acme/sekoia-sso.git?ref=0f1e2d3c", "git"), ("acme/sekoia-sso/azuread", "registry"),
])
def test_accepted_sources_and_their_kind(source, kind):
    assert source is None or check_module_source(source) == source
    assert source_kind(source) == kind


@pytest.mark.parametrize("version", ["1.0.0", "2.10.3-rc.1", "1.0.0+build.5"])
def test_exact_versions_are_accepted(version):
    assert check_module_version(version, "acme/sekoia-sso/azuread") == version


@pytest.mark.parametrize("version", ["1.0", "v1.0.0", "~> 1.0", ">= 1.0.0", "1.0.0, < 2.0.0", "latest"])
def test_anything_but_one_exact_version_is_refused(version):
    with pytest.raises(ValueError, match="an exact version such as 1.0.0"):
        check_module_version(version, "acme/sekoia-sso/azuread")


@pytest.mark.parametrize("ref", ["main", "master", "HEAD", "develop", "trunk"])
def test_a_branch_is_not_a_pin(ref):
    with pytest.raises(ValueError, match="names a branch"):
        check_module_source(f"git::https://github.com/acme/x.git?ref={ref}")
