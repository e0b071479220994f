"""What every run configuration shares: checks with one clear message, and named settings with overrides."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

Config = TypeVar("Config")


class SettingError(ValueError):
    """A setting a person chose is out of range or unknown; the message says which and what is allowed."""


def require_positive(config: Any, *names: str) -> None:
    """Raise SettingError naming the first field among `names` that is below 1."""
    for name in names:
        if getattr(config, name) < 1:
            raise SettingError(f"{name} must be at least 1, got {getattr(config, name)}")


def named_setting(
    settings: Mapping[str, Mapping[str, Any]],
    config_type: type[Config],
    label: str,
    name: str,
    overrides: Mapping[str, Any],
) -> Config:
    """`config_type` built from the setting `name`, with `overrides` (each a field of the config) on top."""
    if name not in settings:
        raise SettingError(f"unknown {label} setting {name!r}; choose one of {', '.join(settings)}")
    unknown = set(overrides) - {field.name for field in dataclasses.fields(config_type)}
    if unknown:
        raise SettingError(f"unknown {label} field(s) {sorted(unknown)}")
    return config_type(**{**settings[name], **overrides})
