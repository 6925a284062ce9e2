"""``achpipe keys|pgp|sftp`` through click's CliRunner (real files, real sshd)."""

from __future__ import annotations

import json
import stat

import pytest
from click.testing import CliRunner

from pipeline.cli import cli


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def keypairs(runner, tmp_path):
    for who in ("acme", "bank"):
        result = runner.invoke(
            cli,
            [
                "keys",
                "generate",
                "--name",
                who,
                "--email",
                f"{who}@x.test",
                "--out",
                str(tmp_path / who),
                "--json",
            ],
        )
        assert result.exit_code == 0, result.output
    return tmp_path


def test_keys_generate(runner, keypairs, tmp_path, monkeypatch):
    secret = keypairs / "acme.sec.asc"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert secret.read_bytes().startswith(b"-----BEGIN PGP PRIVATE KEY BLOCK-----")
    again = runner.invoke(
        cli, ["keys", "generate", "--name", "a", "--email", "a@x", "--out", str(keypairs / "acme")]
    )
    assert again.exit_code == 2 and "already exists" in again.stderr
    literal = runner.invoke(
        cli,
        [
            "keys",
            "generate",
            "--name",
            "a",
            "--email",
            "a@x",
            "--out",
            str(tmp_path / "p"),
            "--passphrase",
            "hunter2",
        ],
    )
    assert literal.exit_code == 2 and "env:NAME" in literal.stderr
    monkeypatch.setenv("TEST_KEY_PASS", "hunter2")
    protected = runner.invoke(
        cli,
        [
            "keys",
            "generate",
            "--name",
            "a",
            "--email",
            "a@x",
            "--out",
            str(tmp_path / "p"),
            "--passphrase",
            "env:TEST_KEY_PASS",
            "--json",
        ],
    )
    assert protected.exit_code == 0
    summary = json.loads(protected.stdout)
    assert summary["protected"] is True and len(summary["fingerprint"]) == 40
    assert "hunter2" not in protected.output


def test_pgp_seal_and_unseal_with_flags(runner, keypairs):
    plain = keypairs / "f.ach"
    plain.write_bytes(b"101 test file\n" * 100)
    sealed, out = keypairs / "f.ach.pgp", keypairs / "f.out"
    result = runner.invoke(
        cli,
        [
            "pgp",
            "seal",
            str(plain),
            str(sealed),
            "--signer",
            str(keypairs / "acme.sec.asc"),
            "--recipient",
            str(keypairs / "bank.pub.asc"),
            "--recipient",
            str(keypairs / "acme.pub.asc"),
            "--armor",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["self_test"] is True
    assert sealed.read_bytes().startswith(b"-----BEGIN PGP MESSAGE-----")
    result = runner.invoke(
        cli,
        [
            "pgp",
            "unseal",
            str(sealed),
            str(out),
            "--key",
            str(keypairs / "bank.sec.asc"),
            "--verify-with",
            str(keypairs / "acme.pub.asc"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == plain.read_bytes()
    assert json.loads(result.stdout)["signed_by"]

    wrong = runner.invoke(
        cli,
        [
            "pgp",
            "unseal",
            str(sealed),
            str(keypairs / "bad.out"),
            "--key",
            str(keypairs / "bank.sec.asc"),
            "--verify-with",
            str(keypairs / "bank.pub.asc"),
        ],
    )
    assert wrong.exit_code == 1 and "not by the expected key" in wrong.stderr
    assert not (keypairs / "bad.out").exists()  # quarantine: nothing written


def test_pgp_with_config(runner, keypairs):
    config = keypairs / "achpipe.toml"
    config.write_text(
        '[pgp]\nour_key = "acme.sec.asc"\nbank_key = "bank.pub.asc"\ncompression = "zlib"\n'
    )
    plain = keypairs / "f.ach"
    plain.write_bytes(b"101 config\n")
    result = runner.invoke(
        cli, ["pgp", "seal", str(plain), str(keypairs / "f.pgp"), "--config", str(config)]
    )
    assert result.exit_code == 0, result.output
    # the bank reads it with its key, verifying ours
    result = runner.invoke(
        cli,
        [
            "pgp",
            "unseal",
            str(keypairs / "f.pgp"),
            str(keypairs / "f.txt"),
            "--key",
            str(keypairs / "bank.sec.asc"),
            "--verify-with",
            str(keypairs / "acme.pub.asc"),
        ],
    )
    assert result.exit_code == 0 and (keypairs / "f.txt").read_bytes() == b"101 config\n"
    bad = keypairs / "bad.toml"
    bad.write_text('[pgp]\ncompression = "lzma"\n')
    result = runner.invoke(
        cli, ["pgp", "seal", str(plain), str(keypairs / "g.pgp"), "--config", str(bad)]
    )
    assert result.exit_code == 2 and "pgp.compression" in result.stderr


def _sftp_config(path, server, known_hosts=None):
    path.write_text(
        "[sftp]\n"
        f'host = "{server.host}"\nport = {server.port}\nusername = "{server.username}"\n'
        f'private_key = "{server.client_key}"\n'
        f'known_hosts = "{known_hosts or server.known_hosts}"\n'
        'upload_dir = "inbox"\ninbound_dir = "outbox"\nretries = 0\n'
    )
    return path


def test_sftp_check(runner, sshd, sshd_factory, tmp_path):
    (sshd.root / "outbox" / "ACK_1.json").write_text("{}")
    config = _sftp_config(tmp_path / "achpipe.toml", sshd)
    result = runner.invoke(cli, ["sftp", "check", "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["host_key"] == sshd.host_key_fingerprint
    assert report["upload_writable"] and report["inbound_files"] == ["ACK_1.json"]

    other = sshd_factory()
    wrong = tmp_path / "wrong_known_hosts"
    wrong.write_text(f"[127.0.0.1]:{sshd.port} {other.host_public_key}\n")
    config = _sftp_config(tmp_path / "wrong.toml", sshd, known_hosts=wrong)
    result = runner.invoke(cli, ["sftp", "check", "--config", str(config)])
    assert result.exit_code == 1
    assert sshd.host_key_fingerprint in result.stderr and "MISMATCH" in result.stderr


def test_sftp_check_needs_config(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ACHPIPE_CONFIG", raising=False)
    result = runner.invoke(cli, ["sftp", "check"])
    assert result.exit_code == 2 and "--config" in result.stderr


def test_unseal_output_is_private_and_never_replaced_without_force(runner, keypairs):
    plain = keypairs / "r.ach"
    plain.write_bytes(b"101 returns\n" * 1000)
    sealed = keypairs / "r.pgp"
    seal_args = ["--signer", str(keypairs / "acme.sec.asc")]
    seal_args += ["--recipient", str(keypairs / "bank.pub.asc")]
    result = runner.invoke(cli, ["pgp", "seal", str(plain), str(sealed), *seal_args])
    assert result.exit_code == 0, result.output
    out = keypairs / "out" / "r.ach"  # a missing directory is made
    args = ["--key", str(keypairs / "bank.sec.asc"), "--verify-with"]
    args.append(str(keypairs / "acme.pub.asc"))
    result = runner.invoke(cli, ["pgp", "unseal", str(sealed), str(out), *args, "--json"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == plain.read_bytes()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert json.loads(result.stdout)["bytes"] == plain.stat().st_size
    out.write_bytes(b"mine")
    again = runner.invoke(cli, ["pgp", "unseal", str(sealed), str(out), *args])
    assert again.exit_code == 2 and "already exists" in again.stderr
    assert out.read_bytes() == b"mine"
    forced = runner.invoke(cli, ["pgp", "unseal", str(sealed), str(out), *args, "--force"])
    assert forced.exit_code == 0, forced.output
    assert out.read_bytes() == plain.read_bytes()
    assert sorted(p.name for p in out.parent.iterdir()) == ["r.ach"]  # no temporary left
