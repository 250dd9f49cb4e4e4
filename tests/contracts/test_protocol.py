"""The worker protocol's framing: one versioned JSON object per line."""

from __future__ import annotations

import pytest

from engine.protocol import PROTOCOL_VERSION, ProtocolError, decode, encode


def test_encode_decode_round_trip_is_one_line() -> None:
    line = encode("progress", id="t1", done=3, total=8)
    assert line.endswith("\n") and line.count("\n") == 1
    assert decode(line) == {"v": PROTOCOL_VERSION, "type": "progress", "id": "t1", "done": 3, "total": 8}


@pytest.mark.parametrize("line", ["not json", "[1, 2]", '{"v": 1}', '{"v": 999, "type": "hello"}'])
def test_malformed_or_foreign_lines_are_refused(line: str) -> None:
    with pytest.raises(ProtocolError):
        decode(line)


def test_nan_is_never_sent() -> None:
    with pytest.raises(ValueError):
        encode("result", value=float("nan"))
