"""Edit envs/<env>.yaml in place, keeping the user's comments, order and layout.

Only `rotate` writes to an environment file: it moves `secret.slots` / `secret.active_slot`
through a zero-downtime rotation and tells the user to commit the result.
"""

from __future__ import annotations

from pathlib import Path


def set_secret_slots(path: Path, slots: list[str], active: str) -> None:
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    yaml = YAML()  # round-trip mode
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)  # the style of the committed examples
    data = yaml.load(path.read_text(encoding="utf-8"))
    secret = data.get("secret")
    if secret is None:
        secret = CommentedMap()
        data["secret"] = secret
    sequence = CommentedSeq(slots)
    sequence.fa.set_flow_style()
    secret["slots"] = sequence
    if len(slots) > 1:
        secret["active_slot"] = active
    elif "active_slot" in secret:
        del secret["active_slot"]
    temporary = path.with_suffix(path.suffix + ".tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        yaml.dump(data, handle)
    temporary.replace(path)  # atomic: a crash leaves the old file or the new one, never half of it
