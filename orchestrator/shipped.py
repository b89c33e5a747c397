"""Where the files the tool ships are: the templates, the Terraform module, the example environment,
the `init` scaffold and the CI recipes.

An installed wheel carries them under orchestrator/data/shipped/ (setup.py copies them there at build
time, in the repository's own layout, with `shipped_files`); a source checkout (an editable install,
`python -m orchestrator` in a clone) reads them from the repository, where they live once in git. Both
give the same relative paths, so callers never ask which one they got.

setup.py loads this file by its path: it imports nothing from the package.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

TEMPLATES = "templates"
MODULE = "terraform/modules/sekoia-sso"
EXAMPLE_ENVIRONMENT = "envs/example-prod.yaml"
SCAFFOLD = "scaffold"
RECIPES = "recipes"
# What the wheel carries, relative to the repository (a missing one is skipped: recipes/ may not exist yet).
SHIPPED = (TEMPLATES, MODULE, EXAMPLE_ENVIRONMENT, SCAFFOLD, RECIPES)
# Never shipped nor copied: Terraform's working data and state left by a run of an example, caches.
IGNORED = (".terraform", ".terraform.*", "*.tfstate", "*.tfstate.*", "*.tfplan", "__pycache__", "*.pyc", ".git",
           ".DS_Store", "*~", ".*.swp")


def shipped_root() -> Path:
    """The directory the shipped paths are relative to."""
    package = Path(str(resources.files("orchestrator")))
    packaged = package / "data" / "shipped"
    return packaged if packaged.is_dir() else package.parent


def shipped(relative: str) -> Path:
    """One shipped path (it may not exist: the recipes directory is optional)."""
    return shipped_root() / relative


def _ignored(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in IGNORED)


def shipped_files(root: Path, relative: str) -> Iterator[Path]:
    """The files of `root`/`relative` (a file or a directory) worth shipping, relative to `root`, sorted."""
    source = root / relative
    if source.is_file():
        yield Path(relative)
        return
    for directory, subdirectories, names in os.walk(source):
        subdirectories[:] = sorted(d for d in subdirectories if not _ignored(d))
        for name in sorted(names):
            if not _ignored(name):
                yield (Path(directory) / name).relative_to(root)
