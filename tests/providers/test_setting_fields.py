"""Every setting an adapter accepts is declared for the owner's form, and nothing more."""

from __future__ import annotations

import importlib

import pytest

from widget_server import providers


@pytest.mark.parametrize("path", providers.ADAPTERS)
def test_declared_settings_are_the_accepted_ones(path: str) -> None:
    cls = providers.provider_class(path.split(".")[0])
    module = importlib.import_module(cls.__module__)
    accepted = getattr(module, "KNOWN_SETTINGS", None) or module.SETTINGS
    assert {field.name for field in cls.setting_fields} == set(accepted)
