"""Run the sandbox in-process: HTTP API on a loopback port (uvicorn in a thread), the ODFI
watcher, and optionally the demo SFTP server.

    from sandbox import Sandbox, Scenario
    with Sandbox(scenario=Scenario.demo(seed=7), odfi_root=tmp / "odfi") as sb:
        sb.base_url, sb.login, sb.password         # for [api]
        sb.advance(days=1)                         # or POST /sandbox/clock
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Self

import paramiko
import uvicorn

from sandbox import bankpgp
from sandbox.app import build_app
from sandbox.clock import SandboxClock
from sandbox.errors import SandboxError
from sandbox.handlers import Handlers
from sandbox.odfi import Odfi
from sandbox.scenario import Scenario
from sandbox.sftpd import SftpServer
from sandbox.webhooks import WebhookSender


class Sandbox:
    """The whole outside world in one object; start/stop it or use it as a context manager.

    ``tick_interval`` (seconds of real time) runs a background thread that lets due events
    happen and polls the ODFI inbox; leave it ``None`` in tests, where only explicit clock
    moves make things happen (deterministic), and set it for the demo.
    """

    def __init__(
        self,
        *,
        scenario: Scenario | None = None,
        clock: SandboxClock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        tick_interval: float | None = None,
        odfi_dir: Path | None = None,
        originator_public_key: Path | None = None,
        odfi_routing: str = "091000019",
        require_signature: bool = True,
        sftp_port: int | None = None,
        sftp_username: str = "originator",
    ) -> None:
        self.scenario = scenario or Scenario()
        self.clock = clock or SandboxClock()
        self.handlers = Handlers(self.scenario, self.clock)
        self.app = build_app(self.handlers)
        self.webhooks = WebhookSender(
            secret=self.scenario.webhook_secret, extras=self.scenario.webhook_extras
        )
        self.handlers.ledger.on_change.append(self.webhooks.on_change)
        self.host = host
        self.port = port
        self.tick_interval = tick_interval
        self._server: uvicorn.Server | None = None
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self.odfi: Odfi | None = None
        self.paths: dict[str, Path] = {}
        self.sftp: SftpServer | None = None
        self.sftp_port = sftp_port
        self.sftp_username = sftp_username
        self.sftp_password: str | None = None
        if sftp_port is not None and odfi_dir is None:
            raise SandboxError("the SFTP server needs odfi_dir (the tree it serves)")
        if odfi_dir is not None:
            self._setup_odfi(Path(odfi_dir), originator_public_key, odfi_routing, require_signature)

    def _setup_odfi(
        self, base: Path, originator_pub: Path | None, routing: str, require_signature: bool
    ) -> None:
        """Keys under ``base/keys`` (generated on first use), the SFTP tree under
        ``base/sftp``. Without an originator key a demo originator pair is generated too."""
        keys = base / "keys"
        keys.mkdir(parents=True, exist_ok=True)
        secret_file = keys / "api-secret"
        secret_file.write_text(self.password + "\n")
        secret_file.chmod(0o600)
        self.paths = {
            "api_secret_file": secret_file,
            "sftp_root": base / "sftp",
            "bank_secret_key": keys / "bank.sec.asc",
            "bank_public_key": keys / "bank.pub.asc",
        }
        bank = bankpgp.ensure_key(
            self.paths["bank_secret_key"],
            self.paths["bank_public_key"],
            name="Sandbox Bank",
            email="ach@bank.sandbox.invalid",
        )
        if originator_pub is None:
            self.paths["originator_secret_key"] = keys / "originator.sec.asc"
            self.paths["originator_public_key"] = keys / "originator.pub.asc"
            originator = bankpgp.ensure_key(
                self.paths["originator_secret_key"],
                self.paths["originator_public_key"],
                name="Sandbox Originator",
                email="ops@originator.sandbox.invalid",
            )
        else:
            self.paths["originator_public_key"] = originator_pub
            originator = bankpgp.load_key(originator_pub)
        self.odfi = Odfi(
            root=self.paths["sftp_root"],
            ledger=self.handlers.ledger,
            scenario=self.scenario,
            clock=self.clock,
            bank_key=bank,
            originator_key=originator,
            routing=routing,
            require_signature=require_signature,
            min_age_seconds=2.0 if self.tick_interval else 0.0,
        )
        self.handlers.odfi = self.odfi

    # -- identity ----------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def login(self) -> str:
        return self.scenario.clients[0].login

    @property
    def password(self) -> str:
        return self.scenario.clients[0].password

    @property
    def ledger(self) -> Any:
        return self.handlers.ledger

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Self:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted sockets inherit this; without it small responses wait ~40 ms for a
        # delayed ACK (uvicorn only sets it on sockets it creates itself).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise SandboxError(f"cannot listen on {self.host}:{self.port}: {exc}") from exc
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=30
        )
        self._server = uvicorn.Server(config)
        thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="sandbox-http", daemon=True
        )
        thread.start()
        self._threads.append(thread)
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise SandboxError("the sandbox HTTP server did not start")
            time.sleep(0.01)
        if self.sftp_port is not None:
            self._start_sftp()
        if self.tick_interval:
            ticker = threading.Thread(target=self._tick_loop, name="sandbox-tick", daemon=True)
            ticker.start()
            self._threads.append(ticker)
        return self

    def _start_sftp(self) -> None:
        """Host key, client key and password under ``<odfi_dir>/ssh`` (kept across runs so
        pinned host keys stay valid); a known_hosts line for the bound port."""
        ssh = self.paths["sftp_root"].parent / "ssh"
        ssh.mkdir(parents=True, exist_ok=True)
        host_key = _ensure_rsa(ssh / "host_rsa_key")
        client_key = _ensure_rsa(ssh / "client_rsa_key")
        pw_file = ssh / "password"
        if not pw_file.exists():
            pw_file.write_text(secrets.token_urlsafe(12) + "\n")
            pw_file.chmod(0o600)
        self.sftp_password = pw_file.read_text().strip()
        self.sftp = SftpServer(
            self.paths["sftp_root"],
            host_key=host_key,
            username=self.sftp_username,
            password=self.sftp_password,
            authorized_key=client_key,
            host=self.host,
            port=self.sftp_port or 0,
        ).start()
        self.sftp_port = self.sftp.port
        known = ssh / "known_hosts"
        known.write_text(
            f"[{self.host}]:{self.sftp.port} {host_key.get_name()} {host_key.get_base64()}\n"
        )
        self.paths.update(
            ssh_host_key=ssh / "host_rsa_key",
            ssh_client_key=ssh / "client_rsa_key",
            ssh_known_hosts=known,
            ssh_password_file=pw_file,
        )
        self.sftp_host_fingerprint = "SHA256:" + base64.b64encode(
            hashlib.sha256(host_key.asbytes()).digest()
        ).decode().rstrip("=")

    def _tick_loop(self) -> None:
        assert self.tick_interval
        while not self._stop.wait(self.tick_interval):
            self.handlers.tick(poll=True)

    def stop(self) -> None:
        self._stop.set()
        if self.sftp is not None:
            self.sftp.stop()
            self.sftp = None
        if self._server is not None:
            self._server.should_exit = True
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()
        self.webhooks.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def info(self) -> dict[str, Any]:
        """Everything a user (or the demo) needs to point achpipe at this sandbox."""
        out: dict[str, Any] = {
            "api": {
                "base_url": self.base_url,
                "client_id": self.login,
                "client_secret": self.password,
            },
            "clock": {
                "now": self.clock.now().isoformat(),
                "frozen": self.clock.frozen,
                "admin": f"{self.base_url}/sandbox/clock",
            },
            "scenario": {"seed": self.scenario.seed},
        }
        if "api_secret_file" in self.paths:
            out["api"]["client_secret_ref"] = f"file:{self.paths['api_secret_file']}"
        if self.odfi is not None:
            root = self.paths["sftp_root"]
            out["odfi"] = {
                "routing": self.odfi.routing,
                "root": str(root),
                "upload_dir": "/inbound",
                "ack_dir": "/outbound/ack",
                "returns_dir": "/outbound/returns",
                "noc_dir": "/outbound/noc",
                "bank_public_key": str(self.paths["bank_public_key"]),
                "originator_public_key": str(self.paths["originator_public_key"]),
            }
            if "originator_secret_key" in self.paths:
                out["odfi"]["originator_secret_key"] = str(self.paths["originator_secret_key"])
        if self.sftp is not None:
            out["sftp"] = {
                "host": self.host,
                "port": self.sftp_port,
                "username": self.sftp_username,
                "password_file": str(self.paths["ssh_password_file"]),
                "private_key": str(self.paths["ssh_client_key"]),
                "known_hosts": str(self.paths["ssh_known_hosts"]),
                "host_key_fingerprint": self.sftp_host_fingerprint,
            }
        return out

    # -- time --------------------------------------------------------------------------------
    def advance(self, **delta: float) -> dict[str, Any]:
        """Move the clock forward (``days=1``, ``hours=3``…) and let everything due happen."""
        return self.handlers.advance_to(self.clock.now() + timedelta(**delta))

    def set_clock(self, when: datetime) -> dict[str, Any]:
        return self.handlers.advance_to(when)

    def inject(self, *, code: str, at: datetime | None = None, **which: str) -> dict[str, Any]:
        """Return or NOC one transfer (``reference=``, ``cFiTransactionId=`` or
        ``traceNumber=``) at ``at`` (default now); see ``POST /sandbox/inject``."""
        body: dict[str, Any] = {"code": code, **which}
        if at is not None:
            body["at"] = at.isoformat()
        return self.handlers.admin_inject(body)

    def poll(self) -> dict[str, Any]:
        """Pick up uploads now (the watcher does this every ``tick_interval`` when flowing)."""
        return self.handlers.tick(poll=True)


def _ensure_rsa(path: Path) -> paramiko.RSAKey:
    """Load or create an unprotected RSA-3072 key (paramiko cannot generate Ed25519)."""
    if path.exists():
        return paramiko.RSAKey.from_private_key_file(str(path))
    key = paramiko.RSAKey.generate(3072)
    key.write_private_key_file(str(path))
    path.chmod(0o600)
    path.with_name(path.name + ".pub").write_text(f"{key.get_name()} {key.get_base64()}\n")
    return key
