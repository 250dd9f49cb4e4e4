"""`inferlab study report|replay|across` refuse bad input with exit 2 and one line naming it, before the store is
opened or any file is written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.main", "study", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize(("args", "message"), [
    (["report", "1-3", "-o", "{tmp}/study.txt"], "-o: 'study.txt' must end in .html or .pdf"),
    (["report", "-o", "{tmp}/study.html"], "RUNS: give run ids, --sweep or --tag"),
    (["report", "3-1", "-o", "{tmp}/study.html"], "runs: range '3-1' runs backwards"),
    (["replay", "--seeds", "0"], "--seeds and --budget must be at least 1"),
])
def test_bad_input_is_refused_before_the_store_opens(tmp_path: Path, args: list[str], message: str) -> None:
    store = tmp_path / "never" / "store.db"  # a folder that does not exist: opening it would fail differently
    out = _cli(*(a.format(tmp=tmp_path) for a in args), "--store", f"sqlite:///{store}")
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip() == f"error: {message}"
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_replay_of_a_store_without_a_grid_says_so(tmp_path: Path) -> None:
    out = _cli("replay", "--store", f"sqlite:///{tmp_path / 'empty.db'}")
    assert out.returncode == 2
    assert out.stderr.strip() == ("error: no group has an ok run with output_tokens_per_s on the axes num_gpus, "
                                  "batch_size")


def test_across_of_a_store_without_two_values_says_so(tmp_path: Path) -> None:
    out = _cli("across", "--across", "batch_size", "--store", f"sqlite:///{tmp_path / 'empty.db'}")
    assert out.returncode == 2
    assert out.stderr.strip() == ("error: no group has ok runs with output_tokens_per_s at two values of "
                                  "batch_size or more")
