"""The layout's own rules (README, "Layout"), checked so that they hold after the next change too.

Each room stays small enough to read in one sitting, a package's __init__ loads nothing (so that
`sekoia-sso --help` and the early plan import only what they use), and `--help` loads none of the
heavy libraries.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("orchestrator", "sandbox")
MAX_FILE_LINES = 600
MAX_FUNCTION_LINES = 80


def _sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def test_no_file_is_longer_than_the_limit():
    lengths = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in _sources()}
    long_files = {name: n for name, n in lengths.items() if n > MAX_FILE_LINES}
    assert long_files == {}


def test_no_function_is_longer_than_the_limit():
    long_functions = {}
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long_functions[f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"] = length
    assert long_functions == {}


@pytest.mark.parametrize("init", sorted(str(p.relative_to(ROOT)) for p in (ROOT / "orchestrator").rglob("__init__.py")
                                        if p.parent != ROOT / "orchestrator"))
def test_a_package_init_imports_nothing_and_says_what_lives_where(init):
    tree = ast.parse((ROOT / init).read_text())
    assert not [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]
    docstring = ast.get_docstring(tree) or ""
    modules = sorted(p.name for p in (ROOT / init).parent.iterdir()
                     if (p.suffix == ".py" and p.name != "__init__.py") or (p / "__init__.py").exists())
    assert [m for m in modules if m.removesuffix(".py") not in docstring] == []


def test_help_loads_none_of_the_heavy_libraries():
    heavy = ("httpx", "jinja2", "azure.identity", "python_terraform", "pydantic", "msgspec", "yaml")
    probe = ("import sys; from click.testing import CliRunner; from orchestrator.cli import cli; "
             "result = CliRunner().invoke(cli, ['--help']); assert result.exit_code == 0, result.output; "
             f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert loaded.stdout.strip() == ""
