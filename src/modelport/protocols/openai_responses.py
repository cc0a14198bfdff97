"""OpenAI Responses API wire schemas (`POST /v1/responses`), request side as msgspec Structs.

Unknown fields are ignored (the API grows faster than we follow it); input items, content parts, tools and
text formats are tagged unions on ``type``, so an unknown kind is a validation error naming its path.
Input items that omit ``type`` are messages (the "easy input message" form); the decoder fills it in first.
Sizes are bounded: input items, content parts, tools and metadata entries.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

import msgspec

JSONObject = dict[str, Any]
INT64_MAX = 2**63 - 1
MAX_INPUT_ITEMS = 10_000
MAX_PARTS = 1_000
MAX_TOOLS = 512
MAX_METADATA = 16  # OpenAI's own limits: 16 pairs, keys up to 64 characters, values up to 512
PositiveInt = Annotated[int, msgspec.Meta(gt=0, le=INT64_MAX)]
MetadataKey = Annotated[str, msgspec.Meta(max_length=64)]
MetadataValue = Annotated[str, msgspec.Meta(max_length=512)]


class _Tagged(msgspec.Struct, tag_field="type", kw_only=True, omit_defaults=True):
    """Base of every tagged item, part, tool and format: ``type`` selects the class."""


# --- content parts -------------------------------------------------------------------------------------


class InputText(_Tagged, tag="input_text"):
    """Text from the user (or system/developer)."""

    text: str


class InputImage(_Tagged, tag="input_image"):
    """An image by URL (http(s) or ``data:``); ``file_id`` images need OpenAI's file store."""

    image_url: str | None = None
    file_id: str | None = None
    detail: str | None = None


class InputFile(_Tagged, tag="input_file"):
    """A file; engines behind chat completions take none, so it is refused with a clear message."""

    file_id: str | None = None
    filename: str | None = None


class OutputText(_Tagged, tag="output_text"):
    """Assistant text replayed in history."""

    text: str
    annotations: list[JSONObject] | None = None


class Refusal(_Tagged, tag="refusal"):
    """An assistant refusal replayed in history."""

    refusal: str


ContentPart = InputText | InputImage | InputFile | OutputText | Refusal


# --- input items ---------------------------------------------------------------------------------------


class Message(_Tagged, tag="message"):
    """A message: user/system/developer input, or an assistant message from an earlier output."""

    role: Literal["user", "assistant", "system", "developer"]
    content: str | Annotated[list[ContentPart], msgspec.Meta(max_length=MAX_PARTS)]
    id: str | None = None
    status: str | None = None


class FunctionCall(_Tagged, tag="function_call"):
    """A function call the model made (replayed in history)."""

    call_id: str
    name: str
    arguments: str
    id: str | None = None
    status: str | None = None


class FunctionCallOutput(_Tagged, tag="function_call_output"):
    """The client's result of a function call."""

    call_id: str
    output: str | Annotated[list[ContentPart], msgspec.Meta(max_length=MAX_PARTS)]
    id: str | None = None
    status: str | None = None


class ReasoningItem(_Tagged, tag="reasoning"):
    """The model's reasoning from an earlier output (its text is replayed as ``reasoning_content``)."""

    summary: list[JSONObject] = msgspec.field(default_factory=list)
    content: list[JSONObject] | None = None
    id: str | None = None
    encrypted_content: str | None = None
    status: str | None = None


class ItemReference(_Tagged, tag="item_reference"):
    """An output item of an earlier stored response, by id (the gateway puts the item in its place)."""

    id: str


InputItem = Message | FunctionCall | FunctionCallOutput | ReasoningItem | ItemReference


# --- tools, text format, reasoning ---------------------------------------------------------------------


class FunctionTool(_Tagged, tag="function"):
    """A function the model may call."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    parameters: JSONObject | None = None
    description: str | None = None
    strict: bool | None = None


class NamespaceTool(_Tagged, tag="namespace"):
    """A named group of function tools (Codex sends its sub-agent tools so); offered as plain functions."""

    name: str = ""
    description: str | None = None
    tools: Annotated[list[FunctionTool], msgspec.Meta(max_length=MAX_TOOLS)] = msgspec.field(default_factory=list)


class HostedTool(_Tagged):
    """A tool OpenAI runs itself (web search, file search, code interpreter...): no plain engine can, so it
    is left out of what the model is offered, as a model without that tool would answer."""


#: The hosted tool types, accepted and left out (an unknown type is still a 400 naming it).
HOSTED_TOOL_TYPES = ("web_search", "web_search_preview", "file_search", "code_interpreter", "computer_use_preview",
                     "image_generation", "mcp", "local_shell", "custom")  # fmt: skip
_HOSTED = tuple(type(f"Hosted_{kind}", (HostedTool,), {}, tag=kind) for kind in HOSTED_TOOL_TYPES)
AnyTool = FunctionTool | NamespaceTool | Union[_HOSTED]  # type: ignore[valid-type]  # noqa: UP007


def function_tools(tools: list[Any] | None) -> list[FunctionTool]:
    """The function tools among `tools`, a namespace's own flattened in; hosted tools left out."""
    out: list[FunctionTool] = []
    for tool in tools or ():
        if isinstance(tool, FunctionTool):
            out.append(tool)
        elif isinstance(tool, NamespaceTool):
            out.extend(tool.tools)
    return out


class TextFormat(_Tagged, tag="text"):
    """Plain text output (the default)."""


class JsonObjectFormat(_Tagged, tag="json_object"):
    """Any JSON object."""


class JsonSchemaFormat(_Tagged, tag="json_schema"):
    """JSON that follows ``schema``."""

    name: str
    schema: JSONObject
    description: str | None = None
    strict: bool | None = None


class TextConfig(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The ``text`` field: the output's format (``verbosity`` and newer fields are ignored)."""

    format: TextFormat | JsonObjectFormat | JsonSchemaFormat | None = None


class Reasoning(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The ``reasoning`` field: ``effort`` goes to the backend as ``reasoning_effort``."""

    effort: str | None = None
    summary: str | None = None


class ResponsesRequest(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Body of ``POST /v1/responses``."""

    model: Annotated[str, msgspec.Meta(min_length=1)]
    input: str | Annotated[list[InputItem], msgspec.Meta(max_length=MAX_INPUT_ITEMS)] | None = None
    instructions: str | None = None
    tools: Annotated[list[AnyTool], msgspec.Meta(max_length=MAX_TOOLS)] | None = None
    tool_choice: str | JSONObject | None = None
    parallel_tool_calls: bool | None = None
    max_output_tokens: PositiveInt | None = None
    temperature: float | None = None
    top_p: float | None = None
    text: TextConfig | None = None
    reasoning: Reasoning | None = None
    store: bool = True
    stream: bool = False
    include: list[str] | None = None
    metadata: Annotated[dict[MetadataKey, MetadataValue], msgspec.Meta(max_length=MAX_METADATA)] | None = None
    previous_response_id: str | None = None
    user: str | None = None
