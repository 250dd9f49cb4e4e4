"""A `quantization` that contradicts the quantization a checkpoint already carries is refused at the
front door (profile loading, `--set`), exit code 2, naming file, line and key, from the checkpoint's
config.json or GGUF header alone: no worker starts, the store is never opened, and the app process imports
neither the `gguf` package nor torch for it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli.exit_codes import Exit
from app.cli.main import main
from engine.models import demo

REPO = Path(__file__).resolve().parents[2]
AWQ = {"quant_method": "awq", "bits": 4, "group_size": 128, "version": "gemm", "zero_point": True}


def _awq_folder(root: Path) -> Path:
    """A model folder whose config.json says it is AWQ-quantized (no weights: nothing may load them)."""
    folder = root / "awq-model"
    folder.mkdir()
    config = json.loads((demo.demo_model_dir() / "config.json").read_text()) if demo.is_materialized() else {}
    (folder / "config.json").write_text(json.dumps({**config, "quantization_config": AWQ}))
    return folder


def _profile(model: str, rest: str) -> str:
    return (f'name = "p"\nengine = "hf-generate"\nmodel = {json.dumps(model)}\nrepetitions = 1\n\n'
            f'[options]\ndevice = "cpu"\n{rest}')


def _refused(capsys: pytest.CaptureFixture[str], args: list[str], store: Path) -> str:
    assert main([*args, "--store", f"sqlite:///{store}"]) == Exit.USAGE
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    assert not store.exists()
    return err


def test_profile_option_contradicting_an_awq_checkpoint_is_refused_at_its_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.toml"
    path.write_text(_profile(str(_awq_folder(tmp_path)), 'quantization = "int8-weight"\n'))
    err = _refused(capsys, ["run", str(path)], tmp_path / "s.db")
    assert f"{path}:8: quantization:" in err and "already quantized (awq" in err and "config.json" in err


def test_axis_value_contradicting_the_checkpoint_is_refused_at_the_axis(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.toml"
    path.write_text(_profile(str(_awq_folder(tmp_path)), '\n[axes]\nquantization = ["none", "int4-weight"]\n'))
    err = _refused(capsys, ["sweep", str(path)], tmp_path / "s.db")
    assert f"{path}:10: quantization:" in err and "'int4-weight' would contradict it" in err


def test_set_quantization_on_the_gguf_file_is_refused_from_its_header(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gguf = str(demo.demo_gguf_path())
    err = _refused(capsys, ["run", "--engine", "hf-generate", "--model", gguf, "--set", "quantization=int4-weight"],
                   tmp_path / "s.db")
    assert "quantization:" in err and "gguf-q4_1, read from its GGUF file type" in err


def test_awq_on_the_unquantized_demo_is_refused(demo_model_dir: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    err = _refused(capsys, ["run", "--engine", "hf-generate", "--model", "demo", "--set", "quantization=awq"],
                   tmp_path / "s.db")
    assert "quantization:" in err and "carries no quantization_config" in err


def test_the_check_reads_the_header_without_heavy_imports(tmp_path: Path) -> None:
    code = ("import sys\nfrom app.cli.main import main\n"
            f"code = main(['run', '--engine', 'hf-generate', '--model', {str(demo.demo_gguf_path())!r}, "
            f"'--set', 'quantization=int8-weight', '--store', 'sqlite:///{tmp_path}/s.db'])\n"
            "print(code, sorted(m for m in ('gguf', 'torch', 'transformers') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(Path.home())})
    assert done.stdout.strip().splitlines()[-1] == f"{int(Exit.USAGE)} []", done.stdout + done.stderr


def test_a_gguf_named_file_without_a_gguf_header_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"not a model at all")
    err = _refused(capsys, ["run", "--engine", "hf-generate", "--model", str(fake), "--set",
                            "quantization=int8-weight"], tmp_path / "s.db")
    assert "model:" in err and f"{fake}: cannot read the GGUF header" in err and "no GGUF magic" in err
