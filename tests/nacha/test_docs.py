"""Docs and docstring examples stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

from nacha import layouts
from tests.nacha.conftest import REPO

MODULES = ["nacha.checks", "nacha.codes", "nacha.masking", "nacha.options", "nacha.reader"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0 and result.attempted > 0


def test_generated_layout_docs_are_current() -> None:
    text = (REPO / "docs" / "nacha-layouts.md").read_text()
    assert text == layouts.HEADER + layouts.field_docs()
