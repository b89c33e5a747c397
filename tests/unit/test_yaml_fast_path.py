"""libyaml's parser reads environment files as the pure-Python loader does: the same values, the same refusals."""

from __future__ import annotations

import pytest
import yaml

from orchestrator.config import loading
from orchestrator.config.values import MAX_YAML_DEPTH


def pure(text: str):
    try:
        return ("value", yaml.load(text, Loader=loading._EnvironmentLoader))  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        return ("refused", str(exc))


def fast_check(text: str):
    try:
        loading._refuse_aliases_and_depth(text)
        return ("value", yaml.load(text, Loader=loading._FastEnvironmentLoader))  # noqa: S506
    except yaml.YAMLError:
        return ("refused", None)


def nested(depth: int, *, flow: bool) -> str:
    """A document whose deepest node sits `depth` levels down (the top mapping is level 1)."""
    if flow:
        return "a: " + "[" * (depth - 2) + "x" + "]" * (depth - 2) + "\n"
    lines = [" " * (2 * level) + f"k{level}:" for level in range(depth - 1)]
    return "\n".join(lines) + " x\n"


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML without libyaml reads with the pure-Python loader")
@pytest.mark.parametrize("depth", range(MAX_YAML_DEPTH - 2, MAX_YAML_DEPTH + 3))
@pytest.mark.parametrize("flow", [True, False])
def test_the_depth_bound_is_the_same(depth, flow):
    text = nested(depth, flow=flow)
    assert pure(text)[0] == fast_check(text)[0] == ("value" if depth <= MAX_YAML_DEPTH else "refused")


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML without libyaml reads with the pure-Python loader")
@pytest.mark.parametrize("text", [
    "a: &x 1\nb: *x\n",
    "a: 1\na: 2\n",
    "a: [1, 2\n",
    "a: 1\n---\nb: 2\n",
    "? [a, b]\n: c\n",
    "a: !include x\n",
    "tenant_id: 8f0c\nsekoia:\n  domains: [contoso.example, 'b.example']\n  jit: yes\n  n: 0x1f\n  d: 2024-01-01\n",
    "a: ''\nb: ~\nc: 'it''s'\nd: \"\\u00e9\\t\"\n",
])
def test_values_and_refusals_are_the_same(text):
    expected = pure(text)
    got = fast_check(text)
    assert got[0] == expected[0]
    if expected[0] == "value":
        assert got == expected


def test_a_refused_file_gets_the_pure_loaders_words():
    with pytest.raises(yaml.YAMLError, match=r"YAML aliases \(\*x\) are not accepted"):
        loading._parse_yaml("a: &x 1\nb: *x\n")
