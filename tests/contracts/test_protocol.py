"""The worker protocol's framing: one versioned JSON object per line."""

from __future__ import annotations

import json

import pytest

from engine.causes import FailureCause
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


@pytest.mark.parametrize("type_, fields", [("error", {"id": "t1", "cause": "disk-on-fire", "message": "x"}),
                                           ("result", {"id": "t1", "result": {"failure_cause": "gremlins"}})])
def test_a_failure_cause_outside_the_table_is_refused_both_ways(type_: str, fields: dict) -> None:
    with pytest.raises(ProtocolError, match="not one of: invalid-config"):
        encode(type_, **fields)
    with pytest.raises(ProtocolError, match="not one of: invalid-config"):
        decode(json.dumps({"v": PROTOCOL_VERSION, "type": type_, **fields}))


def test_every_cause_has_a_meaning_and_round_trips_as_its_name() -> None:
    for cause in FailureCause:
        assert cause.meaning and decode(encode("error", id="t", cause=cause, message=""))["cause"] == cause.value
