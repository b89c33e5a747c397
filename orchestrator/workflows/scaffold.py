"""`sekoia-sso init`: a team's infrastructure repository, from the files the tool ships.

What it writes (each from orchestrator/shipped.py's files):

    envs/example.yaml                the commented example environment (envs/example-prod.yaml here)
    terraform/modules/sekoia-sso/    the module, vendored (unless `vendor_module` is false)
    Makefile, .gitignore             the same targets as this project's, calling `sekoia-sso` on PATH
    recipes/                         the CI recipes, as shipped (none yet: nothing written)

Nothing is ever overwritten: every target is checked first, and when any exists the run stops naming
them, having written nothing. The files are written into a staging directory inside the target, then
renamed into place, so an interrupted init leaves either nothing or what it lists. A staging directory
is named after its process: one a killed init left behind (its process gone) is removed by the next init
into the same directory.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import RenderFileError, UsageError, shorten
from orchestrator.shipped import EXAMPLE_ENVIRONMENT, MODULE, RECIPES, SCAFFOLD, shipped_files, shipped_root

SHOWN_EXISTING = 10  # a long list of what exists is cut: the first ones say enough
STAGING_PREFIX = ".sekoia-sso-init-"  # then the process ID, a dash and mkdtemp's random part


@dataclass(frozen=True)
class Scaffolded:
    directory: Path
    created: tuple[Path, ...]  # relative to the directory, sorted

    def summary(self) -> list[str]:
        """One line per top-level thing created (a directory with its file count), in a stable order."""
        counts: dict[str, int] = {}
        for path in self.created:
            counts[_group(path)] = counts.get(_group(path), 0) + 1
        return [f"  {name}" + (f" ({count} files)" if name.endswith("/") else "") for name, count in counts.items()]


def _group(path: Path) -> str:
    """How a created file is shown: the module and the recipes as one directory each."""
    text = path.as_posix()
    for directory in (MODULE, RECIPES):
        if text.startswith(directory + "/"):
            return directory + "/"
    return text


def planned_files(vendor_module: bool = True) -> dict[Path, Path]:
    """Target path (relative to the new repository) → the shipped file it is copied from."""
    root = shipped_root()
    plan = {Path("envs/example.yaml"): root / EXAMPLE_ENVIRONMENT,
            Path("Makefile"): root / SCAFFOLD / "Makefile",
            Path(".gitignore"): root / SCAFFOLD / "gitignore"}
    if vendor_module:
        plan.update({relative: root / relative for relative in shipped_files(root, MODULE)})
    plan.update({relative: root / relative for relative in shipped_files(root, RECIPES)})
    return dict(sorted(plan.items()))


def _existing(directory: Path, targets: list[Path]) -> list[str]:
    """What is in the way: targets that exist, and files standing where a target needs a directory."""
    found: set[str] = set()
    for target in targets:
        for parent in reversed(target.parents[:-1]):
            if (directory / parent).exists() and not (directory / parent).is_dir():
                found.add(f"{parent.as_posix()} (a file where a directory is needed)")
        if os.path.lexists(directory / target):
            found.add(target.as_posix())
    return sorted(found)


def _shown(directory: Path) -> str:
    """The target for a message: whole (a long path is still one the user typed), control characters escaped."""
    return shorten(str(directory), limit=400)


def _check_directory(directory: Path) -> None:
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{_shown(directory)} is not a directory; name a directory (new or existing) to "
                         "start the repository in. Nothing was written")


def scaffold(directory: Path, *, vendor_module: bool = True) -> Scaffolded:
    """Write the new repository's files into `directory` (made if absent); UsageError if any exists."""
    _check_directory(directory)
    plan = planned_files(vendor_module)
    missing = [str(source) for source in plan.values() if not source.is_file()]
    if missing:
        raise RenderFileError(f"this installation of sekoia-sso lacks its shipped files ({shorten(missing[0])}); "
                              "reinstall it. Nothing was written")
    existing = _existing(directory, list(plan)) if directory.is_dir() else []
    if existing:
        shown = ", ".join(existing[:SHOWN_EXISTING]) + (f" and {len(existing) - SHOWN_EXISTING} more"
                                                       if len(existing) > SHOWN_EXISTING else "")
        raise UsageError(f"{_shown(directory)} already has {shown}; init never overwrites a file: start in a "
                         "new or empty directory, or move these away. Nothing was written")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        staging = Path(_make_staging(directory))
    except OSError as exc:
        raise RenderFileError(f"{_shown(directory)}: cannot be written ({exc.strerror}); nothing was "
                              "written") from None
    try:
        for target, source in plan.items():
            (staging / target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, staging / target)
        moved: list[Path] = []
        try:
            _move_into_place(staging, directory, moved)
        except BaseException:  # a failure or Ctrl-C halfway: what was moved is taken back
            _take_back(moved)
            raise
    except OSError as exc:
        raise RenderFileError(f"{_shown(directory)}: cannot be written ({exc.strerror}); nothing was "
                              "written") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Scaffolded(directory=directory, created=tuple(plan))


def _make_staging(directory: Path) -> str:
    import tempfile

    _remove_stale_staging(directory)
    return tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=directory)


def _remove_stale_staging(directory: Path) -> None:
    """The staging directories of killed inits (SIGKILL, a lost runner) into `directory`: those whose process
    is gone. One of a running init is left alone, as is anything not named as ours."""
    for entry in directory.glob(f"{STAGING_PREFIX}*-*"):
        pid = entry.name.removeprefix(STAGING_PREFIX).split("-", 1)[0]
        if pid.isdigit() and entry.is_dir() and not entry.is_symlink() and not _process_alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):  # another user's process, or no PID at all: not ours to judge
        return True
    return True


def _move_into_place(staging: Path, directory: Path, moved: list[Path]) -> None:
    """Rename each staged entry into place: a whole directory when the target has none, else its entries.
    `moved` collects what was renamed, so that a failure can take it back."""
    for entry in sorted(staging.iterdir()):
        target = directory / entry.name
        if entry.is_dir() and target.is_dir():
            _move_into_place(entry, target, moved)
        elif os.path.lexists(target):  # appeared since the check: never replace it
            raise FileExistsError(17, "a file appeared while init ran", str(target))
        else:
            os.rename(entry, target)
            moved.append(target)


def _take_back(moved: list[Path]) -> None:
    for path in reversed(moved):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
