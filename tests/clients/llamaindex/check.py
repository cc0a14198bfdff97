"""LlamaIndex's `OpenAILike` against the gateway (run by tests/clients/test_llamaindex.py in this folder's venv).

Reads MODELPORT_URL and MODELPORT_KEY; prints one JSON line: what each call answered."""

from __future__ import annotations

import json
import os

from llama_index.core.llms import ChatMessage
from llama_index.llms.openai_like import OpenAILike


def main() -> None:
    llm = OpenAILike(model="smollm2-135m-instruct", api_base=os.environ["MODELPORT_URL"] + "/v1",
                     api_key=os.environ["MODELPORT_KEY"], is_chat_model=True, context_window=8192, max_tokens=16,
                     temperature=0, max_retries=0, timeout=60)
    chat = llm.chat([ChatMessage(role="user", content="Say hello.")])
    streamed = [chunk.delta for chunk in llm.stream_chat([ChatMessage(role="user", content="Say hello.")])
                if chunk.delta]
    completed = llm.complete("Say hello.")
    print(json.dumps({"chat": chat.message.content, "stream": streamed, "complete": completed.text}))


if __name__ == "__main__":
    main()
