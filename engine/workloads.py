"""Workloads: the prompts a trial sends, with their exact token counts.

- synthetic: text built from single-token words drawn with the trial's seed, checked to tokenize to
  exactly `input_tokens` tokens;
- chat: a synthetic user message wrapped in the model's chat template, counted after templating;
- jsonl: the user's file, one `{"prompt": str}` or `{"messages": [{"role", "content"}, ...]}` per line.

`prompt_order` sends them as given, sorted by prompt length (shortest first) or shuffled with the
trial's seed. The same requests are used in every repetition (so repetitions differ only by noise); warm-up
requests are drawn from another seed.
"""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path
from typing import Any

from engine.backends.base import Request, prompt_text
from engine.config import TrialConfig
from engine.errors import ConfigError

_MAX_FIX_ROUNDS = 8


class WordPool:
    """Vocabulary tokens that are whole lowercase words preceded by a space (GPT-2 'Ġ' or SentencePiece
    '▁' style) and add exactly one token when they follow other text."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        candidates = []
        for token in tokenizer.convert_ids_to_tokens(list(range(min(len(tokenizer), 60000)))):
            if isinstance(token, str) and token[:1] in ("Ġ", "▁"):
                rest = token[1:]
                if len(rest) >= 2 and rest.isascii() and rest.isalpha() and rest.islower():
                    candidates.append(" " + rest)
        base = len(tokenizer.encode("a", add_special_tokens=False))
        words = [w for w in candidates[:4000]
                 if len(tokenizer.encode("a" + w, add_special_tokens=False)) == base + 1]
        if len(words) < 50:
            raise ConfigError("workload", "the tokenizer has too few single-token words for synthetic prompts; "
                              "use workload='jsonl'")
        self.words = words

    def count(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def text(self, n_tokens: int, rng: random.Random) -> str:
        """Text of exactly `n_tokens` tokens (adjusted word by word if merges change the count)."""
        words = [rng.choice(self.words) for _ in range(n_tokens)]
        for _ in range(_MAX_FIX_ROUNDS):
            text = "".join(words)
            have = self.count(text)
            if have == n_tokens:
                return text
            if have > n_tokens:
                words = words[: max(1, len(words) - (have - n_tokens))]
            else:
                words += [rng.choice(self.words) for _ in range(n_tokens - have)]
        raise ConfigError("input_tokens", f"could not build a prompt of exactly {n_tokens} tokens")


def build(config: TrialConfig, tokenizer: Any, count: int, seed_offset: int = 0) -> list[Request]:
    """`count` requests for the trial's workload (seed_offset separates warm-up from measured prompts), in
    the trial's `prompt_order`; each request's index is its place in that order (the order sent)."""
    requests = _requests(config, tokenizer, count, seed_offset)
    order = config.common.prompt_order
    if order == "sorted":  # stable: equal lengths keep the given order
        requests.sort(key=lambda r: r.input_tokens)
    elif order == "shuffled":
        random.Random(f"prompt_order:{config.common.seed}:{seed_offset}").shuffle(requests)
    return [dataclasses.replace(r, index=i) for i, r in enumerate(requests)]


def _requests(config: TrialConfig, tokenizer: Any, count: int, seed_offset: int) -> list[Request]:
    """The workload's requests in the order given (file order, or as drawn)."""
    c = config.common
    rng = random.Random(c.seed * 1_000_003 + seed_offset)
    if c.workload == "jsonl":
        items = read_jsonl(Path(c.prompt_file or ""))
        prompts = [items[i % len(items)] for i in range(seed_offset, seed_offset + count)]
        return [Request(i, p, count_tokens(tokenizer, p), c.output_tokens) for i, p in enumerate(prompts)]
    pool = _pool(tokenizer)
    if c.workload == "chat":
        overhead = count_tokens(tokenizer, [{"role": "user", "content": ""}])
        body = max(1, c.input_tokens - overhead)
        out = []
        for i in range(count):
            messages = [{"role": "user", "content": pool.text(body, rng).strip()}]
            out.append(Request(i, messages, count_tokens(tokenizer, messages), c.output_tokens))
        return out
    return [Request(i, pool.text(c.input_tokens, rng), c.input_tokens, c.output_tokens) for i in range(count)]


_POOLS: dict[int, WordPool] = {}


def _pool(tokenizer: Any) -> WordPool:
    key = id(tokenizer)
    if key not in _POOLS:
        _POOLS.clear()  # one loaded tokenizer at a time
        _POOLS[key] = WordPool(tokenizer)
    return _POOLS[key]


def count_tokens(tokenizer: Any, prompt: str | list[dict[str, str]]) -> int:
    """Tokens a prompt feeds the model: plain text as is, chat messages after the chat template."""
    return len(tokenizer.encode(prompt_text(tokenizer, prompt), add_special_tokens=False))


def read_jsonl(path: Path) -> list[str | list[dict[str, str]]]:
    """Prompts of a JSONL file; a bad line raises ConfigError naming the file and the line."""
    if not path.is_file():
        raise ConfigError("prompt_file", f"no such file: {path}")
    out: list[str | list[dict[str, str]]] = []
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            out.append(_parse_line(line, f"{path}:{lineno}"))
    if not out:
        raise ConfigError("prompt_file", f"{path} holds no prompts")
    return out


def _parse_line(line: str, where: str) -> str | list[dict[str, str]]:
    try:
        item = json.loads(line)
    except ValueError as exc:
        raise ConfigError("prompt_file", f"{where}: not JSON ({exc.msg})") from None
    if isinstance(item, dict) and isinstance(item.get("prompt"), str) and item["prompt"]:
        return item["prompt"]
    if isinstance(item, dict) and isinstance(item.get("messages"), list) and item["messages"]:
        for m in item["messages"]:
            if not (isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)):
                raise ConfigError("prompt_file", f"{where}: each message needs string 'role' and 'content'")
        return [{"role": m["role"], "content": m["content"]} for m in item["messages"]]
    raise ConfigError("prompt_file", f"{where}: expected {{\"prompt\": \"...\"}} or {{\"messages\": [...]}}")
