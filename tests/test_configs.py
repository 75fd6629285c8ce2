"""The training configs under configs/: every file the README's commands name loads
as a valid config, and every ablation plan's variants are valid overrides of its base."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from ner.config import load_config

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.toml")), ids=lambda p: p.name)
def test_each_training_config_loads(path: Path) -> None:
    lang = path.name.split("-")[0].removesuffix(".toml")
    config = load_config(lang, path)
    assert config.features.lang == lang


@pytest.mark.parametrize("path", sorted((CONFIGS / "ablations").glob("*.toml")), ids=lambda p: p.name)
def test_each_ablation_starts_from_a_config_that_loads(path: Path) -> None:
    plan = tomllib.loads(path.read_text(encoding="utf-8"))
    base = CONFIGS.parent / plan["base"] if "base" in plan else None  # without one: ner train's own defaults
    for overrides in plan["variants"].values():
        load_config(plan["lang"], base, [*plan.get("protocol", []), *overrides])
