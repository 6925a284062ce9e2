"""``achpipe sandbox serve`` as a user runs it: a real process, real ports, Ctrl-C stops it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from click.testing import CliRunner

from pipeline.cli import cli

REPO = Path(__file__).resolve().parents[2]


def test_serve_prints_connection_info_and_answers(tmp_path):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipeline.cli",
            "sandbox",
            "serve",
            "--port",
            "0",
            "--sftp-port",
            "0",
            "--dir",
            str(tmp_path / "data"),
            "--json",
            "--frozen",
            "--seed",
            "5",
            "--start",
            "2026-03-02T08:00:00-0600",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        api = info["api"]
        assert "client_secret" not in api  # shown as a file reference, never in clear
        assert api["client_secret_ref"].startswith("file:")
        secret = Path(api["client_secret_ref"][5:]).read_text().strip()
        r = httpx.post(
            api["base_url"] + "/auth/get-token",
            json={"user": {"login": api["client_id"], "password": secret}},
            timeout=10,
        )
        assert r.json()["code"] == "0"
        assert info["clock"]["now"] == "2026-03-02T14:00:00+00:00"
        assert info["scenario"]["seed"] == 5
        assert Path(info["sftp"]["private_key"]).exists()
        assert (
            Path(info["odfi"]["bank_public_key"])
            .read_text()
            .startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
        )
        assert info["odfi"]["upload_dir"] == "/inbound"
        assert info["sftp"]["host_key_fingerprint"].startswith("SHA256:")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
    assert proc.returncode == 0, err.decode()
    assert b"stopping sandbox" in err


def test_bad_scenario_is_a_usage_error(tmp_path):
    bad = tmp_path / "s.toml"
    bad.write_text('returns = [{code = "X01", rate = 0.1}]\n')
    result = CliRunner().invoke(
        cli, ["sandbox", "serve", "--scenario", str(bad), "--dir", str(tmp_path / "d")]
    )
    assert result.exit_code == 2
    assert "scenario.returns[0].code" in result.stderr
