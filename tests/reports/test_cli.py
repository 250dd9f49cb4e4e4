"""`inferlab import` and `inferlab export` through the real console entry point, in a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[2]


def inferlab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.main", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


def test_import_then_export_from_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    first = inferlab("import", str(DATA / "vllm_serve_result.json"), "--from", "vllm-bench", "--store", url)
    second = inferlab("import", str(DATA / "optimum_benchmark_report.json"), "--from", "optimum-benchmark",
                      "--tag", "peer", "--store", url)
    assert first.returncode == 0 and "as run 1 (source vllm-bench)" in first.stdout, first.stderr
    assert second.returncode == 0 and "as run 2 (source optimum-benchmark)" in second.stdout, second.stderr

    out = inferlab("export", "1-2", "-o", str(tmp_path / "peers.md"), "--title", "Peers", "--store", url)
    assert out.returncode == 0, out.stderr
    md = (tmp_path / "peers.md").read_text()
    assert md.startswith("# Peers") and "\\[vllm-bench\\]" in md and "\\[optimum-benchmark\\]" in md

    out = inferlab("export", "1", "2", "--format", "csv", "-o", str(tmp_path / "peers.txt"), "--store", url)
    assert out.returncode == 0 and (tmp_path / "peers.txt").read_text().startswith("run_id,label,source")


def test_command_line_errors_name_what_is_wrong(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    bad = tmp_path / "bad.json"
    bad.write_text('{"completed": 1}')
    imp = inferlab("import", str(bad), "--from", "vllm-bench", "--store", url)
    assert imp.returncode == 2 and "missing key 'duration'" in imp.stderr and str(bad) in imp.stderr
    exp = inferlab("export", "7", "-o", str(tmp_path / "r.html"), "--store", url)
    assert exp.returncode == 2 and "no run with id 7" in exp.stderr
    fmt = inferlab("export", "7", "-o", str(tmp_path / "r.docx"), "--store", url)
    assert fmt.returncode == 2 and "--format" in fmt.stderr
    rng = inferlab("export", "9-3", "-o", str(tmp_path / "r.md"), "--store", url)
    assert rng.returncode == 2 and "range '9-3' runs backwards" in rng.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json", "cli.db"]
