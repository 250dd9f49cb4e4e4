"""Importers map vLLM and optimum-benchmark result files onto our metric names, labelled by source."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app.reports.importers import LOADERS, ImportFormatError, import_file, optimum_benchmark, vllm_bench
from app.store import Store

DATA = Path(__file__).parent / "data"


def test_vllm_serve_result_maps_totals_latency_families_and_requests() -> None:
    raw = json.loads((DATA / "vllm_serve_result.json").read_text())
    r = vllm_bench.load(DATA / "vllm_serve_result.json")
    m = r.metrics
    assert m["output_tokens_per_s"].value == raw["output_throughput"]
    assert m["requests_per_s"].value == raw["request_throughput"]
    assert m["total_tokens_per_s"].value == raw["total_token_throughput"]
    assert m["ttft_ms_p50"].value == raw["median_ttft_ms"] and m["ttft_ms_mean"].value == raw["mean_ttft_ms"]
    assert m["ttft_ms_p99"].value == raw["p99_ttft_ms"] and m["e2e_ms_p99"].value == raw["p99_e2el_ms"]
    assert m["itl_ms_mean"].value == raw["mean_itl_ms"] and m["tpot_ms_p50"].value == raw["median_tpot_ms"]
    assert m["output_tokens_total"].value == 256 and m["wall_s"].value == raw["duration"]
    assert all(x.method.startswith("imported from vllm bench serve") for x in m.values() if x.value is not None)
    assert m["energy_j_per_output_token"].status == "unavailable"
    assert r.config["engine"] == "vllm" and r.config["model"] == raw["model_id"] and r.config["max_concurrency"] == 2
    assert len(r.requests) == 4 and r.requests[0].start_s == 0.0
    assert r.requests[2].ttft_ms == pytest.approx(raw["ttfts"][2] * 1e3)
    assert r.requests[3].e2e_ms == pytest.approx(raw["latencies"][3] * 1e3)


def test_vllm_speculative_fields_become_our_ratio_and_accepted_tokens_per_step() -> None:
    # A real `vllm bench serve` file against `vllm serve` with n-gram speculation (provenance beside it).
    raw = json.loads((DATA / "vllm_serve_ngram_spec.json").read_text())
    m = vllm_bench.load(DATA / "vllm_serve_ngram_spec.json").metrics
    rate, accepted = m["spec_acceptance_rate"], m["spec_mean_accepted_tokens"]
    assert rate.value == pytest.approx(5 / 107) and rate.unit == "ratio"  # vLLM: 4.67 (a percentage)
    assert rate.value == pytest.approx(raw["spec_decode_acceptance_rate"] / 100)
    assert accepted.value == pytest.approx(5 / 41)  # vLLM's length 1.12 counts the bonus token
    assert accepted.value == pytest.approx(raw["spec_decode_acceptance_length"] - 1)
    assert "spec_decode_draft_tokens" in rate.method and "spec_decode_num_drafts" in accepted.method


def test_vllm_speculative_rate_and_length_alone_are_converted(tmp_path: Path) -> None:
    raw = json.loads((DATA / "vllm_serve_ngram_spec.json").read_text())
    for key in ("spec_decode_num_drafts", "spec_decode_draft_tokens", "spec_decode_accepted_tokens"):
        del raw[key]
    (tmp_path / "r.json").write_text(json.dumps(raw))
    m = vllm_bench.load(tmp_path / "r.json").metrics
    assert m["spec_acceptance_rate"].value == pytest.approx(0.0467, abs=1e-4)
    assert m["spec_mean_accepted_tokens"].value == pytest.approx(0.122, abs=1e-3)
    assert "percentage" in m["spec_acceptance_rate"].method and "bonus" in m["spec_mean_accepted_tokens"].method


def test_imported_percentiles_carry_n_and_are_flagged_when_too_few() -> None:
    spec = vllm_bench.load(DATA / "vllm_serve_ngram_spec.json").metrics  # 16 requests, no per-request TTFTs
    assert spec["ttft_ms_p99"].n == 16 and spec["ttft_ms_p99"].n_distinct is None
    assert spec["ttft_ms_p99"].caveat == ("too few samples for p99: 16 values, distinct values not recorded; "
                                          "needs at least 100 distinct")
    assert spec["ttft_ms_p50"].caveat is None
    detailed = vllm_bench.load(DATA / "vllm_serve_result.json").metrics  # kept ttfts and itls
    assert (detailed["ttft_ms_p99"].n, detailed["ttft_ms_p99"].n_distinct) == (4, 4)
    assert (detailed["itl_ms_p99"].n, detailed["itl_ms_p99"].n_distinct) == (8, 7)
    assert "p99" in detailed["itl_ms_p99"].caveat and detailed["e2e_ms_p50"].caveat is None


def test_vllm_throughput_result_says_output_throughput_is_unavailable() -> None:
    r = vllm_bench.load(DATA / "vllm_throughput_result.json")
    assert r.metrics["total_tokens_per_s"].value == 3062.42
    assert r.metrics["requests_per_s"].value == 7.975 and r.metrics["wall_s"].value == 12.5391
    out = r.metrics["output_tokens_per_s"]
    assert out.status == "unavailable" and "total_num_tokens" in out.method


@pytest.mark.parametrize("name", ["optimum_benchmark_report.json", "optimum_benchmark.json"])
def test_optimum_benchmark_maps_units_to_ours(name: str) -> None:
    r = optimum_benchmark.load(DATA / name)
    m = r.metrics
    assert m["ttft_ms_mean"].value == pytest.approx(42.43)          # prefill latency mean 0.04243 s
    assert m["itl_ms_p99"].value == pytest.approx(15.2)             # per_token p99 0.0152 s
    assert m["decode_tokens_per_s"].value == 73.77 and m["prefill_tokens_per_s"].value == 3016.7
    assert m["peak_rss_bytes"].value == pytest.approx(1250.1e6)     # decode max_ram, MB = 1e6 B
    assert m["load_time_s"].value == 2.91
    j_per_tok = m["energy_j_per_output_token"]
    assert j_per_tok.status == "estimated" and j_per_tok.value == pytest.approx(3.6e6 / 2509960.0)
    assert "gpu_energy_j" not in m                                  # gpu 0.0 kWh: CPU-only run
    assert all("optimum-benchmark" in x.method for x in m.values() if x.value is not None)


def test_full_optimum_benchmark_adds_config_environment_and_estimated_throughput() -> None:
    r = optimum_benchmark.load(DATA / "optimum_benchmark.json")
    assert r.config["model"] == "HuggingFaceTB/SmolLM2-135M-Instruct" and r.config["engine"] == "optimum-pytorch"
    assert (r.config["batch_size"], r.config["input_tokens"], r.config["output_tokens"]) == (1, 128, 64)
    assert r.environment["cpu_count"] == 2 and r.environment["imported_from"] == "optimum-benchmark"
    out = r.metrics["output_tokens_per_s"]
    assert out.status == "estimated" and out.value == pytest.approx(64 / (0.04243 + 0.854))
    bare = optimum_benchmark.load(DATA / "optimum_benchmark_report.json").metrics["output_tokens_per_s"]
    assert bare.status == "unavailable"


@pytest.mark.parametrize(("loader", "content", "needle"), [
    (vllm_bench.load, '{"completed": 3}', "missing key 'duration'"),
    (vllm_bench.load, '{"duration": "fast", "completed": 1, "request_throughput": 1, "output_throughput": 1}',
     "'duration' should be a number"),
    (vllm_bench.load, "not json", "not JSON"),
    (optimum_benchmark.load, '{"report": {"train": {}}}', "no benchmark targets"),
    (optimum_benchmark.load, '{"decode": {"latency": {"unit": "ms", "mean": 1}}}', "decode.latency.unit"),
])
def test_bad_files_fail_with_the_file_and_key(tmp_path: Path, loader, content: str, needle: str) -> None:
    path = tmp_path / "result.json"
    path.write_text(content)
    with pytest.raises(ImportFormatError) as exc:
        loader(path)
    assert str(path) in str(exc.value) and needle in str(exc.value)


def test_import_file_stores_runs_labelled_with_their_source(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 's.db'}") as store:
        vid = import_file(store, DATA / "vllm_serve_result.json", "vllm-bench", tags=("peer",))
        oid = import_file(store, DATA / "optimum_benchmark.json", "optimum-benchmark")
        by_id = {r.id: r for r in store.list_runs()}
        detail = store.get_run(vid)
        with pytest.raises(ValueError, match="from: got 'lm-eval'"):
            import_file(store, DATA / "vllm_serve_result.json", "lm-eval")
    assert (by_id[vid].source, by_id[oid].source) == ("vllm-bench", "optimum-benchmark")
    assert by_id[vid].tags == ("peer",) and len(detail.requests) == 4


@pytest.mark.parametrize(("kind", "content", "fragment"), [
    ("optimum-benchmark", {"prefill": {"latency": True}}, "prefill.'latency' should be a JSON object"),
    ("optimum-benchmark", {"prefill": {"throughput": [1]}}, "prefill.'throughput' should be a JSON object"),
    ("optimum-benchmark", {"config": {"scenario": "x"}, "report": {"decode": {}}}, "config.'scenario' should be a JSON object"),
    ("vllm-bench", {"duration": 1, "completed": 1, "request_throughput": 1, "output_throughput": 1,
                    "input_lens": [1], "output_lens": [1], "ttfts": ["soon"], "latencies": [1]}, "ttfts[0]"),
    ("vllm-bench", {"duration": 1, "completed": 1, "request_throughput": 1, "output_throughput": 1,
                    "input_lens": [1], "output_lens": [1], "ttfts": [0.1], "latencies": [1], "start_times": []},
     "differ in length"),
])
def test_wrongly_typed_parts_are_import_errors_naming_the_key(kind: str, content: dict, fragment: str,
                                                              tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text(json.dumps(content))
    with pytest.raises(ImportFormatError, match=re.escape(fragment)):
        LOADERS[kind](path)


def test_a_throughput_figure_that_is_null_is_left_out_not_a_measured_zero(tmp_path: Path) -> None:
    path = tmp_path / "throughput.json"
    path.write_text(json.dumps({"elapsed_time": 2.0, "tokens_per_second": 50.0, "requests_per_second": None}))
    result = vllm_bench.load(path)
    assert "requests_per_s" not in result.metrics and result.metrics["wall_s"].value == 2.0
