"""The public surface of pipeline.actions is a reviewed list (httpx habit)."""

from __future__ import annotations

import types

import nacha.corrections
import pipeline.actions


def test_all_is_exactly_the_public_names():
    public = {
        n
        for n, v in vars(pipeline.actions).items()
        if not n.startswith("_") and n != "annotations" and not isinstance(v, types.ModuleType)
    }
    assert set(pipeline.actions.__all__) == public
    assert len(pipeline.actions.__all__) == len(set(pipeline.actions.__all__))


def test_every_exported_name_exists():
    for module in (pipeline.actions, nacha.corrections):
        for name in module.__all__:
            assert hasattr(module, name), name
