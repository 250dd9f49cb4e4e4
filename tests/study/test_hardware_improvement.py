"""Two hardware compared like two options: runs imported with different `[hardware] gpu_name`, then
`inferlab study best/improvement` keyed by the environment field, checked against an independent
computation made here from the rows written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[2]
MAPPING = """source = "{source}"
shape = "long"
status = "status"
ok_values = ["ok"]
[options]
model = "model"
batch_size = "bs"
[constants]
engine = "hf-pipeline"
[metrics.tps]
name = "output_tokens_per_s"
unit = "tok/s"
[hardware]
gpu_name = "{gpu}"
"""


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.main", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


def test_two_gpus_are_compared_by_their_environment_field(tmp_path: Path) -> None:
    rows = {"A100": [("m1", 1, 10.0), ("m1", 2, 18.0), ("m1", 4, 30.0), ("m2", 1, 5.0), ("m2", 2, 9.0)],
            "V100": [("m1", 1, 7.0), ("m1", 2, 12.0), ("m1", 4, 21.0), ("m2", 1, 4.0), ("m2", 2, 6.5)]}
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    for gpu, data in rows.items():
        frame = pd.DataFrame(data, columns=["model", "bs", "tps"]).assign(status="ok")
        frame.to_csv(tmp_path / f"{gpu}.csv", index=False)
        (tmp_path / f"{gpu}.toml").write_text(MAPPING.format(source=gpu.lower(), gpu=f"NVIDIA {gpu}"))
        out = _cli("import", str(tmp_path / f"{gpu}.csv"), "--map", str(tmp_path / f"{gpu}.toml"), "--store", url)
        assert out.returncode == 0, out.stderr
    best = _cli("study", "best", "--compare", "gpu_name", "--store", url, "--json")
    assert best.returncode == 0, best.stderr
    table = {tuple(r["group"]): r for r in json.loads(best.stdout)}
    for model in ("m1", "m2"):
        expected = {f"NVIDIA {gpu}": max(v for m, _, v in data if m == model) for gpu, data in rows.items()}
        assert {k: p["value"] for k, p in table[(model,)]["best"].items()} == expected
    gain = _cli("study", "improvement", "NVIDIA A100", "NVIDIA V100", "--between", "gpu_name", "--store", url,
                "--json")
    assert gain.returncode == 0, gain.stderr
    by_group = {tuple(r["group"]): r for r in json.loads(gain.stdout)}
    a = {(m, b): v for m, b, v in rows["A100"]}
    v = {(m, b): v for m, b, v in rows["V100"]}
    pct = pd.Series({k: 100 * (a[k] / v[k] - 1) for k in a})
    assert by_group[("all",)]["pairs"] == len(pct)
    assert abs(by_group[("all",)]["median_gain_pct"] - pct.median()) < 1e-9
    assert abs(by_group[("all",)]["mean_gain_pct"] - pct.mean()) < 1e-9
