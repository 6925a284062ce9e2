"""Shared paths for the nacha tests: the moov-io/ach corpus lives in ../shared (never copied)."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import pytest

from tests.conftest import SHARED

REPO = Path(__file__).resolve().parents[2]
CORPUS = SHARED / "conformance" / "moov-ach"
SAMPLES = REPO / "sample_files"


def corpus_rows() -> list[dict[str, str]]:
    with (CORPUS / "expectations.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def corpus_bytes(name: str) -> bytes:
    data = (CORPUS / name).read_bytes()
    return gzip.decompress(data) if name.endswith(".gz") else data


@pytest.fixture(scope="session")
def samples() -> Path:
    return SAMPLES
