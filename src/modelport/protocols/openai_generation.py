"""The chat completions, completions and tokenize bodies a worker accepts, as msgspec Structs.

Pure data, in OpenAI's field order; decoding a body (`protocols.validation.decode_request`) checks each
field's type, range and size, so the worker's parsing is conversion. `null` is the same as absent; unknown
fields are ignored, as OpenAI-compatible servers do. What relates fields to each other (`stream_options`
needs `stream`, `tool_choice` names one of `tools`, prefill needs a final assistant message) and what a
schema can't say (a tool schema's depth and size) the worker checks (`worker/parse.py`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

MAX_N = 16
MAX_STOPS = 64  # Anthropic clients send several stop_sequences; OpenAI's own limit of 4 is not ours
MAX_STOP_CHARS = 256
MAX_OUTPUT_TOKENS = 1 << 20
MAX_TOOLS = 128
MAX_TOOL_CALLS = 128

Stop = Annotated[str, msgspec.Meta(max_length=MAX_STOP_CHARS)]
OutputTokens = Annotated[int, msgspec.Meta(ge=1, le=MAX_OUTPUT_TOKENS)]
Temperature = Annotated[float, msgspec.Meta(ge=0.0, le=2.0)]
TopP = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
Penalty = Annotated[float, msgspec.Meta(ge=-2.0, le=2.0)]
Seed = Annotated[int, msgspec.Meta(ge=-(1 << 63), le=(1 << 63) - 1)]
ToolName = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")]
NonEmptyText = Annotated[str, msgspec.Meta(min_length=1)]


class TextPart(msgspec.Struct, tag_field="type", tag="text"):
    """A text content part; the engines read no other kind."""

    text: str


class FunctionCall(msgspec.Struct):
    """The function of an assistant's tool call; `arguments` is JSON text (an object is taken too)."""

    name: str
    arguments: Any = "{}"


class ToolCall(msgspec.Struct):
    """A tool call in an assistant message of the history."""

    function: FunctionCall
    id: str | None = None
    type: str | None = None


class Message(msgspec.Struct):
    """One chat message (system, user, assistant or tool)."""

    role: str
    content: str | list[TextPart] | None = None
    tool_calls: Annotated[list[ToolCall], msgspec.Meta(max_length=MAX_TOOL_CALLS)] | None = None
    tool_call_id: str | None = None
    name: str | None = None


class FunctionDefinition(msgspec.Struct):
    """A function tool's definition; `parameters` is a JSON schema."""

    name: ToolName
    description: str | None = None
    parameters: dict[str, Any] | None = None


class Tool(msgspec.Struct):
    """A tool the model may call: function tools only."""

    function: FunctionDefinition
    type: Literal["function"] = "function"


class NamedFunction(msgspec.Struct):
    name: str


class NamedToolChoice(msgspec.Struct):
    """`tool_choice` naming the function to call."""

    type: Literal["function"]
    function: NamedFunction


class ResponseFormat(msgspec.Struct, omit_defaults=True):
    """`response_format`: free text, any JSON object, or JSON following `json_schema.schema`."""

    type: Literal["text", "json_object", "json_schema"]
    json_schema: dict[str, Any] | None = None


class StreamOptions(msgspec.Struct):
    include_usage: bool | None = None


class _Generation(msgspec.Struct, kw_only=True):
    """The fields chat completions and completions share."""

    model: str | None = None
    max_tokens: OutputTokens | None = None
    max_completion_tokens: OutputTokens | None = None
    temperature: Temperature | None = None
    top_p: TopP | None = None
    n: Annotated[int, msgspec.Meta(ge=1, le=MAX_N)] | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    stop: Stop | Annotated[list[Stop], msgspec.Meta(max_length=MAX_STOPS)] | None = None
    presence_penalty: Penalty | None = None
    frequency_penalty: Penalty | None = None
    seed: Seed | None = None
    response_format: ResponseFormat | None = None


class ChatCompletionRequest(_Generation, kw_only=True):
    """Body of `POST /v1/chat/completions` (with vLLM's prefill switches)."""

    messages: Annotated[list[Message], msgspec.Meta(min_length=1)]
    logprobs: bool | None = None
    top_logprobs: Annotated[int, msgspec.Meta(ge=0, le=20)] | None = None
    tools: Annotated[list[Tool], msgspec.Meta(max_length=MAX_TOOLS)] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    continue_final_message: bool | None = None  # vLLM
    add_generation_prompt: bool | None = None  # vLLM


class CompletionRequest(_Generation, kw_only=True):
    """Body of `POST /v1/completions`: one prompt or a list of them."""

    prompt: NonEmptyText | Annotated[list[NonEmptyText], msgspec.Meta(min_length=1)]
    logprobs: Annotated[int, msgspec.Meta(ge=0, le=5)] | None = None


class TokenizeRequest(msgspec.Struct, kw_only=True):
    """Body of `POST /v1/tokenize` (vLLM's): a `prompt`, or chat `messages` with their `tools`."""

    model: str | None = None
    prompt: str | None = None
    messages: Annotated[list[Message], msgspec.Meta(min_length=1)] | None = None
    tools: Annotated[list[Tool], msgspec.Meta(max_length=MAX_TOOLS)] | None = None
