"""Conversation translation: Anthropic ``system`` + ``messages`` → OpenAI chat ``messages``.

Mapping choices (all documented here, tested in ``tests/translate``):

- ``system`` (a string or text blocks, ``cache_control`` ignored) becomes ONE leading system message; several
  blocks are joined with a blank line, in the order given.
- Consecutive messages with the same role are merged into one turn before translation, so the backend always
  sees alternating turns.
- A user turn's ``tool_result`` blocks become one ``tool`` message each, in order, BEFORE the turn's other
  content (OpenAI requires tool messages right after the assistant message that made the calls). Their content
  is the text blocks joined with a newline. ``is_error: true`` is kept by prefixing the text with ``"Error: "``
  (OpenAI's tool message has no error flag). Images inside a tool result cannot travel in a tool message, so
  they move into the user message that follows the tool messages.
- Each tool_result must answer a tool_use of the immediately preceding assistant turn (Anthropic's own rule).
- Assistant text blocks are joined with a newline; ``tool_use`` blocks become ``tool_calls`` with
  ``arguments = json.dumps(input)``; ``thinking`` blocks are passed as ``reasoning_content`` (templates that
  replay reasoning use it, the others ignore it); ``redacted_thinking`` is dropped.
- Images: base64 → ``data:`` URL, url → the URL, both as ``image_url`` parts (user turns only).
- Documents: plain-text sources become a text part (title on the first line); PDF/URL sources are rejected,
  since OpenAI-compatible engines take no files.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from modelport import errors
from modelport.protocols import anthropic as an
from modelport.protocols.openai_chat import ChatMessage, ContentPart, FunctionCall, ToolCall

from .ids import backend_tool_id

Located = tuple[str, an.ContentBlock]  # (param path, block)
Turn = tuple[str, list[Located]]  # (role, blocks)

_USER_BLOCKS = (an.TextBlock, an.ImageBlock, an.DocumentBlock, an.ToolResultBlock)
_ASSISTANT_BLOCKS = (an.TextBlock, an.ToolUseBlock, an.ThinkingBlock, an.RedactedThinkingBlock)
_SYSTEM_BLOCKS = (an.TextBlock,)
_ALLOWED = {"user": _USER_BLOCKS, "assistant": _ASSISTANT_BLOCKS, "system": _SYSTEM_BLOCKS}


def system_message(system: str | list[an.TextBlock] | None) -> ChatMessage | None:
    """The single leading system message, or None when there is no system prompt."""
    if system is None:
        return None
    text = system if isinstance(system, str) else "\n\n".join(block.text for block in system)
    return {"role": "system", "content": text} if text else None


def chat_messages(messages: Sequence[an.Message]) -> list[ChatMessage]:
    """Translate the conversation; raises :class:`errors.BadRequest` on an invalid sequence.

    A `system` turn inside the conversation becomes a system message where it stands, except right after
    an assistant's tool calls: chat wants their results next, so it follows them."""
    out: list[ChatMessage] = []
    previous_tool_ids: set[str] = set()
    seen_tool_ids: set[str] = set()
    waiting: list[ChatMessage] = []  # system turns held back until the pending tool results are out
    for role, blocks in merge_turns(messages):
        if role == "system":
            note: ChatMessage = {"role": "system", "content": "\n\n".join(
                block.text for _, block in blocks if isinstance(block, an.TextBlock))}
            (waiting if previous_tool_ids else out).append(note)
        elif role == "assistant":
            out.extend(waiting)
            waiting = []
            out.append(assistant_message(blocks, seen_tool_ids))
            previous_tool_ids = {block.id for _, block in blocks if isinstance(block, an.ToolUseBlock)}
        else:
            out.extend(user_messages(blocks, previous_tool_ids))
            out.extend(waiting)
            waiting = []
            previous_tool_ids = set()
    return out + waiting


def merge_turns(messages: Sequence[an.Message]) -> list[Turn]:
    """Group messages into alternating turns, each block tagged with its ``messages.i.content.j`` path."""
    turns: list[Turn] = []
    for i, message in enumerate(messages):
        content = message.content
        if isinstance(content, str):
            located: list[Located] = [(f"messages.{i}.content", an.TextBlock(text=content))]
        else:
            located = [(f"messages.{i}.content.{j}", block) for j, block in enumerate(content)]
        allowed = _ALLOWED[message.role]
        for path, block in located:
            if not isinstance(block, allowed):
                kind = type(block).__struct_config__.tag
                raise errors.BadRequest(
                    f"{path}: {kind} blocks are not allowed in {message.role} messages", param=path
                )
        if turns and turns[-1][0] == message.role:
            turns[-1][1].extend(located)
        else:
            turns.append((message.role, located))
    return turns


def assistant_message(blocks: list[Located], seen_tool_ids: set[str]) -> ChatMessage:
    """One assistant message: joined text, tool_calls, and reasoning_content from thinking blocks."""
    texts: list[str] = []
    reasoning: list[str] = []
    tool_calls: list[ToolCall] = []
    for path, block in blocks:
        if isinstance(block, an.TextBlock):
            texts.append(block.text)
        elif isinstance(block, an.ThinkingBlock):
            reasoning.append(block.thinking)
        elif isinstance(block, an.ToolUseBlock):
            if block.id in seen_tool_ids:
                raise errors.BadRequest(f"{path}.id: duplicate tool_use id {block.id!r}", param=f"{path}.id")
            seen_tool_ids.add(block.id)
            arguments = json.dumps(block.input, ensure_ascii=False)
            function: FunctionCall = {"name": block.name, "arguments": arguments}
            tool_calls.append({"id": backend_tool_id(block.id), "type": "function", "function": function})
    message: ChatMessage = {
        "role": "assistant",
        "content": "\n".join(texts) if texts or not tool_calls else None,
    }
    if tool_calls:
        message["tool_calls"] = tool_calls
    if reasoning:
        message["reasoning_content"] = "\n".join(reasoning)
    return message


def user_messages(blocks: list[Located], answerable: set[str]) -> list[ChatMessage]:
    """Tool messages (one per tool_result, first), then one user message with the remaining content."""
    tool_messages: list[ChatMessage] = []
    moved_images: list[ContentPart] = []
    parts: list[ContentPart] = []
    for path, block in blocks:
        if isinstance(block, an.ToolResultBlock):
            if block.tool_use_id not in answerable:
                raise errors.BadRequest(
                    f"{path}.tool_use_id: tool_result for {block.tool_use_id!r} has no matching tool_use "
                    "block in the previous assistant message",
                    param=f"{path}.tool_use_id",
                )
            message, images = tool_message(block, path)
            tool_messages.append(message)
            moved_images.extend(images)
        else:
            parts.append(content_part(block, path))
    parts = moved_images + parts
    if not parts:
        return tool_messages
    if len(parts) == 1 and parts[0]["type"] == "text":
        return [*tool_messages, {"role": "user", "content": parts[0]["text"]}]
    return [*tool_messages, {"role": "user", "content": parts}]


def tool_message(block: an.ToolResultBlock, path: str) -> tuple[ChatMessage, list[ContentPart]]:
    """A ``tool`` message for one tool_result, plus the image parts it carried (moved to the user turn)."""
    texts: list[str] = [block.content] if isinstance(block.content, str) else []
    images: list[ContentPart] = []
    if not isinstance(block.content, str):
        for j, inner in enumerate(block.content):
            part = content_part(inner, f"{path}.content.{j}")
            if part["type"] == "text":
                texts.append(part["text"])
            else:
                images.append(part)
    text = "\n".join(texts)
    if block.is_error:
        text = f"Error: {text}" if text else "Error"
    message: ChatMessage = {
        "role": "tool",
        "tool_call_id": backend_tool_id(block.tool_use_id),
        "content": text,
    }
    return message, images


def content_part(block: an.ContentBlock, path: str) -> ContentPart:
    """A user content part for a text, image or document block."""
    if isinstance(block, an.TextBlock):
        return {"type": "text", "text": block.text}
    if isinstance(block, an.ImageBlock):
        source = block.source
        if isinstance(source, an.Base64ImageSource):
            url = f"data:{source.media_type};base64,{source.data}"
        else:
            url = source.url
        return {"type": "image_url", "image_url": {"url": url}}
    if isinstance(block, an.DocumentBlock) and isinstance(block.source, an.PlainTextSource):
        text = block.source.data if not block.title else f"{block.title}\n\n{block.source.data}"
        return {"type": "text", "text": text}
    raise errors.BadRequest(
        f"{path}.source: only plain-text documents can be sent to this model's backend",
        param=f"{path}.source",
    )
