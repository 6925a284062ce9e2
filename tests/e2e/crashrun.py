"""``python -m tests.e2e.crashrun POINT run ...``: achpipe that SIGKILLs itself at POINT.

Each point is a moment where a crash is most dangerous: just after an effect and before the
ledger has recorded it, or in the middle of an effect. ``slow:STEP`` instead sleeps 3 s
before STEP (to make two runs overlap for the concurrency test).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any


def _die() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _wrap(owner: Any, name: str, when: Callable[..., bool]) -> None:
    original = getattr(owner, name)

    def patched(*args: Any, **kwargs: Any) -> Any:
        if when(*args, **kwargs):
            _die()
        return original(*args, **kwargs)

    setattr(owner, name, patched)


def _step_is(step: str) -> Callable[..., bool]:
    def check(self: Any, *args: Any, **kwargs: Any) -> bool:
        names = [a for a in args if isinstance(a, str)]
        return step in names

    return check


def install(point: str) -> None:
    from pipeline.run.pg_ledger import PgRunLedger
    from pipeline.store.ledger import Ledger

    if point.startswith("slow:"):
        step = point.split(":", 1)[1]
        from pipeline.run import engine

        original = engine.NightlyRun._run_step

        def slow(self: Any, ctx: Any, name: str) -> Any:
            if name == step:
                time.sleep(3)
            return original(self, ctx, name)

        engine.NightlyRun._run_step = slow  # type: ignore[method-assign]
        return
    step, _, moment = point.partition(":")
    if moment == "commit":
        # inside the step's final transaction, before it commits (effects + done mark)
        _wrap(PgRunLedger, "mark_done", _step_is(step))
        _wrap(PgRunLedger, "step_done", _step_is(step))
    elif point == "seal:record":
        _wrap(Ledger, "transition_file", lambda s, fid, to, **k: to == "sealed")
    elif point == "upload:record":
        _wrap(Ledger, "transition_file", lambda s, fid, to, **k: to == "uploaded")
    elif point == "upload:rename":
        import paramiko

        _wrap(paramiko.SFTPClient, "rename", lambda *a, **k: True)
    elif point == "verify:record":
        _wrap(Ledger, "transition_file", lambda s, fid, to, **k: to == "verified")
    elif point == "fetch:record":
        _wrap(Ledger, "record_inbound_file", lambda *a, **k: True)
    elif point == "fetch:archive":
        from pipeline.sftp import SftpClient

        _wrap(SftpClient, "archive", lambda *a, **k: True)
    elif point == "ingest:unseal":  # plaintext written to the temporary file, not verified
        from pipeline import pgp

        write_views = pgp._FileSink.write_views

        def write_then_die(self: Any, views: Any) -> None:
            write_views(self, views)
            os.fsync(self.fd)
            _die()

        pgp._FileSink.write_views = write_then_die  # type: ignore[method-assign]
    elif point == "ingest:parse":  # the verified plaintext is in the work directory
        from pipeline.run import inbound_read

        _wrap(inbound_read, "_first_byte", lambda *a, **k: True)
    elif point == "ingest:record":
        _wrap(Ledger, "mark_inbound_ingested", lambda *a, **k: True)
    else:
        raise SystemExit(f"unknown crash point {point!r}")


def main() -> None:
    point = sys.argv[1]
    install(point)
    from pipeline.cli import cli

    cli(args=sys.argv[2:], prog_name="achpipe")


if __name__ == "__main__":
    main()
