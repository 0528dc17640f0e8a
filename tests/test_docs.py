"""The config reference documents every key of the config document (so the two cannot drift)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from medseg.config import Config

ROOT = Path(__file__).resolve().parents[1]


def test_every_config_key_is_in_the_config_reference() -> None:
    text = (ROOT / "docs" / "config-reference.md").read_text(encoding="utf-8")
    missing = []
    for section, field in Config.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            heading = f"## {section}"
            assert heading in text, heading
            part = text.split(heading, 1)[1].split("\n## ", 1)[0]
            missing += [f"{section}.{key}" for key in annotation.model_fields if f"| `{key}`" not in part]
        elif f"| `{section}`" not in text:
            missing.append(section)
    assert not missing, missing
