"""Loading achpipe.toml: precedence, environment overrides, validation, redaction, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import (
    apply_env_overrides,
    load_config,
    parse_config,
    redact_url,
    redacted,
    to_toml,
)
from pipeline.errors import ConfigError

SAMPLE = """
[reports]
title = "Nightly"
odfi_routing = "09100001"
archive = true

[sftp]
host = "127.0.0.1"
port = 22
username = "achpipe"
known_hosts = "/etc/ssh/ssh_known_hosts"
password = "hunter2-literal"
private_key_passphrase = "env:ACHPIPE_TEST_PASSPHRASE"
inbound_patterns = ["*.ach", "*.pgp"]

[api]
base_url = "https://user:pa55@api.example.test/v1"
client_secret = "file:/nonexistent/secret"

[run]
break_threshold = 0
"""


@pytest.fixture
def cfg_file(tmp_path: Path) -> Path:
    path = tmp_path / "achpipe.toml"
    path.write_text(SAMPLE)
    return path


def test_env_overrides_keep_file_types_and_leading_zeros(cfg_file: Path) -> None:
    cfg_file.write_text(SAMPLE.split("[api]")[0] + "[run]\nbreak_threshold = 0\n")
    env = {
        "ACHPIPE_SFTP_PORT": "2222",
        "ACHPIPE_REPORTS_ARCHIVE": "no",
        "ACHPIPE_SFTP_INBOUND_PATTERNS": "RET*.ach, NOC*.ach",
        "ACHPIPE_REPORTS_ODFI_ROUTING": "011000015",
        "ACHPIPE_SFTP_UPLOAD_DIR": "/inbound",
        "ACHPIPE_UNRELATED": "x",
        "DATABASE_URL": "postgresql://u:secretpw@db/achpipe",
    }
    cfg = load_config(cfg_file, env=env)
    sftp = cfg.section("sftp")
    assert sftp["port"] == 2222
    assert cfg.section("reports")["archive"] is False
    assert sftp["inbound_patterns"] == ["RET*.ach", "NOC*.ach"]
    assert sftp["upload_dir"] == "/inbound"
    assert cfg.section("reports")["odfi_routing"] == "011000015"
    assert cfg.database_url == "postgresql://u:secretpw@db/achpipe"
    assert set(cfg.overrides) == {
        "sftp.port",
        "reports.archive",
        "sftp.inbound_patterns",
        "sftp.upload_dir",
        "reports.odfi_routing",
        "database.url",
    }


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ACHPIPE_SFTP_PORT", "twenty", "integer"),
        ("ACHPIPE_REPORTS_ARCHIVE", "maybe", "true or false"),
    ],
)
def test_bad_override_names_the_variable(
    cfg_file: Path, name: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=f"{name}.*{message}"):
        load_config(cfg_file, env={name: value})


def test_precedence_flag_then_env_then_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text('[run]\njob = "a"\n')
    b.write_text('[run]\njob = "b"\n')
    (tmp_path / "achpipe.toml").write_text('[run]\njob = "cwd"\n')
    monkeypatch.chdir(tmp_path)
    assert load_config(a, env={"ACHPIPE_CONFIG": str(b)}).typed("run").job == "a"
    assert load_config(None, env={"ACHPIPE_CONFIG": str(b)}).typed("run").job == "b"
    assert load_config(None, env={}).typed("run").job == "cwd"
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(None, env={"ACHPIPE_CONFIG": str(tmp_path / "missing.toml")})


def test_relative_data_dir_is_relative_to_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "etc" / "achpipe.toml"
    path.parent.mkdir()
    path.write_text('[paths]\ndata_dir = "var"\n')
    cfg = load_config(path, env={})
    assert cfg.paths.data_dir == tmp_path / "etc" / "var"
    assert cfg.paths.reports_root == tmp_path / "etc" / "var" / "reports"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"stfp": {}}, r"unknown section \[stfp\]"),
        ({"run": {"break_threshold": -1}}, "break_threshold"),
        ({"run": {"transfers_source": "file"}}, "needs transfers_file"),
        ({"run": {"bogus": 1}}, "unknown setting 'bogus'"),
        ({"logging": {"format": "xml"}}, "format must be one of"),
        ({"paths": {"data_dir": 3}}, "paths.data_dir"),
    ],
)
def test_validation_names_the_key(doc: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(doc, env={})


def test_collect_mode_reports_every_problem_at_once() -> None:
    errors: list[ConfigError] = []
    parse_config(
        {"run": {"break_threshold": -1}, "logging": {"level": "loud"}, "nope": {}},
        env={},
        collect=errors,
    )
    assert len(errors) == 3


def test_redaction_hides_literals_keeps_references_and_masks_url_passwords() -> None:
    doc = redacted(
        {
            "sftp": {"password": "hunter2", "private_key_passphrase": "env:PP", "host": "h"},
            "api": {"client_secret": "file:/run/secret", "base_url": "https://u:pw@h/x"},
            "security": {"account_key": "0123456789abcdef"},
            "database": {"url": "postgresql://achpipe:s3cr3t@db:5432/achpipe"},
            "companies": [{"settlement_account": "000111222333", "company_id": "1234567890"}],
        }
    )
    assert doc["companies"][0]["settlement_account"].endswith("2333")
    assert "000111222333" not in str(doc) and doc["companies"][0]["company_id"] == "1234567890"
    assert doc["sftp"] == {"password": "***", "private_key_passphrase": "env:PP", "host": "h"}
    assert doc["api"] == {"client_secret": "file:/run/secret", "base_url": "https://u:***@h/x"}
    assert doc["security"]["account_key"] == "***"
    assert doc["database"]["url"] == "postgresql://achpipe:***@db:5432/achpipe"
    assert redact_url("postgresql+psycopg://postgres:@/postgres?host=/tmp") == (
        "postgresql+psycopg://postgres:@/postgres?host=/tmp"
    )


def test_to_toml_round_trips() -> None:
    import tomllib

    doc = {
        "a": {"s": 'q"uote', "n": 3, "f": 1.5, "b": True, "l": ["x", "y"], "sub": {"k": "v"}},
        "companies": [{"client_code": "ABC", "company_id": "1234567890"}, {"client_code": "D"}],
    }
    assert tomllib.loads(to_toml(doc)) == doc


def test_apply_env_overrides_ignores_companies_and_config_var() -> None:
    merged, applied = apply_env_overrides(
        {}, {"ACHPIPE_CONFIG": "/x", "ACHPIPE_COMPANIES_X": "1", "ACHPIPE_API_BASE_URL": "u"}
    )
    assert merged == {"api": {"base_url": "u"}} and applied == ("api.base_url",)


# --- CLI ---------------------------------------------------------------------------------


def test_config_show_redacts_every_secret(cfg_file: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["config", "show", "--config", str(cfg_file)],
        env={"ACHPIPE_SFTP_PASSWORD": "from-env-pw", "DATABASE_URL": "postgresql://a:dbpw@h/d"},
    )
    assert result.exit_code == 0, result.output
    for secret in ("hunter2", "from-env-pw", "dbpw", "pa55"):
        assert secret not in result.output
    assert "env:ACHPIPE_TEST_PASSPHRASE" in result.output
    assert "sftp.password" in result.output  # the override is listed by name
    shown = json.loads(
        CliRunner().invoke(cli, ["config", "show", "--json", "--config", str(cfg_file)]).stdout
    )
    assert shown["sftp"]["password"] == "***"


def test_config_check_lists_unresolvable_secrets_and_exits_2(cfg_file: Path) -> None:
    result = CliRunner().invoke(cli, ["config", "check", "--config", str(cfg_file)], env={})
    assert result.exit_code == 2
    assert "ACHPIPE_TEST_PASSPHRASE is not set" in result.stderr
    assert "/nonexistent/secret" in result.stderr
    assert "hunter2" not in result.output


def test_config_check_ok(tmp_path: Path) -> None:
    path = tmp_path / "achpipe.toml"
    path.write_text(
        '[sftp]\nhost = "h"\nusername = "u"\npassword = "env:PW"\n'
        'host_key_fingerprint = "SHA256:' + "A" * 43 + '"\n'
    )
    result = CliRunner().invoke(
        cli, ["--config", str(path), "config", "check", "--json"], env={"PW": "x"}
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ok"] is True


def test_config_check_bad_toml_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "achpipe.toml"
    path.write_text("[sftp\nhost=")
    result = CliRunner().invoke(cli, ["config", "check", "--config", str(path)])
    assert result.exit_code == 2
    assert "not valid TOML" in result.stderr


def test_env_reference_named_like_an_override_is_not_an_override(tmp_path: Path) -> None:
    path = tmp_path / "achpipe.toml"
    path.write_text('[reports]\npassphrase_ref = "env:ACHPIPE_REPORTS_SECRET"\n')
    cfg = load_config(path, env={"ACHPIPE_REPORTS_SECRET": "s3cret", "ACHPIPE_REPORTS_X": "1"})
    assert cfg.section("reports") == {"passphrase_ref": "env:ACHPIPE_REPORTS_SECRET", "x": "1"}
    assert cfg.overrides == ("reports.x",)
