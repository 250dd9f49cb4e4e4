"""Chat prompts become text in one place (`engine.backends.base.prompt_text`), on the real demo tokenizer."""

from __future__ import annotations

from pathlib import Path

from engine.backends.base import prompt_text
from engine.workloads import count_tokens


def test_chat_messages_are_flattened_once_with_the_generation_prompt(demo_model_dir: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(demo_model_dir))
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a colour."}]
    text = prompt_text(tokenizer, messages)
    assert text == tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert "Name a colour." in text and text.rstrip().endswith("assistant")  # the generation prompt
    assert prompt_text(tokenizer, "plain text, no template") == "plain text, no template"
    assert count_tokens(tokenizer, messages) == len(tokenizer.encode(text, add_special_tokens=False))
