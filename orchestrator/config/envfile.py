"""Reading `envs/<env>.yaml`: the one loader every command uses, the early plan included.

Only a regular file is read, and at most MAX_ENVIRONMENT_BYTES of it: a FIFO would hang the reader,
`/dev/zero` would fill memory, a directory is not "missing". The kind and size are checked before
the file is opened, and again on the open file (it may have been swapped in between). Light on
purpose (no pydantic, no YAML): `workspace.EarlyPlan` reads the file before the config loads.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from orchestrator.errors import ConfigError, shorten

ENV_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
# An environment file is a few kB; the bound keeps a wrong file (a log, a dump) from being parsed for minutes.
MAX_ENVIRONMENT_BYTES = 1024 * 1024


def environment_names(project_dir: Path) -> list[str]:
    return sorted(p.stem for p in (project_dir / "envs").glob("*.yaml"))


def _kind(mode: int) -> str | None:
    """What a file that is not a regular file is, in words."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def environment_path(project_dir: Path, name: str) -> Path:
    if not ENV_NAME_RE.fullmatch(name):
        # Checked before the name becomes a path: "../x" or "/etc/x" must not reach the filesystem.
        raise ConfigError(f"environment name {shorten(name)} must be lowercase letters, digits, '-' or '_' (it "
                          "names envs/<name>.yaml)")
    return project_dir / "envs" / f"{name}.yaml"


def read_environment_file(project_dir: Path, name: str) -> tuple[Path, bytes]:
    """(the path relative to the project, the file's bytes); ConfigError saying what is wrong with it."""
    path = environment_path(project_dir, name)
    shown = path.relative_to(project_dir)
    what = f"{shown} must be a regular file of settings (see envs/example-prod.yaml)"
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise ConfigError(f"{shown} is a symbolic link to {shorten(os.readlink(path))}, which does not "
                              f"exist; {what}") from None
        import difflib

        known = environment_names(project_dir)
        close = difflib.get_close_matches(name, known, n=3)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise ConfigError(f"no environment {shorten(name)}: {shown} does not exist. Known environments: "
                          f"{', '.join(known) or '(none)'}.{hint}") from None
    except OSError as exc:
        raise ConfigError(f"{shown} cannot be read ({exc.strerror}); {what}") from None
    kind = _kind(info.st_mode)
    link = f" (a symbolic link to {shorten(os.readlink(path))})" if os.path.islink(path) else ""
    if kind:
        raise ConfigError(f"{shown}{link} is {kind}, not a file: {what}")
    if info.st_size > MAX_ENVIRONMENT_BYTES:
        raise ConfigError(_too_big(shown))
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise ConfigError(f"{shown} cannot be read ({exc.strerror}); {what}") from None
    try:
        kind = _kind(os.fstat(descriptor).st_mode)
        if kind:  # swapped between the stat and the open
            raise ConfigError(f"{shown}{link} is {kind}, not a file: {what}")
        chunks, size = [], 0
        while size <= MAX_ENVIRONMENT_BYTES:
            chunk = os.read(descriptor, MAX_ENVIRONMENT_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise ConfigError(f"{shown} cannot be read ({exc.strerror}); {what}") from None
    finally:
        os.close(descriptor)
    raw = b"".join(chunks)
    if len(raw) > MAX_ENVIRONMENT_BYTES:
        raise ConfigError(_too_big(shown))
    return shown, raw


def _too_big(shown: Path) -> str:
    return (f"{shown}: larger than {MAX_ENVIRONMENT_BYTES // 1024} kB; an environment file is a few kB of "
            "settings: is it the right file?")
