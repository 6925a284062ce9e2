"""Open the finance and compliance pages in headless Chromium: tables and charts render.

Uses Debian's ``/usr/bin/chromium`` (installed by ``.ci/run``) with networking features off
and a fresh profile directory; ``--dump-dom`` proves the DOM holds the tables and the SVG
charts, and a screenshot proves something non-blank was painted.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from tests.pipeline.recon_files import reconcile_args, write_inputs

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian chromium not installed (.ci/run installs it)"
)


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    profile.mkdir()
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        timeout=120,
        check=True,
    )


def _png_pixels(png: bytes) -> tuple[int, int, set[bytes]]:
    """Width, height and the set of distinct RGB(A) pixels of an 8-bit PNG (stdlib only)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 3
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        data = png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", data[:10])
            assert depth == 8
            channels = {2: 3, 6: 4}[color]
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    colours: set[bytes] = set()
    prev = bytearray(stride)
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 0xFF
            elif ftype == 2:
                line[i] = (line[i] + b) & 0xFF
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        if y % 8 == 0:
            colours.update(bytes(line[i : i + 3]) for i in range(0, stride, channels * 4))
        prev = line
    return width, height, colours


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("pages")
    paths = write_inputs(tmp)
    paths["entries"].write_text(paths["entries"].read_text().replace("R3,3000", "R3,3001"))
    runner = CliRunner()
    out = tmp / "out"
    runner.invoke(cli, reconcile_args(paths, out))
    runner.invoke(
        cli,
        [
            "rates",
            "--date",
            "2026-03-20",
            "--from-files",
            str(paths["entries"]),
            str(paths["returns"]),
            "--out",
            str(out),
        ],
    )
    return {
        "finance": out / "finance" / "reconciliation.html",
        "compliance": out / "compliance" / "return-rates.html",
    }


def test_finance_page_renders_its_tables(pages, tmp_path):
    dom = _chromium(tmp_path, "--dump-dom", pages["finance"].as_uri()).stdout.decode()
    for table_id in ("tie_out", "breaks", "returns", "nocs", "exposure", "files"):
        assert f'id="{table_id}"' in dom, table_id
    assert "amount_break" in dom
    assert "Customer does not know or did not authorize us" in dom
    shot = tmp_path / "finance.png"
    _chromium(
        tmp_path, f"--screenshot={shot}", "--window-size=1280,1600", pages["finance"].as_uri()
    )
    width, height, colours = _png_pixels(shot.read_bytes())
    assert (width, height) == (1280, 1600)
    assert len(colours) > 20  # text, table borders, the red/green row tints: not a blank page


def test_compliance_page_renders_charts_and_tables(pages, tmp_path):
    dom = _chromium(tmp_path, "--dump-dom", pages["compliance"].as_uri()).stdout.decode()
    assert dom.count("<svg") == 3 and dom.count('class="limit"') == 3
    assert dom.count('class="series"') >= 2  # the originator's line in each non-flat chart
    for table_id in ("rates_today", "out_of_compliance", "top_originators", "top_sec_codes"):
        assert f'id="{table_id}"' in dom, table_id
    shot = tmp_path / "compliance.png"
    _chromium(
        tmp_path, f"--screenshot={shot}", "--window-size=1200,900", pages["compliance"].as_uri()
    )
    width, height, colours = _png_pixels(shot.read_bytes())
    assert (width, height) == (1200, 900)
    reds = {c for c in colours if c[0] > 180 and c[1] < 90 and c[2] < 90}
    assert len(colours) > 20 and reds  # the red limit lines and breach badge were painted
