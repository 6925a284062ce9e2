"""A small in-process SFTP server (paramiko) serving the ODFI's directory tree, for the demo.

Tests of the pipeline's SFTP client use a real OpenSSH sshd; this server exists so that
``achpipe sandbox serve`` works on a fresh machine without system packages. Paths are
confined to the root (``..`` and symlinks cannot escape); authentication is by password
and/or an authorized public key.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from pathlib import Path
from typing import Any

import paramiko
from paramiko.sftp import SFTP_FAILURE, SFTP_NO_SUCH_FILE, SFTP_OK, SFTP_PERMISSION_DENIED

from sandbox.errors import SandboxError

logging.getLogger("sandbox.sftpd.transport").setLevel(logging.CRITICAL)


class _Handle(paramiko.SFTPHandle):
    def stat(self) -> Any:
        try:
            return paramiko.SFTPAttributes.from_stat(os.fstat(self.readfile.fileno()))
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)

    def chattr(self, attr: Any) -> int:
        return SFTP_OK


class _Sftp(paramiko.SFTPServerInterface):
    def __init__(self, server: Any, *args: Any, root: Path, **kwargs: Any) -> None:
        super().__init__(server, *args, **kwargs)
        self.root = root.resolve()

    def _real(self, path: str) -> Path:
        clean = os.path.normpath("/" + path.lstrip("/"))
        real = (self.root / clean.lstrip("/")).resolve()
        if real != self.root and self.root not in real.parents:
            raise PermissionError(path)
        return real

    def _call(self, fn: Any) -> Any:
        try:
            return fn()
        except PermissionError:
            return SFTP_PERMISSION_DENIED
        except FileNotFoundError:
            return SFTP_NO_SUCH_FILE
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno) if exc.errno else SFTP_FAILURE

    def canonicalize(self, path: str) -> str:
        return os.path.normpath("/" + path.lstrip("/"))

    def list_folder(self, path: str) -> Any:
        def run() -> list[paramiko.SFTPAttributes]:
            real = self._real(path)
            out = []
            for name in sorted(os.listdir(real)):
                attr = paramiko.SFTPAttributes.from_stat(os.lstat(real / name))
                attr.filename = name
                out.append(attr)
            return out

        return self._call(run)

    def stat(self, path: str) -> Any:
        return self._call(lambda: paramiko.SFTPAttributes.from_stat(os.stat(self._real(path))))

    lstat = stat

    def open(self, path: str, flags: int, attr: Any) -> Any:
        def run() -> _Handle:
            real = self._real(path)
            fd = os.open(real, flags | getattr(os, "O_BINARY", 0), 0o644)
            if flags & os.O_WRONLY:
                mode = "ab" if flags & os.O_APPEND else "wb"
            elif flags & os.O_RDWR:
                mode = "a+b" if flags & os.O_APPEND else "r+b"
            else:
                mode = "rb"
            f = os.fdopen(fd, mode)
            handle = _Handle(flags)
            handle.filename = str(real)
            handle.readfile = f
            handle.writefile = f
            return handle

        return self._call(run)

    def remove(self, path: str) -> int:
        return self._call(lambda: (os.remove(self._real(path)), SFTP_OK)[1])

    def rename(self, oldpath: str, newpath: str) -> int:
        def run() -> int:
            new = self._real(newpath)
            if new.exists():  # SFTP v3 rename never overwrites
                return SFTP_FAILURE
            os.rename(self._real(oldpath), new)
            return SFTP_OK

        return self._call(run)

    def posix_rename(self, oldpath: str, newpath: str) -> int:
        return self._call(
            lambda: (os.replace(self._real(oldpath), self._real(newpath)), SFTP_OK)[1]
        )

    def mkdir(self, path: str, attr: Any) -> int:
        return self._call(lambda: (os.mkdir(self._real(path)), SFTP_OK)[1])

    def rmdir(self, path: str) -> int:
        return self._call(lambda: (os.rmdir(self._real(path)), SFTP_OK)[1])

    def chattr(self, path: str, attr: Any) -> int:
        return SFTP_OK


class _Auth(paramiko.ServerInterface):
    def __init__(self, username: str, password: str | None, key: paramiko.PKey | None) -> None:
        self.username, self.password, self.key = username, password, key

    def check_auth_password(self, username: str, password: str) -> int:
        ok = self.password is not None and (username, password) == (self.username, self.password)
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        ok = self.key is not None and username == self.username and key == self.key
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def get_allowed_auths(self, username: str) -> str:
        return ",".join(
            kind for kind, on in (("publickey", self.key), ("password", self.password)) if on
        )

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED


class SftpServer:
    """Serve ``root`` over SFTP on ``host:port`` (0 = a free port) until :meth:`stop`."""

    def __init__(
        self,
        root: Path,
        *,
        host_key: paramiko.PKey,
        username: str,
        password: str | None = None,
        authorized_key: paramiko.PKey | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.root, self.host_key = root, host_key
        self.auth = _Auth(username, password, authorized_key)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind((host, port))
        except OSError as exc:
            self._sock.close()
            raise SandboxError(f"SFTP: cannot listen on {host}:{port}: {exc}") from exc
        self.host, self.port = self._sock.getsockname()[:2]
        self._stop = threading.Event()
        self._transports: list[paramiko.Transport] = []
        self._thread = threading.Thread(target=self._serve, name="sandbox-sftp", daemon=True)

    def start(self) -> SftpServer:
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self._thread.start()
        return self

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            transport = paramiko.Transport(conn)
            # A client hanging up is routine for a server; paramiko logs it at ERROR.
            transport.set_log_channel("sandbox.sftpd.transport")
            transport.add_server_key(self.host_key)
            transport.set_subsystem_handler("sftp", paramiko.SFTPServer, _Sftp, root=self.root)
            try:
                transport.start_server(server=self.auth)
            except (paramiko.SSHException, EOFError, OSError):
                transport.close()
                continue
            self._transports.append(transport)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()
        for transport in self._transports:
            transport.close()
