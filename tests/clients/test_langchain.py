"""LangChain, unmodified, on the built-in models: `ChatOpenAI` (invoke, stream, a forced tool call, structured
output by function calling), `OpenAIEmbeddings` with its defaults (which send tiktoken token ids), and
`ChatAnthropic` through `/v1/messages`."""

from __future__ import annotations

import pytest
from langchain_anthropic import ChatAnthropic
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI, OpenAIEmbeddings
from pydantic import BaseModel, SecretStr

from tests.clients.conftest import CHAT, EMBED, Served
from tests.clients.test_openai_python import gateway_embedding


class City(BaseModel):
    """A city the user asked about."""

    city: str


@tool
def get_weather(city: str) -> str:
    """Current weather in a city."""
    return f"sunny in {city}"


def chat_openai(served: Served, max_tokens: int) -> ChatOpenAI:
    return ChatOpenAI(model=CHAT, base_url=served.v1, api_key=SecretStr(served.key), max_tokens=max_tokens,
                      temperature=0, max_retries=0)


@pytest.fixture(scope="module")
def chat(served: Served) -> ChatOpenAI:
    return chat_openai(served, 16)


@pytest.fixture(scope="module")
def tool_chat(served: Served) -> ChatOpenAI:
    return chat_openai(served, 32)  # a call's JSON takes ~20 tokens


def test_chat_openai_invoke(chat: ChatOpenAI) -> None:
    answer = chat.invoke("Say hello.")
    assert isinstance(answer.content, str) and answer.content.strip()
    assert answer.usage_metadata is not None and answer.usage_metadata["input_tokens"] > 0


def test_chat_openai_streams_in_several_chunks(chat: ChatOpenAI) -> None:
    chunks = [chunk.content for chunk in chat.stream("Say hello.") if chunk.content]
    assert len(chunks) > 1 and "".join(str(c) for c in chunks).strip()


def test_chat_openai_forced_tool_call(tool_chat: ChatOpenAI) -> None:
    answer = tool_chat.bind_tools([get_weather], tool_choice="get_weather").invoke("What is the weather in Paris?")
    call = answer.tool_calls[0]  # type: ignore[attr-defined]
    assert call["name"] == "get_weather" and isinstance(call["args"]["city"], str)
    assert get_weather.invoke(call["args"]).startswith("sunny in ")


def test_chat_openai_structured_output_by_function_calling(tool_chat: ChatOpenAI) -> None:
    answer = tool_chat.with_structured_output(City, method="function_calling").invoke("Which city is France's capital?")
    assert isinstance(answer, City) and isinstance(answer.city, str)


def test_openai_embeddings_with_defaults_match_the_gateways(served: Served) -> None:
    # Defaults: tiktoken's cl100k_base turns the text into token ids, and those are what is sent
    embeddings = OpenAIEmbeddings(model=EMBED, base_url=served.v1, api_key=SecretStr(served.key), max_retries=0)
    text = "The cat sat on the mat."
    vector = embeddings.embed_query(text)
    assert len(vector) == 384
    assert vector == pytest.approx(gateway_embedding(served, text), abs=1e-5)


def test_openai_embeddings_of_raw_text_match_the_gateways(served: Served) -> None:
    embeddings = OpenAIEmbeddings(model=EMBED, base_url=served.v1, api_key=SecretStr(served.key), max_retries=0,
                                  check_embedding_ctx_length=False)
    texts = ["The cat sat on the mat.", "Stock markets fell sharply today."]
    vectors = embeddings.embed_documents(texts)
    assert [len(v) for v in vectors] == [384, 384]
    assert vectors[1] == pytest.approx(gateway_embedding(served, texts[1]), abs=1e-5)


@pytest.fixture(scope="module")
def claude(served: Served) -> ChatAnthropic:
    return ChatAnthropic(model_name=CHAT, base_url=served.url, api_key=SecretStr(served.key), max_tokens_to_sample=16,
                         temperature=0, max_retries=0, timeout=60, stop=None)


def test_chat_anthropic_invoke(claude: ChatAnthropic) -> None:
    answer = claude.invoke("Say hello.")
    assert isinstance(answer.content, str) and answer.content.strip()
    assert answer.usage_metadata is not None and answer.usage_metadata["input_tokens"] > 0


def test_chat_anthropic_streams_in_several_chunks(claude: ChatAnthropic) -> None:
    chunks = [chunk.content for chunk in claude.stream("Say hello.") if chunk.content]
    assert len(chunks) > 1
