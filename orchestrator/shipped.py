"""Where the files the tool ships are: the templates, the Terraform module, the example environment,
the `init` scaffold and the CI recipes.

An installed wheel carries them under orchestrator/data/shipped/ (setup.py copies them there at build
time, in the repository's own layout); a source checkout (an editable install, `python -m orchestrator`
in a clone) reads them from the repository, where they live once in git. Both give the same relative
paths, so callers never ask which one they got.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

TEMPLATES = "templates"
MODULE = "terraform/modules/sekoia-sso"
EXAMPLE_ENVIRONMENT = "envs/example-prod.yaml"
SCAFFOLD = "scaffold"
RECIPES = "recipes"


def shipped_root() -> Path:
    """The directory the shipped paths are relative to."""
    package = Path(str(resources.files("orchestrator")))
    packaged = package / "data" / "shipped"
    return packaged if packaged.is_dir() else package.parent


def shipped(relative: str) -> Path:
    """One shipped path (it may not exist: the recipes directory is optional)."""
    return shipped_root() / relative
