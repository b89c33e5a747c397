"""The shell lines of the CI recipes (recipes/), as the CI system would hand them to bash.

GitHub Actions: each job's `run:` steps in order, with the workflow's, job's and step's `env:`, every
`${{ … }}` replaced by a value the test gives (an expression it does not know fails the test, so a
recipe that grows a new expression makes the test grow with it). Azure DevOps: each stage's `script:`
steps and the AzureCLI@2 scripts of its templates, `${{ parameters.X }}` and `$(VARIABLE)` replaced the
same way. The steps that install sekoia-sso and Terraform (`id: install` / `name: install`) are left out:
the test runs the checkout's own `sekoia-sso` and the Terraform on PATH.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

RECIPES = Path(__file__).parents[2] / "recipes"
_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_MACRO = re.compile(r"\$\(([A-Za-z_][\w.]*)\)")


@dataclass
class Step:
    where: str  # "workflow.yml: job/step name", for the failure message
    script: str
    env: dict[str, str] = field(default_factory=dict)
    shell: tuple[str, ...] = ("bash", "--noprofile", "--norc", "-eo", "pipefail")


def substitute(text: str, values: dict[str, str], where: str) -> str:
    """A workflow's `${{ name }}` expressions replaced by the test's values."""
    return _replaced(_EXPRESSION, text, values, where, "${{{{ {} }}}}")


def _replaced(pattern: re.Pattern[str], text: str, values: dict[str, str], where: str, spelled: str) -> str:
    """Each match of `pattern` replaced by the value its group 1 names; a name without a value fails, spelled
    as the recipe writes it."""
    def value(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise KeyError(f"{where}: the test has no value for {spelled.format(match.group(1))}")
        return values[match.group(1)]

    return pattern.sub(value, text)


def github_steps(name: str, job: str, values: dict[str, str]) -> list[Step]:
    """The `run:` steps of one job of recipes/github/workflows/NAME, install left out."""
    workflow = yaml.safe_load((RECIPES / "github" / "workflows" / name).read_text())
    spec = workflow["jobs"][job]
    steps = []
    for number, step in enumerate(spec["steps"]):
        if "run" not in step or step.get("id") == "install":
            continue
        where = f"{name}: {job}/{step.get('name', number)}"
        env = {**(workflow.get("env") or {}), **(spec.get("env") or {}), **(step.get("env") or {})}
        steps.append(Step(where, substitute(step["run"], values, where),
                          {key: substitute(str(val), values, where) for key, val in env.items()}))
    return steps


def azure_steps(name: str, stage_prefix: str, environment: str, values: dict[str, str],
                variables: dict[str, str]) -> list[Step]:
    """The scripts of the stages of recipes/azure-devops/NAME whose name starts with `stage_prefix`, for
    `environment` (the `${{ each environment in parameters.environments }}` stages), install left out.

    `variables`: what the variable groups hold, over the pipeline's own `variables:`; each is a `$(NAME)`
    macro and, as Azure DevOps maps the variables that are not secret, in each script's environment."""
    directory = RECIPES / "azure-devops"
    pipeline = yaml.safe_load((directory / name).read_text())
    values = {**values, "environment": environment, "replace(environment, '-', '_')": environment.replace("-", "_")}
    macros = {**{key: str(val) for key, val in (pipeline.get("variables") or {}).items()}, **variables}
    steps: list[Step] = []
    for stage in _stages(pipeline["stages"]):
        stage_name = substitute(stage["stage"], values, name)
        if not stage_name.startswith(stage_prefix):
            continue
        for job in stage["jobs"]:
            job_steps = job.get("steps") or job["strategy"]["runOnce"]["deploy"]["steps"]
            for step in job_steps:
                steps += _azure_step(directory, f"{name}: {stage_name}", step, values, macros)
    for found in steps:
        found.env = {**macros, **found.env}
    return steps


def _stages(stages: list[Any]) -> list[dict]:
    found = []
    for item in stages:
        if "stage" in item:
            found.append(item)
        else:  # `${{ each environment in parameters.environments }}: [stages]`
            for expanded in item.values():
                found += _stages(expanded)
    return found


def _azure_step(directory: Path, where: str, step: dict, values: dict[str, str], macros: dict[str, str]) -> list[Step]:
    if "script" in step:
        if step.get("name") == "install":
            return []
        where = f"{where}/{step.get('displayName', 'script')}"
        env = {key: _macros(substitute(str(val), values, where), macros, where)
               for key, val in (step.get("env") or {}).items()}
        return [Step(where, _macros(substitute(step["script"], values, where), macros, where), env, ("bash",))]
    if "template" not in step:
        return []  # checkout
    template = yaml.safe_load((directory / step["template"]).read_text())
    passed = {key: substitute(str(val), values, where) for key, val in (step.get("parameters") or {}).items()}
    parameters = {f"parameters.{p['name']}": str(passed.get(p["name"], p.get("default"))) for p in
                  template.get("parameters") or []}
    found = []
    for inner in template["steps"]:
        if inner.get("task") == "AzureCLI@2":
            inner_where = f"{where}/{passed.get('displayName', step['template'])}"
            script = _macros(substitute(inner["inputs"]["inlineScript"], {**values, **parameters}, inner_where),
                             macros, inner_where)
            env = {key: _macros(substitute(str(val), {**values, **parameters}, inner_where), macros, inner_where)
                   for key, val in (inner.get("env") or {}).items()}
            found.append(Step(inner_where, script, env, ("bash",)))
        else:
            found += _azure_step(directory, where, inner, values, macros)
    return found


def _macros(text: str, macros: dict[str, str], where: str) -> str:
    """An Azure Pipelines file's `$(name)` macros replaced by the test's values."""
    return _replaced(_MACRO, text, macros, where, "$({})")
