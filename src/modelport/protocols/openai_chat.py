"""OpenAI Chat Completions wire shapes (TypedDicts) used by translators.

Only the fields modelport reads or writes are listed. Fields marked "vLLM" are extensions that
OpenAI-compatible engines (vLLM, SGLang) accept; llama.cpp's server ignores what it does not know.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

JSONObject = dict[str, Any]


class FunctionCall(TypedDict):
    """The function part of a tool call; ``arguments`` is a JSON text."""

    name: str
    arguments: str


class ToolCall(TypedDict):
    """A tool call in an assistant message."""

    id: str
    type: Literal["function"]
    function: FunctionCall


class ImageURL(TypedDict):
    """An image reference: an http(s) URL or a ``data:`` URL."""

    url: str


class ContentPart(TypedDict, total=False):
    """A user content part: ``{"type": "text", "text"}`` or ``{"type": "image_url", "image_url"}``."""

    type: Literal["text", "image_url"]
    text: str
    image_url: ImageURL


class ChatMessage(TypedDict, total=False):
    """One chat message (system, user, assistant or tool)."""

    role: Literal["system", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None
    tool_calls: list[ToolCall]
    tool_call_id: str
    reasoning_content: str  # vLLM, llama.cpp: reasoning replayed in assistant history


class FunctionDefinition(TypedDict, total=False):
    """A function tool's definition; ``parameters`` is a JSON schema."""

    name: str
    description: str
    parameters: JSONObject


class FunctionTool(TypedDict):
    """A tool the model may call."""

    type: Literal["function"]
    function: FunctionDefinition


class ChatRequest(TypedDict, total=False):
    """Body of ``POST /v1/chat/completions``."""

    model: str
    messages: list[ChatMessage]
    max_tokens: int
    stop: list[str]
    stream: bool
    stream_options: JSONObject
    temperature: float
    top_p: float
    top_k: int  # vLLM
    tools: list[FunctionTool]
    tool_choice: str | JSONObject
    parallel_tool_calls: bool
    user: str
    reasoning_effort: Literal["low", "medium", "high"]
    chat_template_kwargs: JSONObject  # vLLM
    add_generation_prompt: bool  # vLLM
    continue_final_message: bool  # vLLM
    response_format: JSONObject  # {"type": "json_schema", "json_schema": {"name", "schema", "strict"}}


FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "function_call"]
