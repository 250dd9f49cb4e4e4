"""The exported HTML renders in real headless Chromium (charts, tables, no script runs) and the PDF
turns into real page images and text with poppler."""

from __future__ import annotations

import subprocess
from pathlib import Path

import matplotlib.image
import pytest

from app.reports.export import export_runs
from app.store import Store

TITLE = "Batch sweep <script>alert(1)</script>"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]


def _chromium(chromium: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, timeout=180, check=True)


def _ink(png: Path) -> float:
    """Share of pixels that are not white."""
    img = matplotlib.image.imread(png)
    return float((img[..., :3].min(axis=-1) < 0.95).mean())


@pytest.mark.browser
def test_html_renders_charts_and_tables_in_chromium_and_runs_no_script(
        store: Store, report_store, chromium: str, xss, tmp_path: Path) -> None:
    page = export_runs(store, report_store.all_ids, "html", tmp_path / "report.html", title=TITLE,
                       notes=xss.note)
    dom = _chromium(chromium, tmp_path, "--dump-dom", page.as_uri()).stdout
    assert dom.count("<svg") >= 3 and dom.count("<table") >= 6
    assert "<body data-pwned" not in dom and "<title>pwned</title>" not in dom
    assert "<title>Batch sweep &lt;script&gt;alert(1)&lt;/script&gt;</title>" in dom
    assert "<script" not in dom and "<img" not in dom
    assert "&lt;script&gt;document.body.setAttribute('data-pwned','1')&lt;/script&gt;" in dom  # notes, as text
    assert "How each metric was measured" in dom and "[optimum-benchmark]" in dom
    shot = tmp_path / "shot.png"
    _chromium(chromium, tmp_path, f"--screenshot={shot}", "--window-size=1400,2400", page.as_uri())
    assert _ink(shot) > 0.02


def test_pdf_has_pages_with_tables_charts_and_text(store: Store, report_store, poppler: Path, xss,
                                                   tmp_path: Path) -> None:
    pdf = export_runs(store, report_store.all_ids, "pdf", tmp_path / "report.pdf", title=TITLE, notes="Why: bs")
    subprocess.run([str(poppler / "pdftoppm"), "-r", "40", "-png", str(pdf), str(tmp_path / "page")],
                   check=True, timeout=120)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 5  # runs, key metrics, Pareto, telemetry, tables
    assert all(_ink(p) > 0.005 for p in pages)
    text = subprocess.run([str(poppler / "pdftotext"), "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True, timeout=120).stdout
    for needle in (TITLE, "Runs compared", "[vllm-bench]", "[optimum-benchmark]", "invalid-config",
                   "How each metric was measured", "Pareto front", "Telemetry overlays",
                   "imported from vllm bench serve", xss.tag.split("|")[0]):
        assert needle in text, needle
