"""The `openai` backend's timing points and token counting against a server that sends no usage.

The server here is a stand-in, named as such: a few lines of `http.server` streaming OpenAI-style
completion events. It exists because no real server available here can be made to omit the usage event
(vLLM always sends it when asked) or to pause before `[DONE]`; tests/vllm covers a real `vllm serve`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.core.worker_client import WorkerClient
from tests.engine.conftest import tiny

PAUSE_BEFORE_DONE_S = 1.0


class _StandInServer(BaseHTTPRequestHandler):
    """GET /v1/models and streamed POST /v1/completions: one ' word' event per token, no usage, then a
    pause, then [DONE]."""

    def do_GET(self) -> None:
        self._send(b'{"data": [{"id": "stand-in"}]}', "application/json")

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for _ in range(body["max_tokens"]):
            time.sleep(0.01)
            self._event(json.dumps({"choices": [{"index": 0, "text": " word"}]}))
        time.sleep(PAUSE_BEFORE_DONE_S)
        self._event("[DONE]")

    def _event(self, data: str) -> None:
        self.wfile.write(f"data: {data}\n\n".encode())
        self.wfile.flush()

    def _send(self, payload: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture(scope="module")
def stand_in_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StandInServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_e2e_ends_at_the_last_text_event_and_local_counts_are_estimated(client: WorkerClient,
                                                                         stand_in_url: str) -> None:
    result = client.run_trial(tiny(engine="openai", base_url=stand_in_url, num_requests=2, batch_size=1,
                                   repetitions=1, warmup_requests=0))
    assert result.status == "ok", result.failure_message
    for r in result.requests:
        assert r.ok and r.output_tokens == 6
        assert r.e2e_ms - r.ttft_ms < PAUSE_BEFORE_DONE_S * 1e3  # the pause before [DONE] is not timed
    assert result.value("usage_reported_requests") == 0
    for name in ("output_tokens_total", "output_tokens_per_s", "tpot_ms_p50"):
        m = result.metrics[name]
        assert m.status == "estimated" and "local tokenizer" in m.method and "EOS token is not counted" in m.method
    assert result.metrics["ttft_ms_p50"].status == "measured"
