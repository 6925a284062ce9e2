"""Local working files of the run: atomic writes, content hashes, where each file lives.

Outbound files are written under ``<data_dir>/outbound/<date>/`` (the plain NACHA file and
its sealed copy), inbound files under ``<data_dir>/inbound/<sha256[:16]>-<name>``, bad
inbound files are moved to ``<data_dir>/quarantine/``; an inbound file's plaintext exists
only in ``<data_dir>/inbound/.unsealed/`` while the ingest parses it. Every write goes to a
temporary name in the same directory, is fsynced, then renamed: a crash never leaves half a
file under a final name, so "the file exists" always means "the file is complete".
"""

from __future__ import annotations

import hashlib
import os
import re
from datetime import date
from pathlib import Path

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_write(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` all-or-nothing (temp file, fsync, rename, fsync dir)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path


def safe_name(name: str) -> str:
    """A remote file name reduced to a safe local basename (no separators, no dot-dot)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _SAFE_NAME.sub("_", base).lstrip(".")
    return cleaned or "unnamed"


def outbound_dir(data_dir: Path, business_date: date) -> Path:
    return data_dir / "outbound" / business_date.isoformat()


def inbound_path(data_dir: Path, sha256: str, name: str) -> Path:
    return data_dir / "inbound" / f"{sha256[:16]}-{safe_name(name)}"


def unsealed_dir(data_dir: Path) -> Path:
    """Where the ingest keeps an inbound file's plaintext while it parses it (and only then)."""
    return data_dir / "inbound" / ".unsealed"


def quarantine_path(data_dir: Path, sha256: str, name: str) -> Path:
    return data_dir / "quarantine" / f"{sha256[:16]}-{safe_name(name)}"
