"""Check the CI recipes of recipes/ for what actionlint and zizmor do not know: our own rules.

    .venv/bin/python scripts/check_recipes.py      # exit 1 and one line per problem; `make lint` runs it

Azure DevOps has no offline linter: each pipeline is parsed, its templates resolved (the file exists, the
parameters passed are declared, the required ones are passed) and its required keys checked (the
triggers, `lockBehavior: sequential`, an environment on each deployment job, every AzureCLI@2 task logging
in through workload identity federation with `addSpnToEnvironment`). The GitHub workflows are checked for
the login through OIDC (`id-token: write`, ARM_USE_OIDC, ARM_USE_AZUREAD, no Azure secret), one
concurrency group per environment never cancelled where Sekoia.io is written, the matrix taken from
`sekoia-sso list --json`, and `max-parallel` set.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
AZURE = RECIPES / "azure-devops"
GITHUB = RECIPES / "github" / "workflows"
PIPELINES = ("azure-pipelines.yml", "azure-pipelines-scheduled.yml")
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
# Steps that write to Sekoia.io or Entra ID: their job must never be cancelled halfway.
WRITES = re.compile(r"sekoia-sso (apply|rotate|connect|destroy)\b")


def load(path: Path) -> Any:
    """The YAML document; `on:` stays the string "on" (YAML 1.1 would read it as True)."""
    text = path.read_text()
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - our loader is SafeLoader without the bool "on"


class _Loader(yaml.SafeLoader):
    pass


# YAML 1.1 reads on/off/yes/no as booleans; GitHub and Azure DevOps read them as strings.
_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|false)$"), list("tf"))


def walk(node: Any) -> Iterator[dict]:
    """Every mapping in the document, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def azure_problems(directory: Path = AZURE) -> list[str]:
    problems: list[str] = []
    for name in PIPELINES:
        path = directory / name
        if not path.is_file():
            problems.append(f"{path}: missing")
            continue
        pipeline = load(path)
        if not isinstance(pipeline, dict) or not isinstance(pipeline.get("stages"), list):
            problems.append(f"{path}: no `stages:` list")
            continue
        wanted = ("trigger", "pr") if name == "azure-pipelines.yml" else ("schedules",)
        problems += [f"{path}: no `{key}:`" for key in wanted if key not in pipeline]
        if pipeline.get("lockBehavior") != "sequential":
            problems.append(f"{path}: `lockBehavior: sequential` is missing (runs of one environment would "
                            "cancel each other)")
        problems += _template_problems(path, pipeline, directory)
        for node in walk(pipeline):
            if "deployment" in node and not node.get("environment"):
                problems.append(f"{path}: deployment job {node['deployment']!r} names no environment")
    for path in sorted((directory / "templates").glob("*.yml")):
        problems += _azure_cli_problems(path, load(path))
    return problems


def _template_problems(path: Path, document: Any, directory: Path) -> list[str]:
    problems = []
    for node in walk(document):
        if not isinstance(node.get("template"), str):
            continue
        target = directory / node["template"]
        if not target.is_file():
            problems.append(f"{path}: template {node['template']} does not exist")
            continue
        declared = {p["name"]: p for p in (load(target) or {}).get("parameters") or []}
        passed = set(node.get("parameters") or {})
        problems += [f"{path}: template {node['template']} has no parameter {name!r}" for name in
                     sorted(passed - set(declared))]
        problems += [f"{path}: template {node['template']} needs parameter {name!r}" for name, p in
                     declared.items() if "default" not in p and name not in passed]
    return problems


def _azure_cli_problems(path: Path, document: Any) -> list[str]:
    problems = []
    for node in walk(document):
        if not str(node.get("task", "")).startswith("AzureCLI@"):
            continue
        inputs = node.get("inputs") or {}
        script = str(inputs.get("inlineScript", ""))
        if node["task"] != "AzureCLI@2" or inputs.get("addSpnToEnvironment") is not True:
            problems.append(f"{path}: AzureCLI@2 needs `addSpnToEnvironment: true` (the federated token)")
        if not inputs.get("azureSubscription") or inputs.get("scriptType") != "bash":
            problems.append(f"{path}: AzureCLI@2 needs azureSubscription and `scriptType: bash`")
        for needed in ("ARM_USE_OIDC=true", 'ARM_OIDC_TOKEN="$idToken"', "ARM_USE_AZUREAD=true"):
            if needed not in script:
                problems.append(f"{path}: the AzureCLI@2 script does not set {needed}")
        if "SEKOIA_API_KEY" not in (node.get("env") or {}):
            problems.append(f"{path}: AzureCLI@2 does not map SEKOIA_API_KEY from the variable group into env")
    return problems


def github_problems(directory: Path = GITHUB) -> list[str]:
    problems: list[str] = []
    paths = sorted(directory.glob("*.yml"))
    if not paths:
        return [f"{directory}: no workflow"]
    for path in paths:
        workflow = load(path)
        if workflow.get("permissions") != {}:
            problems.append(f"{path}: the workflow's `permissions:` must be {{}} (each job asks for its own)")
        for job_name, job in (workflow.get("jobs") or {}).items():
            problems += [f"{path}: job {job_name}: {problem}" for problem in _job_problems(job)]
    return problems


def _job_problems(job: dict) -> list[str]:
    problems = []
    steps = job.get("steps") or []
    problems += [f"{step['uses']} is not pinned by a full commit SHA" for step in steps
                 if "uses" in step and not PINNED.match(step["uses"])]
    environ = job.get("env") or {}
    if "matrix" not in str(job.get("strategy", "")):
        return problems
    matrix = (job["strategy"].get("matrix") or {}).get("environment", "")
    if "fromJSON(needs." not in str(matrix):
        problems.append("the matrix does not come from the environments job (sekoia-sso list --json)")
    if "max-parallel" not in job["strategy"]:
        problems.append("no max-parallel (the Sekoia.io key's budget)")
    if (job.get("permissions") or {}).get("id-token") != "write":
        problems.append("no `id-token: write` (the OIDC login)")
    if environ.get("ARM_USE_OIDC") != "true" or environ.get("ARM_USE_AZUREAD") != "true":
        problems.append('env needs ARM_USE_OIDC: "true" and ARM_USE_AZUREAD: "true"')
    if any(key in environ for key in ("ARM_CLIENT_SECRET", "ARM_ACCESS_KEY", "ARM_CLIENT_CERTIFICATE")):
        problems.append("an Azure secret in env: the login is OIDC's, nothing stored")
    concurrency = job.get("concurrency") or {}
    if "matrix.environment" not in str(concurrency.get("group", "")):
        problems.append("no concurrency group per environment")
    writes = any(WRITES.search(str(step.get("run", ""))) for step in steps)
    if writes and concurrency.get("cancel-in-progress") is not False:
        problems.append("writes (apply, rotate) with a concurrency that may cancel it halfway")
    return problems


def main() -> int:
    problems = azure_problems() + github_problems()
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
