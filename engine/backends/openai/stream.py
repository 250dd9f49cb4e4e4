"""One streamed request to an OpenAI-compatible server: SSE parsing and per-request timing.

Timestamps are `time.perf_counter()` taken when each server-sent event line arrives in this process,
on vLLM's benchmark points: start = just before the request is sent, first token = the first event
carrying generated text, end = the last event carrying generated text (not the usage event or
`[DONE]` after it; a failed request ends when it failed). Gaps between successive text-carrying
events are the inter-token latencies (a server that packs several tokens into one event shows one gap
for them).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from typing import Any

from engine.results import RequestRecord


@dataclasses.dataclass
class StreamOutcome:
    """What one request produced: its record, its inter-event gaps and where its token count came from."""

    record: RequestRecord
    gaps_ms: list[float]
    usage_reported: bool


@dataclasses.dataclass
class _State:
    text: list[str] = dataclasses.field(default_factory=list)
    times: list[float] = dataclasses.field(default_factory=list)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


def chunk_text(chunk: dict[str, Any]) -> str:
    """Generated text of one completions or chat-completions chunk ('' for role/usage-only chunks)."""
    parts = []
    for choice in chunk.get("choices") or []:
        if "text" in choice:
            parts.append(choice.get("text") or "")
        else:
            parts.append((choice.get("delta") or {}).get("content") or "")
    return "".join(parts)


async def stream_request(client: Any, url: str, payload: dict[str, Any], headers: dict[str, str],
                         meta: dict[str, int], t0: float, timeout_s: float, count_tokens: Any) -> StreamOutcome:
    """Send one streaming request; failures become a failed record with the error (never raise).

    `meta` holds repetition, index and input_tokens (the local count, used if the server reports none);
    `count_tokens(text)` counts generated tokens locally when the server sends no usage.
    """
    state = _State()
    start = time.perf_counter()
    try:
        error = await asyncio.wait_for(_send(client, url, payload, headers, state), timeout_s)
    except TimeoutError:
        error = f"timeout: no complete response within request_timeout_s={timeout_s:g} s"
    except Exception as exc:  # connection refused/reset, protocol error: one failed request
        error = f"{type(exc).__name__}: {exc}"
    end = time.perf_counter()
    return _outcome(state, meta, start - t0, end - t0, error, count_tokens, t0)


async def _send(client: Any, url: str, payload: dict[str, Any], headers: dict[str, str],
                state: _State) -> str | None:
    async with client.stream("POST", url, json=payload, headers=headers) as response:
        if response.status_code != 200:
            body = (await response.aread()).decode("utf-8", "replace")
            return f"HTTP {response.status_code}: {body[:300]}"
        return await _read_events(response, state)


async def _read_events(response: Any, state: _State) -> str | None:
    done = False
    async for line in response.aiter_lines():
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            done = True
            break
        chunk = json.loads(data)
        if "error" in chunk:
            return f"server error: {json.dumps(chunk['error'])[:300]}"
        text = chunk_text(chunk)
        if text:
            state.times.append(time.perf_counter())
            state.text.append(text)
        usage = chunk.get("usage")
        if usage:
            state.prompt_tokens = usage.get("prompt_tokens")
            state.completion_tokens = usage.get("completion_tokens")
    return None if done else "stream ended before [DONE] (connection closed by the server)"


def _outcome(state: _State, meta: dict[str, int], start_s: float, end_s: float, error: str | None,
             count_tokens: Any, t0: float) -> StreamOutcome:
    usage_reported = state.completion_tokens is not None
    if usage_reported:
        output_tokens = int(state.completion_tokens or 0)
    else:
        output_tokens = count_tokens("".join(state.text)) if state.text else 0
    first = state.times[0] - t0 if state.times else None
    end = state.times[-1] - t0 if error is None and state.times else end_s
    gaps = [(b - a) * 1e3 for a, b in zip(state.times, state.times[1:], strict=False)]
    record = RequestRecord(
        repetition=meta["repetition"], index=meta["index"],
        input_tokens=int(state.prompt_tokens if state.prompt_tokens is not None else meta["input_tokens"]),
        output_tokens=output_tokens, start_s=start_s, first_token_s=first, end_s=end,
        ok=error is None, error=error)
    return StreamOutcome(record, gaps if error is None else [], usage_reported)
