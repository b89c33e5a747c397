"""Build hook: the wheel carries the files a project outside this repository needs.

Everything else is in setup.cfg. The templates, the Terraform module, the example environment, the
`init` scaffold and the CI recipes live once in git, at the paths this repository uses them from; the
build copies them into the wheel under orchestrator/data/shipped/, in the same layout, where
orchestrator/shipped.py finds them, and the sdist carries them at their own paths (so a wheel built
from it ships them too). In a source checkout (an editable install) shipped.py reads the repository
itself: there is no second copy to keep in step.
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
# What ships and what never does is said once, in orchestrator/shipped.py (loaded alone: no dependency needed).
_spec = importlib.util.spec_from_file_location("_sekoia_sso_shipped", ROOT / "orchestrator" / "shipped.py")
assert _spec and _spec.loader
shipped = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(shipped)


def shipped_files() -> Iterator[Path]:
    """Every shipped file, relative to the repository, in a stable order."""
    for relative in shipped.SHIPPED:
        yield from shipped.shipped_files(ROOT, relative)


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
