"""A throwaway copy of the project (envs, templates, terraform) for tests that write files."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def copy_project(target: Path, *, envs: tuple[str, ...] = ("sandbox", "example-prod")) -> Path:
    (target / "envs").mkdir(parents=True)
    for name in envs:
        shutil.copy(REPO / "envs" / f"{name}.yaml", target / "envs" / f"{name}.yaml")
        rendered = REPO / "terraform" / "envs" / name
        if rendered.is_dir():
            shutil.copytree(rendered, target / "terraform" / "envs" / name,
                            ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    shutil.copytree(REPO / "templates", target / "templates")
    shutil.copytree(REPO / "terraform" / "modules", target / "terraform" / "modules")
    return target
