"""Anthropic Messages API wire schemas (request side as msgspec Structs, response side as TypedDicts).

Request Structs validate what a client sends to ``POST /v1/messages``; unknown fields are ignored, as the
API grows faster than we follow it. Content blocks and sources are tagged unions on their ``type`` field,
so an unknown block type is a validation error. ``cache_control`` is accepted everywhere and ignored.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypedDict

import msgspec

JSONObject = dict[str, Any]
INT64_MAX = 2**63 - 1
#: Integer fields are bounded to 64 bits, so that re-encoding them for a backend (orjson) cannot fail.
PositiveInt = Annotated[int, msgspec.Meta(gt=0, le=INT64_MAX)]
Int64 = Annotated[int, msgspec.Meta(ge=-INT64_MAX - 1, le=INT64_MAX)]


class _Block(msgspec.Struct, tag_field="type", kw_only=True, omit_defaults=True):
    """Base of every tagged block/source: the ``type`` field selects the class."""


# --- sources -------------------------------------------------------------------------------------------


class Base64ImageSource(_Block, tag="base64"):
    """Inline image bytes."""

    media_type: str
    data: str


class URLImageSource(_Block, tag="url"):
    """Image fetched by URL."""

    url: str


class Base64PDFSource(_Block, tag="base64"):
    """Inline document bytes (PDF)."""

    media_type: str
    data: str


class PlainTextSource(_Block, tag="text", kw_only=True):
    """A plain-text document."""

    media_type: str = "text/plain"
    data: str


class URLPDFSource(_Block, tag="url"):
    """Document fetched by URL."""

    url: str


ImageSource = Base64ImageSource | URLImageSource
DocumentSource = Base64PDFSource | PlainTextSource | URLPDFSource


# --- content blocks ------------------------------------------------------------------------------------


class TextBlock(_Block, tag="text"):
    """Plain text."""

    text: str
    cache_control: JSONObject | None = None
    citations: list[JSONObject] | None = None


class ImageBlock(_Block, tag="image"):
    """An image, inline (base64) or by URL."""

    source: ImageSource
    cache_control: JSONObject | None = None


class DocumentBlock(_Block, tag="document"):
    """A document (PDF or plain text)."""

    source: DocumentSource
    title: str | None = None
    context: str | None = None
    cache_control: JSONObject | None = None


class ToolUseBlock(_Block, tag="tool_use"):
    """A tool call the assistant made."""

    id: Annotated[str, msgspec.Meta(min_length=1)]
    name: Annotated[str, msgspec.Meta(min_length=1)]
    input: JSONObject
    cache_control: JSONObject | None = None


ToolResultContent = TextBlock | ImageBlock | DocumentBlock


class ToolResultBlock(_Block, tag="tool_result"):
    """The result of a tool call, sent back by the client in a user message."""

    tool_use_id: Annotated[str, msgspec.Meta(min_length=1)]
    content: str | list[ToolResultContent] = ""
    is_error: bool = False
    cache_control: JSONObject | None = None


class ThinkingBlock(_Block, tag="thinking"):
    """Extended-thinking output, replayed by the client in assistant history."""

    thinking: str
    signature: str = ""


class RedactedThinkingBlock(_Block, tag="redacted_thinking"):
    """Encrypted thinking, replayed by the client in assistant history."""

    data: str


ContentBlock = (
    TextBlock
    | ImageBlock
    | DocumentBlock
    | ToolUseBlock
    | ToolResultBlock
    | ThinkingBlock
    | RedactedThinkingBlock
)


class Message(msgspec.Struct, kw_only=True):
    """One conversation turn."""

    role: Literal["user", "assistant", "system"]  # "system" mid-conversation: Claude Code's beta sends it
    content: str | list[ContentBlock]


# --- tools ---------------------------------------------------------------------------------------------


class Tool(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A client tool (``type`` absent or ``"custom"``); server tools carry another ``type``."""

    type: str | None = None
    name: Annotated[str, msgspec.Meta(min_length=1)]
    description: str | None = None
    input_schema: JSONObject | None = None
    cache_control: JSONObject | None = None


class ToolChoiceAuto(_Block, tag="auto"):
    """The model decides whether to call tools."""

    disable_parallel_tool_use: bool | None = None


class ToolChoiceAny(_Block, tag="any"):
    """The model must call some tool."""

    disable_parallel_tool_use: bool | None = None


class ToolChoiceTool(_Block, tag="tool"):
    """The model must call the named tool."""

    name: str
    disable_parallel_tool_use: bool | None = None


class ToolChoiceNone(_Block, tag="none"):
    """The model must not call tools."""


ToolChoice = ToolChoiceAuto | ToolChoiceAny | ToolChoiceTool | ToolChoiceNone


# --- thinking, metadata, request -----------------------------------------------------------------------


class ThinkingEnabled(_Block, tag="enabled"):
    """Extended thinking with a token budget."""

    budget_tokens: PositiveInt


class ThinkingDisabled(_Block, tag="disabled"):
    """Extended thinking off."""


class ThinkingAdaptive(_Block, tag="adaptive"):
    """The model decides how much to think."""


ThinkingConfig = ThinkingEnabled | ThinkingDisabled | ThinkingAdaptive


class JsonSchemaFormat(_Block, tag="json_schema"):
    """Structured output: the reply is JSON matching ``schema``."""

    schema: JSONObject


class OutputConfig(msgspec.Struct, kw_only=True, omit_defaults=True):
    """``output_config``: the reply's format (structured outputs) and effort; fields added later pass."""

    format: JsonSchemaFormat | None = None
    effort: str | None = None


class Metadata(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Request metadata."""

    user_id: str | None = None


class MessagesRequest(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Body of ``POST /v1/messages``."""

    model: str
    messages: Annotated[list[Message], msgspec.Meta(min_length=1)]
    max_tokens: PositiveInt
    metadata: Metadata | None = None
    output_config: OutputConfig | None = None
    output_format: JsonSchemaFormat | None = None  # the structured-outputs beta's name for output_config.format
    stop_sequences: list[str] | None = None
    stream: bool = False
    system: str | list[TextBlock] | None = None
    temperature: float | None = None
    thinking: ThinkingConfig | None = None
    tool_choice: ToolChoice | None = None
    tools: list[Tool] | None = None
    top_k: Int64 | None = None
    top_p: float | None = None

    def __post_init__(self) -> None:
        """Anthropic's rule: every message has content, except that a final assistant one may be empty."""
        for index, message in enumerate(self.messages):
            final_assistant = index == len(self.messages) - 1 and message.role == "assistant"
            if isinstance(message.content, list) and not message.content and not final_assistant:
                raise ValueError(f"messages.{index}.content: all messages must have non-empty content except "
                                 "for the optional final assistant message")


# --- response side (built by translators as plain dicts) -----------------------------------------------


class Usage(TypedDict, total=False):
    """Token counts of a message; ``input_tokens`` excludes cache reads."""

    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int


class MessageResponse(TypedDict):
    """A complete (non-streamed) assistant message."""

    id: str
    type: Literal["message"]
    role: Literal["assistant"]
    model: str
    content: list[JSONObject]
    stop_reason: str | None
    stop_sequence: str | None
    usage: Usage


StopReason = Literal["end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal"]
