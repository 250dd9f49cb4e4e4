"""The seed study's real A100 data (allData.csv) imported through the shipped mapping, checked against an
independent pandas computation of the same grouping: best per model and engine, vLLM/HF ratios, OOM edge."""

from __future__ import annotations

import itertools
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats as scipy_stats

from app.reports.export import write_report
from app.reports.importers import ImportFormatError, import_table
from app.store import Store
from app.study.report import StudySpec, build_study_report
from app.study.tables import across, best_per_group, points

REPO = Path(__file__).resolve().parents[2]
ALL_DATA = Path(os.environ.get("INFERLAB_INFPOP_CSV", str(REPO.parent / "shared" / "data" / "infpop" / "allData.csv")))
MAPPING = REPO / "profiles" / "imports" / "infpop-a100.toml"
KEYS = ["model", "engine", "nrGPUs", "batchSize"]
ENGINE = {"autohf": "hf-pipeline", "vLLM": "vllm"}

pytestmark = pytest.mark.skipif(not ALL_DATA.exists(), reason=f"the study's data is not beside the checkout: {ALL_DATA}")


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Store:
    url = f"sqlite:///{tmp_path_factory.mktemp('infpop') / 'infpop.db'}"
    out = subprocess.run([sys.executable, "-m", "app.main", "import", str(ALL_DATA), "--map", str(MAPPING),
                          "--store", url], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "as 8847 run(s) 1-8847 (source infpop)" in out.stdout
    store = Store(url)
    yield store
    store.close()


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return pd.read_csv(ALL_DATA, index_col=0)


def test_every_row_is_a_run_and_failed_rows_keep_their_cause(imported: Store, frame: pd.DataFrame) -> None:
    runs = imported.list_runs(limit=None)
    assert len(runs) == len(frame) == 8847
    causes = pd.Series([r.failure_cause or "ok" for r in runs]).value_counts().to_dict()
    expected = frame.errors_l.map({"ok": "ok", "CUDA out of memory": "oom", "CUDA error": "crash",
                                   "killed-noInfo": "killed"}).value_counts().to_dict()
    assert causes == expected and causes["oom"] == 2215
    assert {r.source for r in runs} == {"infpop"}
    assert all(r.config["output_tokens"] == 5 for r in runs)


def test_best_per_model_and_engine_and_the_ratios_match_pandas(imported: Store, frame: pd.DataFrame) -> None:
    runs = imported.list_runs(limit=None)
    table = best_per_group(runs, "output_tokens_per_s", group_by=["model"], compare="engine")

    medians = frame[frame.errors_l == "ok"].groupby(KEYS).throughput.median()
    best = medians.groupby(["model", "engine"]).max()
    assert {(row.group[0], engine): point.value for row in table for engine, point in row.best.items()} == {
        (model, ENGINE[engine]): value for (model, engine), value in best.items()}

    ratio = (best.xs("vLLM", level="engine") / best.xs("autohf", level="engine")).dropna()
    ours = {row.group[0]: row.ratios[("vllm", "hf-pipeline")] for row in table
            if ("vllm", "hf-pipeline") in row.ratios}
    assert ours.keys() == set(ratio.index)
    assert all(math.isclose(ours[m], ratio[m], rel_tol=1e-12) for m in ours)
    assert 1.0 < min(ours.values()) and max(ours.values()) > 10  # the study's "vLLM is 1.1x to 27x HF"

    best_at = medians.groupby(["model", "engine"]).idxmax()  # the configuration of each best
    for row in table:
        for engine, point in row.best.items():
            inverse = {v: k for k, v in ENGINE.items()}[engine]
            _, _, gpus, batch = best_at[(row.group[0], inverse)]
            assert (point.option("num_gpus"), point.option("batch_size")) == (gpus, batch)


def test_the_out_of_memory_edge_matches_pandas(imported: Store, frame: pd.DataFrame) -> None:
    runs = imported.list_runs(limit=None)
    ours = {(p.option("model"), p.option("engine"), p.option("num_gpus"), p.option("batch_size"))
            for p in points(runs, "output_tokens_per_s") if p.oom}
    by_point = frame.groupby(KEYS).errors_l
    all_failed_oom = by_point.agg(lambda s: bool((s != "ok").all() and (s == "CUDA out of memory").any()))
    expected = {(m, ENGINE[e], g, b) for (m, e, g, b), oom in all_failed_oom.items() if oom}
    assert ours == expected and len(ours) > 100


def test_a_wide_parquet_table_imports_one_run_per_filled_cell(tmp_path: Path, frame: pd.DataFrame) -> None:
    ok = frame[frame.errors_l == "ok"].groupby(KEYS).throughput.median().reset_index()
    wide = ok.pivot_table(index=["model", "engine", "nrGPUs"], columns="batchSize", values="throughput")
    wide.columns = [f"bs{c}" for c in wide.columns]
    wide = wide.reset_index()
    for column in wide.filter(like="bs"):  # a column that holds text too is a text column in Parquet
        wide[column] = [None if pd.isna(v) else repr(float(v)) for v in wide[column]]
    wide.loc[0, "bs1028"] = "OOM"  # a failed cell: text where a number should be
    wide.to_parquet(tmp_path / "wide.parquet")
    mapping = tmp_path / "wide.toml"
    mapping.write_text('source = "wide-test"\nshape = "wide"\n[options]\nmodel = "model"\nengine = "engine"\n'
                       'num_gpus = "nrGPUs"\n[wide]\noption = "batch_size"\ncolumns = "bs(?P<value>\\\\d+)"\n'
                       'name = "output_tokens_per_s"\nunit = "tok/s"\n[causes]\nOOM = "oom"\n')
    with Store(f"sqlite:///{tmp_path / 'w.db'}") as store:
        ids, source = import_table(store, tmp_path / "wide.parquet", mapping)
        runs = store.list_runs(limit=None)
    filled = wide.filter(like="bs").notna().to_numpy().sum()
    assert source == "wide-test" and len(ids) == len(runs) == filled
    failed = [r for r in runs if r.status == "failed"]
    assert len(failed) == 1 and failed[0].failure_cause == "oom" and failed[0].config["batch_size"] == 1028
    first = wide.iloc[1]
    got = {r.config["batch_size"]: r.value("output_tokens_per_s") for r in runs
           if (r.model, r.engine, r.config["num_gpus"]) == (first.model, first.engine, first.nrGPUs)}
    assert got == {int(c[2:]): float(v) for c, v in first.filter(like="bs").dropna().items()}


def test_a_status_the_mapping_does_not_know_is_refused_naming_the_row(tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    table.write_text("model,engine,nrGPUs,batchSize,throughput,errors_l\nm,vLLM,1,1,3.5,ok\nm,vLLM,1,2,,NCCL hang\n")
    with Store(f"sqlite:///{tmp_path / 't.db'}") as store, pytest.raises(ImportFormatError) as err:
        import_table(store, table, MAPPING)
    assert "row 2" in str(err.value) and "'NCCL hang'" in str(err.value) and "[causes]" in str(err.value)
    with Store(f"sqlite:///{tmp_path / 't.db'}") as store:
        assert store.list_runs() == []  # nothing written


def test_the_study_commands_print_the_tables_pandas_and_scipy_compute(imported: Store, frame: pd.DataFrame) -> None:
    url = str(imported.engine.url)
    best = subprocess.run([sys.executable, "-m", "app.main", "study", "best", "--store", url], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert best.returncode == 0, best.stderr
    medians = frame[frame.errors_l == "ok"].groupby(KEYS).throughput.median()
    top = medians.groupby(["model", "engine"]).max().unstack()
    line = next(ln for ln in best.stdout.splitlines() if ln.startswith("Bloom-7b1 "))
    assert line.split()[-1] == f"{top.loc['Bloom-7b1', 'vLLM'] / top.loc['Bloom-7b1', 'autohf']:.3g}"

    out = subprocess.run([sys.executable, "-m", "app.main", "study", "improvement", "vllm", "hf-pipeline",
                          "--json", "--store", url], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    rows = {tuple(r["group"]): r for r in json.loads(out.stdout)}
    both = medians.unstack("engine").dropna()
    gains = (both["vLLM"] / both["autohf"] - 1) * 100
    for model, g in gains.groupby(level="model"):
        row = rows[(model,)]
        assert row["pairs"] == len(g)
        assert math.isclose(row["median_gain_pct"], g.median(), rel_tol=1e-9)
        pair = both.loc[model]
        if len(g) >= 2:
            assert math.isclose(row["test"]["p"], scipy_stats.wilcoxon(pair["vLLM"], pair["autohf"]).pvalue)
        signs = [(x > y) - (x < y) for x in pair["vLLM"] for y in pair["autohf"]]
        assert math.isclose(row["cliffs_delta"], sum(signs) / len(signs))
    assert rows[("all",)]["pairs"] == len(gains)
    assert math.isclose(rows[("all",)]["mean_gain_pct"], gains.mean(), rel_tol=1e-9)


def _samples(frame: pd.DataFrame, model: str, engine: str, option: str) -> tuple[list[int], list[list[float]]]:
    """The ok rows' throughput of one model and engine, one sample per value of `option` (pandas only)."""
    ok = frame[(frame.errors_l == "ok") & (frame.model == model) & (frame.engine == engine)]
    by = ok.dropna(subset=["throughput"]).groupby(option).throughput
    values = sorted(by.groups)
    return values, [by.get_group(v).tolist() for v in values]


def _delta(a: list[float], b: list[float]) -> float:
    signs = [(x > y) - (x < y) for x in a for y in b]
    return sum(signs) / len(signs)


def test_the_across_table_matches_scipy_on_the_raw_rows(imported: Store, frame: pd.DataFrame) -> None:
    rows = {r.group: r for r in across(imported.list_runs(limit=None), "output_tokens_per_s", "num_gpus",
                                       ["model", "engine"])}
    for model, engine in (("Phi-2", "autohf"), ("Bloom-1b7", "vLLM")):
        row = rows[(model, ENGINE[engine])]
        values, samples = _samples(frame, model, engine, "nrGPUs")
        assert list(row.values) == values and list(row.n) == [len(s) for s in samples] and len(values) == 4
        kw, f, hsd = (scipy_stats.kruskal(*samples), scipy_stats.f_oneway(*samples),
                      scipy_stats.tukey_hsd(*samples))
        assert math.isclose(row.kruskal.statistic, kw.statistic) and math.isclose(row.kruskal.p, kw.pvalue)
        assert math.isclose(row.anova.statistic, f.statistic) and math.isclose(row.anova.p, f.pvalue)
        pairs = {(p.a, p.b): p for p in row.pairs}
        assert len(pairs) == 6  # every pair of 4 values
        for i, j in itertools.combinations(range(4), 2):
            pair = pairs[values[i], values[j]]
            assert pair.tukey.n == (len(samples[i]), len(samples[j]))
            assert math.isclose(pair.tukey.p, hsd.pvalue[i, j]) and math.isclose(pair.tukey.statistic,
                                                                                 hsd.statistic[i, j])
            mw = scipy_stats.mannwhitneyu(samples[i], samples[j], alternative="two-sided")
            assert math.isclose(pair.mann_whitney.p, mw.pvalue)
            assert math.isclose(pair.cliffs_delta, _delta(samples[i], samples[j]))


def test_the_across_command_pairs_adjacent_values_past_six_and_the_report_shows_the_table(
        imported: Store, frame: pd.DataFrame, tmp_path: Path) -> None:
    url = str(imported.engine.url)
    out = subprocess.run([sys.executable, "-m", "app.main", "study", "across", "--across", "batch_size", "--json",
                          "--store", url], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    row = next(r for r in json.loads(out.stdout) if r["group"] == ["Bloom-1b7", "vllm"])
    values, samples = _samples(frame, "Bloom-1b7", "vLLM", "batchSize")
    assert row["values"] == values and len(values) > 6
    assert [(p["a"], p["b"]) for p in row["pairs"]] == list(itertools.pairwise(values))
    assert math.isclose(row["kruskal"]["p"], scipy_stats.kruskal(*samples).pvalue)
    hsd = scipy_stats.tukey_hsd(*samples)  # adjusted over every pair, not only the adjacent ones shown
    assert [p["tukey"]["p"] for p in row["pairs"]] == pytest.approx([hsd.pvalue[i, i + 1]
                                                                      for i in range(len(values) - 1)])

    report = build_study_report(imported.list_runs(limit=None), StudySpec(), now=time.time())
    html = write_report(report, "html", tmp_path / "study.html").read_text()
    values, samples = _samples(frame, "Phi-2", "autohf", "nrGPUs")
    f = scipy_stats.f_oneway(*samples)
    assert '<section id="across">' in html and "across num_gpus per model · engine" in html
    assert f"{f.statistic:.4g}, p={f.pvalue:.2g}" in html and "every other option" in html
