"""The CI recipes of recipes/: our own rules (scripts/check_recipes.py), actionlint and zizmor hold on the
shipped files, and each fails on a copy broken the way a hand edit would break it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import check_recipes  # noqa: E402 - a script, not a package

BIN = Path(sys.executable).parent


@pytest.fixture
def recipes(tmp_path: Path) -> Path:
    copy = tmp_path / "recipes"
    shutil.copytree(ROOT / "recipes", copy)
    return copy


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def test_the_shipped_recipes_hold():
    assert check_recipes.azure_problems() == []
    assert check_recipes.github_problems() == []


GITHUB_BREAKS = [
    ("sekoia-sso-apply.yml", "      id-token: write", "      id-token: none", "no `id-token: write`"),
    ("sekoia-sso-apply.yml", "cancel-in-progress: false", "cancel-in-progress: true", "may cancel it halfway"),
    ("sekoia-sso-scheduled.yml", "cancel-in-progress: false", "cancel-in-progress: true", "may cancel it halfway"),
    ("sekoia-sso-pull-request.yml", "checkout@3d3c42e5aac5ba805825da76410c181273ba90b1", "checkout@v7",
     "not pinned by a full commit SHA"),
    ("sekoia-sso-apply.yml", '      ARM_USE_OIDC: "true"', '      ARM_CLIENT_SECRET: ${{ secrets.AZ }}',
     "ARM_USE_OIDC"),
    ("sekoia-sso-apply.yml", "      max-parallel: 1\n", "", "no max-parallel"),
    ("sekoia-sso-apply.yml", "group: sekoia-sso-${{ matrix.environment }}", "group: sekoia-sso", "per environment"),
    ("sekoia-sso-apply.yml", "permissions: {}", "permissions: write-all", "`permissions:` must be {}"),
]


@pytest.mark.parametrize(("name", "old", "new", "said"), GITHUB_BREAKS, ids=[b[3] for b in GITHUB_BREAKS])
def test_a_broken_github_workflow_is_named(recipes, name, old, new, said):
    edit(recipes / "github" / "workflows" / name, old, new)
    problems = check_recipes.github_problems(recipes / "github" / "workflows")
    assert any(said in problem and name in problem for problem in problems), problems


AZURE_BREAKS = [
    ("azure-pipelines.yml", "lockBehavior: sequential", "lockBehavior: runLatest", "lockBehavior: sequential"),
    ("azure-pipelines-scheduled.yml", "schedules:", "schedulez:", "no `schedules:`"),
    ("templates/sekoia-sso.yml", "addSpnToEnvironment: true", "addSpnToEnvironment: false", "addSpnToEnvironment"),
    ("templates/sekoia-sso.yml", 'ARM_OIDC_TOKEN="$idToken"', "ARM_OIDC_TOKEN=", "ARM_OIDC_TOKEN"),
    ("azure-pipelines.yml", "serviceConnection: sekoia-sso-${{ environment }}\n                  displayName",
     "serviceConection: x\n                  displayName", "no parameter 'serviceConection'"),
    ("azure-pipelines.yml", "template: templates/install.yml", "template: templates/setup.yml", "does not exist"),
    ("azure-pipelines.yml", "            environment: sekoia-sso-${{ environment }}\n", "", "names no environment"),
]


@pytest.mark.parametrize(("name", "old", "new", "said"), AZURE_BREAKS, ids=[b[3] for b in AZURE_BREAKS])
def test_a_broken_azure_pipeline_is_named(recipes, name, old, new, said):
    edit(recipes / "azure-devops" / name, old, new)
    problems = check_recipes.azure_problems(recipes / "azure-devops")
    assert any(said in problem for problem in problems), problems


def test_a_pipeline_that_is_not_yaml_is_refused(recipes):
    (recipes / "azure-devops" / "azure-pipelines.yml").write_text("stages: [\n")
    with pytest.raises(Exception, match="expected"):
        check_recipes.azure_problems(recipes / "azure-devops")


@pytest.mark.parametrize("tool", [["actionlint"], ["zizmor", "--offline", "--quiet"]])
def test_the_linters_pass_the_workflows_and_fail_a_broken_one(recipes, tool):
    workflows = sorted(str(path) for path in (recipes / "github" / "workflows").glob("*.yml"))
    clean = subprocess.run([str(BIN / tool[0]), *tool[1:], *workflows], capture_output=True, text=True, timeout=60)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    # An expression in a shell line: actionlint says the property does not exist, zizmor that it is an injection.
    edit(recipes / "github" / "workflows" / "sekoia-sso-apply.yml", 'sekoia-sso apply "$SEKOIA_SSO_ENV"',
         "sekoia-sso apply ${{ github.event.head_commit.message }}${{ matrix.nope }}")
    broken = subprocess.run([str(BIN / tool[0]), *tool[1:], *workflows], capture_output=True, text=True, timeout=60)
    assert broken.returncode != 0
    assert "sekoia-sso-apply.yml" in broken.stdout + broken.stderr
