"""litellm as a client, unmodified: its `openai/` route (completion whole and streamed, responses) and its
`anthropic/` route (`/v1/messages`) on the built-in chat model, and context overflow raised as the
`ContextWindowExceededError` its fallbacks act on."""

from __future__ import annotations

from typing import Any

import litellm
import pytest

from tests.clients.conftest import CHAT, Served

HELLO = [{"role": "user", "content": "Say hello."}]


def openai_route(served: Served) -> dict[str, Any]:
    return {"model": f"openai/{CHAT}", "api_base": served.v1, "api_key": served.key, "num_retries": 0}


def test_completion_on_the_openai_route(served: Served) -> None:
    reply = litellm.completion(messages=HELLO, max_tokens=16, temperature=0, **openai_route(served))
    assert (reply.choices[0].message.content or "").strip()  # type: ignore[union-attr]
    assert reply.usage.prompt_tokens > 0  # type: ignore[attr-defined]


def test_streamed_completion_arrives_in_several_chunks(served: Served) -> None:
    chunks = litellm.completion(messages=HELLO, max_tokens=16, temperature=0, stream=True, **openai_route(served))
    texts = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]  # type: ignore[union-attr]
    assert len(texts) > 1 and "".join(texts).strip()


def test_completion_on_the_anthropic_route(served: Served) -> None:
    reply = litellm.completion(model=f"anthropic/{CHAT}", api_base=served.url, api_key=served.key, messages=HELLO,
                               max_tokens=16, num_retries=0)
    assert (reply.choices[0].message.content or "").strip()  # type: ignore[union-attr]
    assert reply.usage.prompt_tokens > 0  # type: ignore[attr-defined]


def test_responses_on_the_openai_route(served: Served) -> None:
    response = litellm.responses(input="Say hello.", max_output_tokens=16, **openai_route(served))
    text = "".join(part.text for item in response.output if item.type == "message"  # type: ignore[union-attr]
                   for part in item.content if part.type == "output_text")  # type: ignore[union-attr]
    assert text.strip()


def test_context_overflow_raises_context_window_exceeded(served: Served) -> None:
    with pytest.raises(litellm.ContextWindowExceededError):
        litellm.completion(messages=[{"role": "user", "content": "hello " * 9000}], max_tokens=8,
                           **openai_route(served))
