"""Transport figures: PGP (ours vs the gpg binary) and SFTP (ours vs OpenSSH's sftp client).

    /work/venv/bin/python bench/transport_bench.py [--mb 100] [--only pgp|sftp] [--runs 1]

Every timed operation runs in its own forked process (ours) or subprocess (gpg, sftp) that
reads its input from a file, so the "peak MB" column is that operation's own maximum RSS
(``wait4``), not the benchmark's. Figures on a shared 2-core machine are noisy (±50 %):
compare the columns of one run, not runs of different days.

PGP rows: seal = sign + encrypt to two recipients (bank + archive), ours including the
self-test decryption; unseal = decrypt + verify: ours ``unseal(path.read_bytes())`` with the
plaintext in memory, gpg's ``--decrypt`` to /dev/null; "to file" rows: ours
``unseal_file(path, new path)`` (temp file renamed after verification), gpg's stdout to a new
file (both outputs removed before each run, outside the timing); "ingest" rows: what the
nightly ingest does before it parses (``pipeline.run.inbound_read.unsealed_copy``: check the
recorded SHA-256 of the sealed file, ``unseal_file`` to its work file, remove it) against
gpg's stdout to a new file. "gpg-made" is what
``gpg --sign --encrypt`` writes when fed from stdin (partial-length packets, the case pgpy
alone parses in 24 s).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

LINE = (
    b"6220910000191234567890     0000012345ID00000000000012JOHN DOE              0091000010000001\n"
)


Result = tuple[float, float, float]  # wall seconds, CPU seconds (user+sys), peak RSS MB


def in_child(fn: Callable[[], None]) -> Result:
    """Run ``fn`` in a forked child; (wall s, CPU s, peak RSS MB), all of the child alone."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_end)
        code = 0
        try:
            started = time.perf_counter()
            fn()
            os.write(write_end, f"{time.perf_counter() - started}".encode())
        except BaseException as exc:  # report, never fall back into the parent's code
            os.write(write_end, f"ERR {exc!r}".encode())
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end) as fh:
        text = fh.read()
    _, status, usage = os.wait4(pid, 0)
    if status != 0 or text.startswith("ERR"):
        raise RuntimeError(f"child failed: {text}")
    return float(text), usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


# A small launcher: a child inherits its parent's peak RSS across exec, so gpg/sftp are
# started from this small interpreter rather than from the benchmark (which holds keys and
# libraries); the launcher reports the command's own peak via RUSAGE_CHILDREN.
_LAUNCHER = (
    "import resource,subprocess,sys;"
    "r=subprocess.run(sys.argv[1:]).returncode;"
    "u=resource.getrusage(resource.RUSAGE_CHILDREN);"
    "sys.stderr.write('\\nMAXRSS %d CPU %f\\n' % (u.ru_maxrss, u.ru_utime + u.ru_stime));"
    "sys.exit(r)"
)


def in_process(args: list[str], *, stdin: Path | None = None, stdout: Path | None = None) -> Result:
    """Run a command; (wall s, CPU s, peak RSS MB) of the command alone (not the launcher)."""
    fin = open(stdin, "rb") if stdin else subprocess.DEVNULL  # noqa: SIM115
    fout = open(stdout, "wb") if stdout else subprocess.DEVNULL  # noqa: SIM115
    try:
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-S", "-c", _LAUNCHER, *args],
            stdin=fin,
            stdout=fout,
            stderr=subprocess.PIPE,
            check=False,
        )
        seconds = time.perf_counter() - started
        err = proc.stderr
    finally:
        for f in (fin, fout):
            if hasattr(f, "close"):
                f.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {err.decode(errors='replace')[-500:]}")
    fields = err.rsplit(b"MAXRSS ", 1)[1].split()
    return seconds, float(fields[2]), int(fields[0]) / 1024


def best(runs: int, fn: Callable[[], Result]) -> Result:
    """Fastest wall and CPU time over ``runs`` (each its own minimum), largest peak."""
    return summary([fn() for _ in range(runs)])[:3]


def summary(results: list[Result]) -> tuple[float, float, float, float]:
    """(fastest wall, least CPU, largest peak, median wall) of some runs."""
    return (
        min(r[0] for r in results),
        min(r[1] for r in results),
        max(r[2] for r in results),
        statistics.median(r[0] for r in results),
    )


class _BankSealer:
    """The run's sealer (``pipeline.run.resources.PgpSealer``) without a configuration."""

    def __init__(self, keys: Any) -> None:
        self.keys = keys

    def unseal_file(self, source: Path, target: Path) -> None:
        from pipeline.pgp import unseal_file_from_bank
        from pipeline.pgp_settings import PgpSettings

        unseal_file_from_bank(source, target, keys=self.keys, settings=PgpSettings())


def bench_pgp(work: Path, size_mb: int, runs: int, selected: Callable[[str], bool]) -> None:
    from pipeline.keys import export_key, generate_key, load_key
    from pipeline.pgp import seal, unseal, unseal_file
    from pipeline.pgp_settings import PgpKeys
    from pipeline.run.files import sha256_file
    from pipeline.run.inbound_read import unsealed_copy

    recorded: dict[Path, str] = {}

    plain = work / "plain.ach"
    with open(plain, "wb") as fh:  # in 1 MB pieces: the parent's RSS stays small
        block = LINE * (1_000_000 // len(LINE))
        for _ in range(size_mb):
            fh.write(block)
    ours = generate_key("Bench Originator", "orig@bench.test")
    bank = generate_key("Bench Bank", "bank@bench.test")
    (work / "ours.asc").write_bytes(export_key(ours, secret=True))
    (work / "bank.asc").write_bytes(export_key(bank, secret=True))
    home = Path(tempfile.mkdtemp(prefix="gpgb", dir="/tmp"))
    gpg = [
        "gpg",
        "--homedir",
        str(home),
        "--batch",
        "--yes",
        "--pinentry-mode",
        "loopback",
        "--passphrase",
        "",
        "--trust-model",
        "always",
        "--quiet",
    ]
    try:
        for key in ("ours.asc", "bank.asc"):
            subprocess.run([*gpg, "--import", str(work / key)], check=True, capture_output=True)
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(
            f"\nPGP, {plain.stat().st_size / 1e6:.0f} MB NACHA-like text, Ed25519/Cv25519 "
            f"keys; 'ours MB' includes the {base} MB the forked child starts with"
        )
        print(
            f"{'case':<36}{'wall ours':>10}{'gpg':>7}{'ratio':>7}"
            f"{'cpu ours':>10}{'gpg':>7}{'ratio':>7}{'MB ours':>9}{'gpg':>6}"
        )

        def row(label: str, o: Callable[[], Result], g: Callable[[], Result]) -> None:
            if not selected(label):
                return
            ours_r, gpg_r = best(runs, o), best(runs, g)
            print(
                f"{label:<36}{ours_r[0]:>10.2f}{gpg_r[0]:>7.2f}{ours_r[0] / gpg_r[0]:>7.2f}"
                f"{ours_r[1]:>10.2f}{gpg_r[1]:>7.2f}{ours_r[1] / gpg_r[1]:>7.2f}"
                f"{ours_r[2]:>9.0f}{gpg_r[2]:>6.0f}",
                flush=True,
            )

        for armored, compression in (
            (False, "none"),
            (False, "zip"),
            (True, "none"),
            (True, "zip"),
        ):
            tag = f"{'armored' if armored else 'binary'}/{compression}"
            sealed = work / f"ours.{tag.replace('/', '.')}"
            made = work / f"gpg.{tag.replace('/', '.')}"

            def do_seal(
                sealed: Path = sealed, armored: bool = armored, compression: str = compression
            ) -> None:
                o, b = load_key(work / "ours.asc"), load_key(work / "bank.asc")
                sealed.write_bytes(
                    seal(
                        plain.read_bytes(),
                        signer=o,
                        recipients=[b.public, o.public],
                        self_test_key=o,
                        armored=armored,
                        compression=compression,
                    )
                )

            def do_unseal(path: Path) -> Callable[[], None]:
                def run() -> None:
                    o, b = load_key(work / "ours.asc"), load_key(work / "bank.asc")
                    got = unseal(path.read_bytes(), key=b, verify_with=[o.public])
                    assert got.signed_by == o.fingerprint

                return run

            def do_unseal_file(path: Path) -> Callable[[], None]:
                def run() -> None:
                    o, b = load_key(work / "ours.asc"), load_key(work / "bank.asc")
                    got = unseal_file(path, work / "out.ours", key=b, verify_with=[o.public])
                    assert got.signed_by == o.fingerprint

                return run

            def do_ingest_unseal(path: Path) -> Callable[[], None]:
                """What the nightly ingest does before parsing: check the recorded sha256,
                unseal to its work file (read_inbound's unsealed_copy), remove it."""

                def run() -> None:
                    keys = PgpKeys(
                        ours=load_key(work / "bank.asc"),
                        bank=load_key(work / "ours.asc").public,
                        archive=load_key(work / "bank.asc"),
                    )
                    sealer = _BankSealer(keys)
                    sha = recorded[path]
                    with unsealed_copy(path, sha, path.name, data_dir=work, sealer=sealer) as out:
                        assert out.stat().st_size == plain.stat().st_size

                return run

            def fresh(run: Callable[[], Result]) -> Callable[[], Result]:
                def wrapped() -> Result:
                    for name in ("out.ours", "out.gpg"):
                        (work / name).unlink(missing_ok=True)
                    return run()

                return wrapped

            gpg_seal = [
                *gpg,
                "--sign",
                "-u",
                ours.fingerprint,
                "--encrypt",
                "-r",
                bank.fingerprint,
                "-r",
                ours.fingerprint,
                *(["-z", "0"] if compression == "none" else ["--compress-algo", "zip"]),
                *(["--armor"] if armored else []),
            ]
            row(
                f"seal {tag}",
                lambda f=do_seal: in_child(f),
                lambda a=gpg_seal, m=made: in_process(a, stdin=plain, stdout=m),
            )
            if not armored and compression == "none":  # what the self-test costs, alone

                def seal_untested() -> None:
                    o, b = load_key(work / "ours.asc"), load_key(work / "bank.asc")
                    seal(
                        plain.read_bytes(),
                        signer=o,
                        recipients=[b.public, o.public],
                        self_test_key=None,
                        compression="none",
                    )

                row(
                    "  same, without self-test",
                    lambda: in_child(seal_untested),
                    lambda a=gpg_seal: in_process(a, stdin=plain),
                )
            gpg_open = [*gpg, "--decrypt"]
            wanted = [f"unseal {tag}", f"unseal {tag} to file", f"ingest unseal {tag}"]
            if any(map(selected, wanted)) and not sealed.exists():
                in_child(do_seal)  # the unseal row reads our sealed file
            wanted = [
                f"unseal gpg-made {tag}",
                f"unseal gpg-made {tag} to file",
                f"ingest unseal gpg-made {tag}",
            ]
            if any(map(selected, wanted)) and not made.exists():
                in_process(gpg_seal, stdin=plain, stdout=made)
            for done in (sealed, made):  # the ingest checks the hash fetch recorded
                if done.exists() and done not in recorded:
                    recorded[done] = sha256_file(done)
            row(
                f"unseal {tag}",
                lambda p=sealed: in_child(do_unseal(p)),
                lambda a=gpg_open, s=sealed: in_process(a, stdin=s),
            )
            row(
                f"unseal gpg-made {tag}",
                lambda p=made: in_child(do_unseal(p)),
                lambda a=gpg_open, m=made: in_process(a, stdin=m),
            )
            for label, source in ((f"unseal {tag}", sealed), (f"unseal gpg-made {tag}", made)):
                row(
                    f"{label} to file",
                    fresh(lambda p=source: in_child(do_unseal_file(p))),
                    fresh(
                        lambda a=gpg_open, p=source: in_process(a, stdin=p, stdout=work / "out.gpg")
                    ),
                )
                row(
                    f"ingest {label}",
                    fresh(lambda p=source: in_child(do_ingest_unseal(p))),
                    fresh(
                        lambda a=gpg_open, p=source: in_process(a, stdin=p, stdout=work / "out.gpg")
                    ),
                )
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)
        shutil.rmtree(home, ignore_errors=True)


def bench_sftp(work: Path, size_mb: int, runs: int, selected: Callable[[str], bool]) -> None:
    from pipeline.sftp import SftpClient
    from pipeline.sftp_settings import SftpSettings
    from tests.fixtures.sshd import start_sshd

    payload = work / "payload.bin"
    with open(payload, "wb") as fh:
        for _ in range(size_mb):
            fh.write(os.urandom(1_000_000))
    server = start_sshd(work / "sshd")
    try:
        settings = SftpSettings.from_mapping(
            {
                "host": server.host,
                "port": server.port,
                "username": server.username,
                "private_key": str(server.client_key),
                "known_hosts": str(server.known_hosts),
                "upload_dir": "inbox",
                "inbound_dir": "outbox",
            }
        )
        counter = iter(range(1000))
        shutil.copyfile(payload, server.root / "outbox" / "payload.bin")

        def ours_up() -> None:
            with SftpClient(settings) as client:
                client.upload(payload, f"up{os.getpid()}.bin")

        def ours_down() -> None:
            with SftpClient(settings) as client:
                client.download("outbox/payload.bin", work / f"down{os.getpid()}.bin")

        def openssh(command: str) -> Result:
            batch = work / f"batch{next(counter)}"
            batch.write_text(command + "\n")
            return in_process(
                [
                    "sftp",
                    "-q",
                    "-b",
                    str(batch),
                    "-i",
                    str(server.client_key),
                    "-o",
                    f"UserKnownHostsFile={server.known_hosts}",
                    "-o",
                    "StrictHostKeyChecking=yes",
                    "-o",
                    "BatchMode=yes",
                    "-P",
                    str(server.port),
                    f"{server.username}@{server.host}",
                ]
            )

        print(
            f"\nSFTP, {size_mb} MB random bytes, loopback OpenSSH sshd (internal-sftp); "
            "CPU is the client's alone (sshd's is the same for both)"
        )
        print(f"runs alternate ours/sftp; 'best' and 'median' are MB/s over {runs} run(s) each")
        print(
            f"{'case':<22}{'wall ours':>10}{'sftp':>7}{'best ours':>10}{'sftp':>6}"
            f"{'median ours':>12}{'sftp':>6}{'cpu ours':>10}{'sftp':>7}{'MB ours':>9}{'sftp':>6}"
        )
        cases = (
            ("upload (temp+rename)", ours_up, f"put {payload} inbox/ssh{{n}}.bin"),
            ("download", ours_down, f"get outbox/payload.bin {work}/ssh{{n}}"),
        )
        for label, ours, command in cases:
            if not selected(label):
                continue
            mine: list[Result] = []
            theirs: list[Result] = []
            for _ in range(runs):  # alternating: a change in the machine's load hits both
                mine.append(in_child(ours))
                theirs.append(openssh(command.format(n=next(counter))))
                for left in (*work.glob("down*.bin"), *work.glob("ssh[0-9]*")):
                    left.unlink()  # outside the timing: keep the disk's dirty pages bounded
            o, s = summary(mine), summary(theirs)
            print(
                f"{label:<22}{o[0]:>10.2f}{s[0]:>7.2f}{size_mb / o[0]:>10.0f}"
                f"{size_mb / s[0]:>6.0f}{size_mb / o[3]:>12.0f}{size_mb / s[3]:>6.0f}"
                f"{o[1]:>10.2f}{s[1]:>7.2f}{o[2]:>9.0f}{s[2]:>6.0f}",
                flush=True,
            )
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--only", choices=["pgp", "sftp"])
    parser.add_argument(
        "--case",
        action="append",
        default=[],
        help="run only rows whose label contains this text (repeatable), e.g. 'seal binary/none'",
    )
    args = parser.parse_args()

    def selected(label: str) -> bool:
        return not args.case or any(c in label for c in args.case)

    work = Path(tempfile.mkdtemp(prefix="achpipe-bench-"))
    try:
        print(
            f"python {sys.version.split()[0]}, {os.cpu_count()} cpu(s), load "
            f"{os.getloadavg()[0]:.1f}; baseline RSS {resource.getrusage(0).ru_maxrss // 1024} MB"
        )
        if args.only in (None, "pgp"):
            bench_pgp(work, args.mb, args.runs, selected)
        if args.only in (None, "sftp"):
            bench_sftp(work, args.mb, args.runs, selected)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
