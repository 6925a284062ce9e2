"""``achpipe sandbox serve``: run the connectFi + ODFI sandbox locally for a demo.

The sandbox package is imported only when this command runs (the CLI never pays for it).
"""

from __future__ import annotations

import json
import signal
import threading
from datetime import datetime
from pathlib import Path

import click

from pipeline.errors import ConfigError


@click.group()
def sandbox() -> None:
    """The local stand-in for connectFi and the bank (demo and tests)."""


@sandbox.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port",
    default=8080,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="HTTP port of the API (0 = any free port).",
)
@click.option(
    "--sftp-port",
    default=2222,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port of the demo SFTP server (0 = any free port).",
)
@click.option("--no-sftp", is_flag=True, help="Do not start the demo SFTP server.")
@click.option(
    "--dir",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("sandbox-data"),
    show_default=True,
    help="Keys and the SFTP tree live here (kept across runs).",
)
@click.option(
    "--scenario",
    "scenario_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Scenario TOML/JSON (default: the demo scenario).",
)
@click.option("--seed", type=int, help="Seed for the scenario's random draws.")
@click.option(
    "--originator-key",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Originator's public key (default: a generated demo key pair).",
)
@click.option(
    "--start",
    "start_at",
    type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"]),
    help="Sandbox clock start (default: now).",
)
@click.option("--frozen", is_flag=True, help="Time stands still until POST /sandbox/clock.")
@click.option(
    "--tick",
    default=2.0,
    show_default=True,
    type=click.FloatRange(0.1, 3600),
    help="Seconds between inbox polls / event processing.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the connection info as JSON.")
def serve(
    host: str,
    port: int,
    sftp_port: int,
    no_sftp: bool,
    data_dir: Path,
    scenario_file: Path | None,
    seed: int | None,
    originator_key: Path | None,
    start_at: datetime | None,
    frozen: bool,
    tick: float,
    as_json: bool,
) -> None:
    """Start the sandbox and print where to point achpipe; Ctrl-C stops it."""
    from sandbox import Sandbox, SandboxClock, SandboxError, Scenario, ScenarioError

    try:
        if scenario_file is not None:
            scenario = Scenario.load(scenario_file, seed=seed)
        else:
            scenario = Scenario.demo(seed=seed or 0)
    except ScenarioError as exc:
        raise ConfigError(f"--scenario: {exc}") from exc
    clock = SandboxClock(start_at, frozen=frozen)
    sb = Sandbox(
        scenario=scenario,
        clock=clock,
        host=host,
        port=port,
        tick_interval=tick,
        odfi_dir=data_dir.resolve(),
        originator_public_key=originator_key,
        sftp_port=None if no_sftp else sftp_port,
    )
    try:
        sb.start()
    except SandboxError as exc:
        raise ConfigError(str(exc)) from exc
    info = sb.info()
    # Secrets are shown as file references (the form achpipe.toml takes), never in clear.
    info["api"].pop("client_secret", None)
    if as_json:
        click.echo(json.dumps(info), nl=True)
    else:
        _print_human(info)
    stop = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        stop.set()

    # Explicit handlers: a scheduler sends SIGTERM, and a shell may start us with SIGINT
    # ignored (background jobs), in which case Python would never raise KeyboardInterrupt.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _on_signal)
    try:
        while not stop.wait(0.5):
            pass
        click.echo("stopping sandbox", err=True)
    finally:
        sb.stop()


def _print_human(info: dict) -> None:
    api = info["api"]
    click.echo("connectFi sandbox running")
    click.echo(f"  API base URL       {api['base_url']}")
    click.echo(f"  client_id          {api['client_id']}")
    click.echo(f"  client_secret      {api['client_secret_ref']}")
    click.echo(
        f"  clock              {info['clock']['now']}"
        f"{' (frozen)' if info['clock']['frozen'] else ''}"
    )
    click.echo(
        f"  move the clock     curl -XPOST {info['clock']['admin']} "
        '-d \'{"advance": {"days": 1}}\''
    )
    if "sftp" in info:
        s = info["sftp"]
        click.echo(f"  SFTP               {s['host']}:{s['port']}  user {s['username']}")
        click.echo(f"  SFTP password file {s['password_file']}")
        click.echo(f"  SFTP private key   {s['private_key']}")
        click.echo(f"  SFTP known_hosts   {s['known_hosts']}")
        click.echo(f"  SFTP host key      {s['host_key_fingerprint']}")
    if "odfi" in info:
        o = info["odfi"]
        click.echo(f"  ODFI routing       {o['routing']}")
        click.echo(
            f"  upload to          {o['upload_dir']}   (acks {o['ack_dir']}, returns "
            f"{o['returns_dir']}, NOCs {o['noc_dir']})"
        )
        click.echo(f"  bank public key    {o['bank_public_key']}   ([pgp] bank_key)")
        if "originator_secret_key" in o:
            click.echo(f"  your secret key    {o['originator_secret_key']}   ([pgp] our_key)")
        click.echo(f"  your public key    {o['originator_public_key']}")
