"""The Experiment view: a form generated from the option schema that flags invalid values by field."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QStandardItemModel

from app.sweeps import load_profile
from app.sweeps.planning import plan_grid
from app.ui.experiment_view import ExperimentView
from app.ui.trial_sizing import CPU_TRIAL
from app.ui.worker_probe import nvml_gpus
from engine.config import all_options
from tests.hardware import nvidia_gpu_count

REPO = Path(__file__).resolve().parents[2]


def _view(qtbot) -> ExperimentView:
    view = ExperimentView()
    qtbot.addWidget(view)
    view.show()
    return view


def test_form_has_an_editor_with_help_tooltip_for_every_option(qtbot) -> None:
    view = _view(qtbot)
    for engine in ("hf-generate", "vllm", "openai"):
        view.engine_box.setCurrentIndex(view.engine_box.findData(engine))
        infos = all_options(engine)
        assert set(view.form.editors) == set(infos) - {"model"}
        for name, editor in view.form.editors.items():
            assert infos[name].help in editor.toolTip()
    assert view.form.infos["seed"].advanced and view.form.advanced_box.title() == "Advanced"


def test_invalid_value_is_flagged_on_its_field_and_blocks_run(qtbot) -> None:
    view = _view(qtbot)
    view.form.set_values({"workload": "jsonl"})
    assert view.validate() is None
    label = view.form.error_labels["prompt_file"]
    assert label.isVisible() and "required" in label.text()
    assert "prompt_file" in view.validation_label.text()
    assert not view.run_button.isEnabled()
    view.form.set_values({"workload": "synthetic"})
    assert view.validate() is not None
    assert not label.isVisible() and view.run_button.isEnabled()


def test_unknown_model_path_and_bad_axis_value_are_named(qtbot, tmp_path: Path) -> None:
    view = _view(qtbot)
    view.model_box.setCurrentText(str(tmp_path / "missing.gguf"))
    assert view.validate() is None
    assert "model" in view.validation_label.text() and "no such file" in view.validation_label.text()
    view.model_box.setCurrentText("demo")
    view.sweep.add_axis("batch_size", "1, two")
    assert view.validate() is None
    assert "axis batch_size" in view.validation_label.text()


def test_options_the_hardware_cannot_run_are_disabled_with_the_reason(qtbot) -> None:
    view = _view(qtbot)
    gpus = nvml_gpus()
    assert gpus["count"] == (nvidia_gpu_count() or 0)
    view.set_hello({"backends": {"vllm": {"available": False, "reason": "vllm not installed"},
                                 "hf-generate": {"available": True, "reason": "transformers 5"}},
                    "gpus": gpus})
    engines = view.engine_box.model()
    assert isinstance(engines, QStandardItemModel)
    assert not engines.item(view.engine_box.findData("vllm")).isEnabled()
    assert "vllm not installed" in view.engine_status.text()
    device = view.form.editors["device"].model()
    cuda = device.item(view.form.editors["device"].findData("cuda"))
    if gpus["count"] == 0:
        assert not cuda.isEnabled() and "needs an NVIDIA GPU" in cuda.toolTip()
    else:
        assert cuda.isEnabled()


def test_profile_saved_from_the_form_loads_back_identically(qtbot, tmp_path: Path) -> None:
    view = _view(qtbot)
    view.form.set_values({"output_tokens": 16, "temperature": 0.5})
    view.sweep.add_axis("batch_size", "1, 2, 4 stop_after_oom")
    view.sweep.add_axis("input_tokens", "16..64 log")
    view.sweep.strategy.setCurrentText("random")
    view.sweep.n_trials.setValue(3)
    view.sweep.constraints_edit.setPlainText("ttft_ms_p99 <= 200")
    path = tmp_path / "p.toml"
    view.save_profile_file(path)
    other = _view(qtbot)
    other.load_profile_file(path)
    assert other.build_profile() == view.build_profile()
    assert other.form.values()["output_tokens"] == 16
    assert other.sweep.n_trials.value() == 3
    assert [(a.name, a.stop_after_oom) for a in other.sweep.axes()] == [("batch_size", True), ("input_tokens", False)]
    assert "stop_after_oom = true" in path.read_text()
    assert other.sweep.axes_table.item(0, 1).text() == "1, 2, 4 stop_after_oom"


def test_an_engine_axis_profile_loads_saves_and_warns(qtbot, tmp_path: Path) -> None:
    shipped = load_profile(REPO / "profiles" / "study-cpu.toml")
    view = _view(qtbot)
    view.load_profile_file(REPO / "profiles" / "study-cpu.toml")
    assert view.engine_box.currentData() == "hf-pipeline" and view.form.values()["input_tokens"] == 32
    assert [a.name for a in view.sweep.axes()] == ["engine", "batch_size", "output_tokens"]
    assert view.validation_label.text() == "Ready: the configuration is valid."
    path = tmp_path / "saved.toml"
    view.save_profile_file(path)
    saved = load_profile(path)
    assert plan_grid(saved) == plan_grid(shipped) and saved.engine_options == shipped.engine_options
    view.sweep.add_axis("output_tokens", "5, 10", {"engine": ("hf-pipeline",)})  # hf-pipeline only: vllm's
    view.sweep.axes_table.removeRow(2)  # the shared output_tokens axis               is the default (64)
    assert view.validate() is not None
    assert "Warning: output_tokens differs between engines (hf-pipeline: swept over 5, 10; vllm: 64)" in \
        view.validation_label.text()


def test_an_axis_on_another_engines_option_survives_load_and_save(qtbot, tmp_path: Path) -> None:
    source = tmp_path / "two.toml"
    source.write_text('name = "two"\nmodel = "demo"\n[options]\ndevice = "cpu"\n[options.vllm]\n'
                      'enforce_eager = true\n[axes]\nengine = ["hf-pipeline", "vllm"]\nbatch_size = [1, 2]\n'
                      'max_num_seqs = [8, 16]\n', encoding="utf-8")
    view = _view(qtbot)
    view.load_profile_file(source)
    assert view.validation_label.text() == "Ready: the configuration is valid."
    saved = tmp_path / "saved.toml"
    view.save_profile_file(saved)
    assert plan_grid(load_profile(saved)) == plan_grid(load_profile(source))


def test_bad_profile_file_reports_file_and_key(qtbot, tmp_path: Path) -> None:
    view = _view(qtbot)
    path = tmp_path / "bad.toml"
    path.write_text('name = "x"\nengine = "hf-generate"\n[options]\nbatch_size = "many"\n', encoding="utf-8")
    view.load_profile_file(path)
    assert "bad.toml" in view.validation_label.text() and "batch_size" in view.validation_label.text()


def test_openai_form_refuses_what_the_backend_refuses_before_launch(qtbot) -> None:
    view = _view(qtbot)
    view.engine_box.setCurrentIndex(view.engine_box.findData("openai"))
    quantization = view.form.editors["quantization"]
    int8 = quantization.model().item(quantization.findData("int8-weight"))
    assert not int8.isEnabled() and "decided by the server" in int8.toolTip()
    view.form.set_values({"quantization": "int8-weight"})
    assert view.validate() is None
    assert "quantization" in view.validation_label.text() and "decided by the server" in view.validation_label.text()
    view.form.set_values({"quantization": "none"})
    view.model_box.setCurrentText("org/not-in-the-local-cache")  # the server's tokenizer is read locally
    assert view.validate() is None
    assert "model" in view.validation_label.text() and "never downloads" in view.validation_label.text()
    view.model_box.setCurrentText("demo")
    assert view.validate() is not None


def test_the_machine_picker_offers_the_ssh_config_hosts_and_the_profile_carries_it(
        qtbot, tmp_path: Path, monkeypatch) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "config").write_text("Host gpu1 gpu2  # two boxes\nHost *.lab !gpu3 gpu?\n"
                                          "  User me\nHost=bastion\n")
    monkeypatch.setenv("HOME", str(home))  # a temp ssh config; the real ~/.ssh is never read here
    view = _view(qtbot)
    names = [view.machine_box.itemText(i) for i in range(view.machine_box.count())]
    assert names == ["This computer", "gpu1", "gpu2", "bastion"]
    assert view.build_profile().host is None
    view.machine_box.setCurrentIndex(view.machine_box.findData("gpu2"))
    path = tmp_path / "remote.toml"
    view.save_profile_file(path)
    other = _view(qtbot)
    other.load_profile_file(path)
    assert other.machine_box.currentData() == "gpu2" and other.build_profile().host == "gpu2"


# A stand-in for a GPU machine's report (no NVIDIA GPU here): the shape worker_probe.nvml_gpus returns.
STAND_IN_GPU_REPORT = {"count": 2, "names": ["NVIDIA H200", "NVIDIA H200"], "reason": ""}
HF_READY = {"hf-generate": {"available": True, "reason": "transformers 5"}}


def test_first_trial_defaults_are_sized_to_the_hardware_the_worker_reports(qtbot) -> None:
    engine = {k: i.default for k, i in all_options("hf-generate").items()}
    gpus = nvml_gpus()  # this machine's real report
    cpu_view = _view(qtbot)
    cpu_view.form.set_values({"output_tokens": 24})  # the user's own choice is kept
    cpu_view.set_hello({"backends": HF_READY, "gpus": gpus})
    shown = cpu_view.form.values()
    if gpus["count"]:
        assert all(shown[k] == engine[k] for k in CPU_TRIAL if k != "output_tokens")
    else:
        assert {k: shown[k] for k in CPU_TRIAL} == {**CPU_TRIAL, "output_tokens": 24}
        note = cpu_view.defaults_note.text()
        assert "sized to this machine: no GPU" in note and "batch 4, 32 → 16 tokens, 4 requests" in note
        assert cpu_view.defaults_note.toolTip() == gpus["reason"]
        assert cpu_view.build_profile().base["num_requests"] == CPU_TRIAL["num_requests"]  # what a run uses
    gpu_view = _view(qtbot)
    gpu_view.set_hello({"backends": HF_READY, "gpus": STAND_IN_GPU_REPORT})
    assert {k: gpu_view.form.values()[k] for k in CPU_TRIAL} == {k: engine[k] for k in CPU_TRIAL}
    assert "the engine's (batch 8, 128 → 64 tokens, 32 requests, 8 warm-up, 3 repetitions)" in \
        gpu_view.defaults_note.text() and "2 GPU(s) the worker reports (NVIDIA H200)" in gpu_view.defaults_note.text()
