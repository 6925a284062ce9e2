"""``achpipe keys generate``, ``achpipe pgp seal|unseal``, ``achpipe sftp check``.

Operator tools around :mod:`pipeline.pgp`, :mod:`pipeline.keys` and :mod:`pipeline.sftp`.
Keys come from ``[pgp]`` in ``achpipe.toml`` (``--config`` or ``ACHPIPE_CONFIG``) and can be
overridden per call with ``--signer``, ``--recipient``, ``--key`` and ``--verify-with``, each
a key file path or an ``env:``/``file:`` reference. Output files are written atomically and
never replace an existing file; an unseal that fails writes nothing (quarantine, not parse).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from pipeline.errors import ConfigError

__all__ = ["keys", "pgp", "sftp"]

_FILE_KEYS = {"our_key", "bank_key", "archive_key", "private_key", "known_hosts"}


def _section(
    ctx: click.Context, config_path: Path | None, name: str, *, required: bool
) -> dict[str, Any]:
    """One table of the configuration (loaded once, env overrides applied by
    :mod:`pipeline.config`); relative key and known_hosts paths resolve next to the file."""
    from pipeline.commands._options import get_config

    config = get_config(ctx, config_path)
    table = dict(config.section(name))
    if required and not table:
        where = config.source or "achpipe.toml (none found: pass --config or set ACHPIPE_CONFIG)"
        raise ConfigError(f"[{name}] is not configured in {where}")
    base = config.base_dir
    for key in _FILE_KEYS & table.keys():
        value = table[key]
        if isinstance(value, str) and not value.startswith(("env:", "file:")) and base:
            path = Path(value).expanduser()
            if not path.is_absolute():
                table[key] = str(Path(base) / path)
    return table


def _write_new(path: Path, data: bytes, *, mode: int = 0o644, force: bool = False) -> None:
    """Write ``path`` via a temporary file; refuse to replace it unless ``force``."""
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists (use --force to replace it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="achpipe.toml (default: achpipe --config, $ACHPIPE_CONFIG, then ./achpipe.toml).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")


# ------------------------------------------------------------------------------- keys


@click.group("keys")
def keys() -> None:
    """OpenPGP key pairs for the originator."""


@keys.command("generate")
@click.option("--name", required=True, help="User id name, e.g. the originator's legal name.")
@click.option("--email", required=True, help="User id e-mail.")
@click.option(
    "--algorithm",
    type=click.Choice(["ed25519", "rsa3072", "rsa4096"]),
    default="ed25519",
    show_default=True,
    help="ed25519 = Ed25519 signing key + Cv25519 encryption subkey.",
)
@click.option(
    "--passphrase",
    "passphrase_ref",
    default=None,
    help="Protect the secret key: env:NAME or file:/path (never the passphrase itself).",
)
@click.option(
    "--out",
    "out_prefix",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Writes PREFIX.sec.asc (mode 0600) and PREFIX.pub.asc.",
)
@click.option("--force", is_flag=True, help="Replace existing key files.")
@json_option
def generate(
    name: str,
    email: str,
    algorithm: str,
    passphrase_ref: str | None,
    out_prefix: Path,
    force: bool,
    as_json: bool,
) -> None:
    """Create a key pair for a new originator; give the .pub.asc file to the bank."""
    from pipeline.keys import export_key, generate_key
    from pipeline.secrets import resolve_secret

    if passphrase_ref is not None and not passphrase_ref.startswith(("env:", "file:")):
        raise ConfigError("--passphrase: give env:NAME or file:/path, not the passphrase itself")
    passphrase = (
        resolve_secret(passphrase_ref, setting="--passphrase").reveal() if passphrase_ref else None
    )
    key = generate_key(name, email, algorithm=algorithm, passphrase=passphrase)
    secret_path = out_prefix.with_name(out_prefix.name + ".sec.asc")
    public_path = out_prefix.with_name(out_prefix.name + ".pub.asc")
    for path in (secret_path, public_path):
        if path.exists() and not force:
            raise ConfigError(f"{path} already exists (use --force to replace it)")
    _write_new(secret_path, export_key(key, secret=True), mode=0o600, force=force)
    _write_new(public_path, export_key(key), force=force)
    summary = {
        "fingerprint": key.fingerprint,
        "user_id": key.user_id,
        "algorithm": algorithm,
        "protected": bool(passphrase),
        "secret_key": str(secret_path),
        "public_key": str(public_path),
    }
    if as_json:
        click.echo(json.dumps(summary))
        return
    click.echo(f"fingerprint {key.fingerprint}  {key.user_id}")
    click.echo(f"secret key  {secret_path} (keep private; mode 0600)")
    click.echo(f"public key  {public_path} (send to the bank)")
    if not passphrase:
        click.echo("note: the secret key has no passphrase (use --passphrase env:NAME)", err=True)


# -------------------------------------------------------------------------------- pgp


@click.group("pgp")
def pgp() -> None:
    """Seal (sign+encrypt) and unseal (decrypt+verify) files by hand."""


@pgp.command("seal")
@click.argument("infile", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("outfile", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--recipient", "recipients", multiple=True, help="Public key (repeatable).")
@click.option("--signer", default=None, help="Secret key that signs (default: pgp.our_key).")
@click.option("--signer-passphrase", default=None, help="env:NAME or file:/path.")
@click.option("--armor/--binary", "armored", default=None, help="Default: pgp.armor.")
@click.option(
    "--compression",
    type=click.Choice(["none", "zip", "zlib", "bzip2"]),
    default=None,
    help="Default: pgp.compression (zip).",
)
@click.option("--force", is_flag=True, help="Replace OUTFILE if it exists.")
@config_option
@json_option
@click.pass_context
def seal_command(
    ctx: click.Context,
    infile: Path,
    outfile: Path,
    recipients: tuple[str, ...],
    signer: str | None,
    signer_passphrase: str | None,
    armored: bool | None,
    compression: str | None,
    force: bool,
    config_path: Path | None,
    as_json: bool,
) -> None:
    """Sign INFILE with our key and encrypt it to the bank and archive keys into OUTFILE."""
    from pipeline.keys import load_key
    from pipeline.pgp import seal
    from pipeline.pgp_settings import PgpSettings

    settings = PgpSettings.from_mapping(_section(ctx, config_path, "pgp", required=False))
    signer_ref = signer or settings.our_key
    if not signer_ref:
        raise ConfigError("--signer: no signing key (set pgp.our_key or pass --signer)")
    passphrase = signer_passphrase if signer else settings.our_key_passphrase
    signing_key = load_key(signer_ref, passphrase=passphrase, setting="signer", require_secret=True)
    archive = None
    if recipients:
        to = [load_key(r, setting="--recipient").public for r in recipients]
    else:
        if not settings.bank_key:
            raise ConfigError("--recipient: no recipient (set pgp.bank_key or pass --recipient)")
        keyring = settings.load_keys()
        archive = keyring.archive
        to = [keyring.bank, keyring.archive.public]
    if archive is None and any(signing_key.key_ids & r.key_ids for r in to):
        archive = signing_key  # we can read our own copy: self-test with the signer's key
    data = seal(
        infile.read_bytes(),
        signer=signing_key,
        recipients=to,
        self_test_key=archive,
        armored=settings.armor if armored is None else armored,
        compression=compression or settings.compression,
        filename=infile.name,
    )
    _write_new(outfile, data, force=force)
    summary = {
        "input": str(infile),
        "output": str(outfile),
        "bytes": len(data),
        "signer": signing_key.fingerprint,
        "recipients": [r.fingerprint for r in to],
        "self_test": archive is not None,
    }
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(
            f"sealed {infile} -> {outfile} ({len(data)} bytes), signed by {signing_key.fingerprint}"
        )
        if archive is None:
            click.echo("warning: no secret recipient key given: self-test skipped", err=True)


@pgp.command("unseal")
@click.argument("infile", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("outfile", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--key", default=None, help="Secret key that decrypts (default: pgp.our_key).")
@click.option("--key-passphrase", default=None, help="env:NAME or file:/path.")
@click.option("--verify-with", "verify_with", multiple=True, help="Signer's public key.")
@click.option("--allow-unsigned", is_flag=True, help="Accept a message without signature.")
@click.option("--allow-plain", is_flag=True, help="Accept data that is not encrypted.")
@click.option("--force", is_flag=True, help="Replace OUTFILE if it exists.")
@config_option
@json_option
@click.pass_context
def unseal_command(
    ctx: click.Context,
    infile: Path,
    outfile: Path,
    key: str | None,
    key_passphrase: str | None,
    verify_with: tuple[str, ...],
    allow_unsigned: bool,
    allow_plain: bool,
    force: bool,
    config_path: Path | None,
    as_json: bool,
) -> None:
    """Decrypt INFILE and verify the bank's signature; write the plaintext to OUTFILE.

    A tampered, wrongly signed or unsigned file exits 1 and writes nothing.
    """
    from pipeline.keys import load_key
    from pipeline.pgp import unseal_file
    from pipeline.pgp_settings import PgpSettings

    settings = PgpSettings.from_mapping(_section(ctx, config_path, "pgp", required=False))
    key_ref = key or settings.our_key
    decrypt_key = None
    if key_ref:
        passphrase = key_passphrase if key else settings.our_key_passphrase
        decrypt_key = load_key(key_ref, passphrase=passphrase, setting="key", require_secret=True)
    refs = list(verify_with) or ([settings.bank_key] if settings.bank_key else [])
    verifiers = [load_key(r, setting="--verify-with").public for r in refs]
    require_signature = settings.require_signature and not allow_unsigned
    if require_signature and not verifiers:
        raise ConfigError("--verify-with: no signer key (set pgp.bank_key or pass --verify-with)")
    if outfile.exists() and not force:
        raise ConfigError(f"{outfile} already exists (use --force to replace it)")
    outfile.parent.mkdir(parents=True, exist_ok=True)
    # file to file: the input mapped, the plaintext (mode 0600) renamed into place only once
    # verified, neither held in memory
    result = unseal_file(
        infile,
        outfile,
        key=decrypt_key,
        verify_with=verifiers,
        require_signature=require_signature,
        require_encryption=settings.require_encryption and not allow_plain,
        replace=True,
        fsync=True,
    )
    summary = {
        "input": str(infile),
        "output": str(outfile),
        "bytes": result.size,
        "sha256": result.sha256,
        "signed_by": result.signed_by,
        "encrypted": result.was_encrypted,
        "armored": result.was_armored,
    }
    if as_json:
        click.echo(json.dumps(summary))
    else:
        signed = f"signed by {result.signed_by}" if result.signed_by else "UNSIGNED"
        click.echo(f"unsealed {infile} -> {outfile} ({result.size} bytes), {signed}")


# ------------------------------------------------------------------------------- sftp


@click.group("sftp")
def sftp() -> None:
    """The bank's SFTP endpoint."""


@sftp.command("check")
@config_option
@json_option
@click.pass_context
def check(ctx: click.Context, config_path: Path | None, as_json: bool) -> None:
    """Connect, verify the pinned host key, probe the upload dir, list the inbound dir."""
    from pipeline.sftp import SftpClient
    from pipeline.sftp_settings import SftpSettings

    settings = SftpSettings.from_mapping(_section(ctx, config_path, "sftp", required=True))
    with SftpClient(settings) as client:
        report = client.check()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "endpoint": report.endpoint,
                    "host_key": report.host_key,
                    "upload_dir": report.upload_dir,
                    "upload_writable": report.upload_writable,
                    "inbound_dir": report.inbound_dir,
                    "inbound_files": list(report.inbound_files),
                }
            )
        )
        return
    click.echo(f"connected   {report.endpoint}")
    click.echo(f"host key    {report.host_key} (pinned, verified)")
    click.echo(f"upload dir  {report.upload_dir}: writable (probe file created and removed)")
    click.echo(f"inbound dir {report.inbound_dir}: {len(report.inbound_files)} matching file(s)")
    for name in report.inbound_files:
        click.echo(f"  {name}")
