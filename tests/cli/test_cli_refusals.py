"""The CLI's front door: every hostile or careless input is refused in one line naming file, line and
key, with exit code 2, before a worker starts or the store is touched; a store that cannot be opened
is one line and exit code 3; the exit-code table is one table (`--help` and the README show it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.cli.exit_codes import MEANINGS, Exit
from app.cli.main import main

REPO = Path(__file__).resolve().parents[2]
GOOD = ('name = "p"\nengine = "hf-generate"\nmodel = "demo"\nrepetitions = 1\n\n[options]\ndevice = "cpu"\n'
        "input_tokens = 8\noutput_tokens = 2\nnum_requests = 2\nwarmup_requests = 0\n")


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    return err


BAD_PROFILES = {
    "binary": (b'name = "p"\n\x89PNG\r\n\x1a\n\xff\xfe\x00', ":2: not UTF-8 text"),
    "nested": (GOOD.encode() + b"batch_size = " + b"[" * 3000 + b"]" * 3000, "nested too deeply"),
    "nan temperature": (GOOD.encode() + b"temperature = nan\n", ":12: options.temperature: got nan"),
    "control tag": (GOOD.replace('repetitions = 1', 'repetitions = 1\ntags = ["a\\u0007"]').encode(),
                    ":5: tags[0]: contains the non-printable character"),
    "huge name": (GOOD.replace('"p"', '"' + "n" * 300_000 + '"').encode(), ":1: name: is 300,000 characters"),
    "missing model": (GOOD.replace('"demo"', '"/no/such/model/dir"').encode(),
                      ":3: model: no such file or folder: /no/such/model/dir"),
    "openai file url": (b'name = "p"\nengine = "openai"\n\n[options]\nbase_url = "file:///etc/passwd"\n',
                        ":5: base_url: a trial of the grid sweep is invalid: got 'file:///etc/passwd'; "
                        "expected an http:// or https://"),
    "speculative batch 8": (GOOD.encode() + b'speculative = "prompt-lookup"\nbatch_size = 8\n',
                            ":13: batch_size: a trial of the grid sweep is invalid"),
}


@pytest.mark.parametrize("name", list(BAD_PROFILES))
def test_a_bad_profile_exits_2_in_one_line_and_writes_nothing(name: str, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    content, expected = BAD_PROFILES[name]
    path = tmp_path / "bad.toml"
    path.write_bytes(content)
    store = tmp_path / "store.db"
    for command in ("sweep", "run"):
        assert main([command, str(path), "--store", f"sqlite:///{store}"]) == Exit.USAGE
        err = _one_line_error(capsys)
        assert str(path) in err and expected in err, err
        assert len(err) < 600
    assert not store.exists()  # the store was never opened: no worker ran, nothing was written


@pytest.mark.parametrize(("override", "expected"), [
    ("temperature=nan", "temperature: got nan; expected a finite number"),
    ("temperature=inf", "temperature: got inf; expected a finite number"),
    ("model=/no/such/model/dir", "model: no such file or folder"),
    ("attn_implementation=a\x1bb", "non-printable character '\\x1b'"),
    ("batch_size=" + "[" * 3000, "not a single value"),
    ("batch_size=" + "9" * 4000, "batch_size: got <an integer of about 400"),
    ("x" * 100 + "=1", "--set key: is 100 characters long"),
    ("temperature=" + "1" * 5000, "--set temperature: is 5,000 characters long"),
])
def test_a_bad_set_override_exits_2_in_one_line_and_writes_nothing(override: str, expected: str, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.toml"
    path.write_text(GOOD)
    store = tmp_path / "store.db"
    assert main(["run", str(path), "--set", override, "--store", f"sqlite:///{store}"]) == Exit.USAGE
    err = _one_line_error(capsys)
    assert expected in err and len(err) < 600, err
    assert not store.exists()


def test_a_malformed_store_url_exits_2_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "--store", "not a url: secret"]) == Exit.USAGE
    err = _one_line_error(capsys)
    assert "store URL" in err and "secret" not in err
    assert main(["runs", "--store", "nosuchdialect://host/db"]) == Exit.USAGE
    assert "nosuchdialect" in _one_line_error(capsys)


def test_an_unreachable_store_exits_3_in_one_line_with_the_password_hidden(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql+psycopg://user:hunter2@127.0.0.1:{port}/runs"
    assert main(["runs", "--store", url]) == Exit.STORE_OR_IO
    err = _one_line_error(capsys)
    assert "cannot open the store" in err and "***" in err and "hunter2" not in err
    profile = tmp_path / "p.toml"
    profile.write_text(GOOD)
    assert main(["sweep", str(profile), "--store", url]) == Exit.STORE_OR_IO
    _one_line_error(capsys)
    not_a_db = tmp_path / "not-a-db.db"
    not_a_db.write_bytes(b"\x00" * 4096 + b"hello")
    assert main(["runs", "--store", f"sqlite:///{not_a_db}"]) == Exit.STORE_OR_IO
    assert "file is not a database" in _one_line_error(capsys)


def test_the_exit_code_table_is_one_table_shown_by_help_and_the_readme(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == Exit.OK
    help_text = capsys.readouterr().out
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for code, meaning in MEANINGS.items():
        assert f"  {code.value:<4} {meaning}" in help_text
        assert f"| {code.value} | {meaning} |" in readme


def test_a_binary_profile_in_a_real_inferlab_process_gives_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "binary.toml"
    path.write_bytes(bytes(range(256)) * 4)
    proc = subprocess.run([sys.executable, "-m", "app.main", "sweep", str(path), "--store",
                           f"sqlite:///{tmp_path / 'store.db'}"], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == Exit.USAGE
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert "not UTF-8 text" in proc.stderr
    assert not (tmp_path / "store.db").exists()


def test_import_refuses_a_bad_tag_or_a_binary_file_before_opening_the_store(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = REPO / "tests" / "reports" / "data" / "vllm_serve_result.json"
    store = tmp_path / "store.db"
    url = f"sqlite:///{store}"
    assert main(["import", str(data), "--from", "vllm-bench", "--tag", "a\x07b", "--store", url]) == Exit.USAGE
    assert "--tag: contains the non-printable character" in capsys.readouterr().err
    binary = tmp_path / "result.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert main(["import", str(binary), "--from", "vllm-bench", "--store", url]) == Exit.USAGE
    assert "not UTF-8 text" in capsys.readouterr().err
    assert not store.exists()
    assert main(["import", str(data), "--from", "vllm-bench", "--store", url]) == Exit.OK


def test_a_python_that_is_not_an_executable_file_is_refused_before_the_store_opens(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = tmp_path / "p.toml"
    profile.write_text(GOOD)
    store = tmp_path / "store.db"
    assert main(["sweep", str(profile), "--python", str(tmp_path / "no-python"), "--store",
                 f"sqlite:///{store}"]) == Exit.USAGE
    assert "--python:" in _one_line_error(capsys) and not store.exists()
