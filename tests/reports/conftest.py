"""Report fixtures: a real SQLite store holding real trials of the demo model (run once per session
through the real worker), a real failed trial, and imported vLLM and optimum-benchmark peers.

User text carries script payloads so every format's escaping is exercised on real records.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.store import Store
from engine.results import TrialResult

DATA = Path(__file__).parent / "data"
# Markers a script would leave if it ran in the browser; the report must show them as text only.
XSS_MODEL_NOTE = "<script>document.body.setAttribute('data-pwned','1')</script>"
XSS_TAG = "<img src=x onerror=\"document.title='pwned'\">|`tick`"
XSS_TITLE = "Batch sweep <script>alert(1)</script>"
XSS_MODEL = "<script>document.title='pwned'</script>org/model"  # lands in chart labels and tooltips
TINY = {"engine": "hf-generate", "model": "demo", "num_requests": 2, "warmup_requests": 0, "repetitions": 6,
        "input_tokens": 8, "output_tokens": 4, "idle_baseline_s": 0.0, "telemetry_hz": 10.0}


@dataclasses.dataclass(frozen=True)
class Payloads:
    """Hostile user text stored in the fixture runs (see module docs)."""

    title: str = XSS_TITLE
    note: str = XSS_MODEL_NOTE
    tag: str = XSS_TAG


@dataclasses.dataclass(frozen=True)
class ReportStore:
    url: str
    ok_ids: list[int]
    failed_id: int
    vllm_id: int
    optimum_id: int

    @property
    def all_ids(self) -> list[int]:
        return [*self.ok_ids, self.failed_id, self.vllm_id, self.optimum_id]


@pytest.fixture(scope="session")
def real_results(demo_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list[TrialResult]:
    """Two tiny real trials (batch 1 and 2) and one real failed trial, from one real worker."""
    from app.core.worker_client import WorkerClient

    data = tmp_path_factory.mktemp("data")
    (data / "models").mkdir()
    (data / "models" / demo_model_dir.name).symlink_to(demo_model_dir)
    # One compute thread: on a shared 2-core runner two spinning OpenMP threads slow the demo model ~10×.
    with WorkerClient(env={"INFERLAB_DATA_DIR": str(data), "INFERLAB_NUM_THREADS": "1"}) as worker:
        worker.start()
        results = [worker.run_trial({**TINY, "batch_size": bs}) for bs in (1, 2)]
        results.append(worker.run_trial({**TINY, "model": str(data / "no-such-model")}))
    assert [r.status for r in results] == ["ok", "ok", "failed"], [r.failure_message for r in results]
    return results


@pytest.fixture(scope="session")
def report_store(real_results: list[TrialResult], tmp_path_factory: pytest.TempPathFactory) -> ReportStore:
    """A SQLite store file with the real runs (hostile tags and notes) and two imported peers."""
    from app.reports.importers import import_file

    url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'inferlab.db'}"
    with Store(url) as store:
        sweep = store.create_sweep("bs", {"axes": {"batch_size": [1, 2]}}, "grid")
        ok_ids = [store.add_run(r, sweep_id=sweep, telemetry=r.telemetry, tags=[XSS_TAG, "demo"],
                                notes=f"run note {XSS_MODEL_NOTE}") for r in real_results[:2]]
        failed_id = store.add_run(real_results[2], sweep_id=sweep, notes="expected failure")
        hostile = json.loads((DATA / "vllm_serve_result.json").read_text())
        hostile["model_id"] = XSS_MODEL
        peer = tmp_path_factory.mktemp("peer") / "vllm_serve_result.json"
        peer.write_text(json.dumps(hostile))
        vllm_id = import_file(store, peer, "vllm-bench")
        optimum_id = import_file(store, DATA / "optimum_benchmark.json", "optimum-benchmark")
    return ReportStore(url, ok_ids, failed_id, vllm_id, optimum_id)


@pytest.fixture()
def store(report_store: ReportStore) -> Iterator[Store]:
    with Store(report_store.url) as s:
        yield s


@pytest.fixture(scope="session")
def xss() -> Payloads:
    return Payloads()


@pytest.fixture(scope="session")
def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("Debian chromium not installed (scripts/system-deps.sh installs it)")
    return path


@pytest.fixture(scope="session")
def poppler() -> Path:
    """The folder holding pdftoppm and pdftotext."""
    paths = [shutil.which(tool) for tool in ("pdftoppm", "pdftotext")]
    if None in paths:
        pytest.skip("pdftoppm/pdftotext not installed (poppler-utils; scripts/system-deps.sh installs it)")
    return Path(paths[0]).parent
