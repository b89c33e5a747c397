"""Build hook: the wheel carries the files a project outside this repository needs.

Everything else is in setup.cfg. The templates, the Terraform module, the example environment, the
`init` scaffold and the CI recipes live once in git, at the paths this repository uses them from; the
build copies them into the wheel under orchestrator/data/shipped/, in the same layout, where
orchestrator/shipped.py finds them, and the sdist carries them at their own paths (so a wheel built
from it ships them too). In a source checkout (an editable install) shipped.py reads the repository
itself: there is no second copy to keep in step.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
# The repository paths the wheel ships (a missing one is skipped: recipes/ may not exist yet).
SHIPPED = ("templates", "terraform/modules/sekoia-sso", "envs/example-prod.yaml", "scaffold", "recipes")
# Never shipped: Terraform's working data and state left by a run of an example, hidden and cache files.
IGNORED = (".*", "*.tfstate", "*.tfstate.*", "*.tfplan", "__pycache__", "*.pyc")


def _ignored(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in IGNORED)


def shipped_files() -> Iterator[Path]:
    """Every shipped file, relative to the repository, in a stable order."""
    for relative in SHIPPED:
        source = ROOT / relative
        if source.is_file():
            yield Path(relative)
        for directory, subdirectories, names in os.walk(source):
            subdirectories[:] = sorted(d for d in subdirectories if not _ignored(d))
            for name in sorted(names):
                if not _ignored(name):
                    yield (Path(directory) / name).relative_to(ROOT)


class BuildWithShippedFiles(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return  # an editable install reads the repository itself
        destination = Path(self.build_lib) / "orchestrator" / "data" / "shipped"
        for relative in shipped_files():
            (destination / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / relative, destination / relative)


class SdistWithShippedFiles(sdist):
    def add_defaults(self) -> None:
        super().add_defaults()
        self.filelist.extend(relative.as_posix() for relative in shipped_files())


setup(cmdclass={"build_py": BuildWithShippedFiles, "sdist": SdistWithShippedFiles})
