"""``achpipe doctor`` against real components: all green, then each broken part named."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

from tests.e2e.harness import REPO, World


def _doctor(world: World) -> tuple[int, dict]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline.cli",
            "doctor",
            "--config",
            str(world.config_path),
            "--json",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return proc.returncode, json.loads(proc.stdout)


def test_doctor_all_green_then_names_what_is_wrong(make_world: Callable[..., World]) -> None:
    world = make_world(per_day=5)
    code, doc = _doctor(world)
    assert code == 0, doc
    checks = {f["check"] for f in doc["findings"]}
    assert checks == {"config", "database", "sftp", "pgp", "api"}
    assert any("writable" in f["message"] for f in doc["findings"] if f["check"] == "sftp")
    # break three things at once: each is reported, the others still pass
    world.sshd.stop()
    world.write_config(database_url="postgresql://postgres@127.0.0.1:1/x?connect_timeout=2")
    world.sandbox.sandbox.stop()
    code, doc = _doctor(world)
    assert code == 1
    bad = {f["check"] for f in doc["findings"] if not f["ok"]}
    assert bad == {"database", "sftp", "api"}, doc
    good = {f["check"] for f in doc["findings"] if f["ok"]}
    assert {"config", "pgp"} <= good
    text = json.dumps(doc)
    assert "127.0.0.1:1" in text and world.sandbox.password not in text
