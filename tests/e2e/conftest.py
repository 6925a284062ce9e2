"""Fixtures of the end-to-end tests: a :class:`World` per test."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import World


@pytest.fixture
def make_world(
    pg_database: Callable[..., str],
    sshd_factory: Callable[..., Any],
    make_sandbox: Callable[..., Any],
) -> Iterator[Callable[..., World]]:
    """``make_world(per_day=40)``: fresh database, sshd, sandbox bank on sshd's tree."""
    from sandbox import Scenario

    bases: list[Path] = []

    def make(*, per_day: int = 40, seed: int = 7, scenario: Any = None) -> World:
        base = Path(tempfile.mkdtemp(prefix="achpipe-e2e-"))
        bases.append(base)
        sshd = sshd_factory()
        odfi = base / "odfi"
        odfi.mkdir()
        (odfi / "sftp").symlink_to(sshd.root)
        sandbox = make_sandbox(scenario=scenario or Scenario.demo(seed=seed), odfi_dir=odfi)
        return World(
            base=base / "work",
            pg_url=pg_database(migrated=True),
            sshd=sshd,
            sandbox=sandbox,
            per_day=per_day,
            seed=seed,
        )

    yield make
    import shutil

    for base in bases:
        shutil.rmtree(base, ignore_errors=True)
