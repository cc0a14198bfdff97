"""Responses input items → OpenAI chat ``messages``.

- ``instructions`` becomes one leading system message; ``system`` and ``developer`` messages become system
  messages (chat templates of open models know no ``developer`` role).
- A user message's ``input_text`` parts are joined with a newline into a string; with ``input_image`` parts
  (by URL or ``data:`` URL) it stays a list of parts. ``file_id`` images and ``input_file`` parts need
  OpenAI's file store and are refused.
- An assistant message's ``output_text`` (and ``refusal``) parts are joined into its content.
- ``function_call`` items become ``tool_calls`` of an assistant message: consecutive calls (and the assistant
  message just before them) form one message, as chat completions expect. ``function_call_output`` items
  become ``tool`` messages (their text; images they carry follow the tool messages in a user message, as a
  tool message can hold none). ``call_id`` travels unchanged both ways.
- ``reasoning`` items are replayed as ``reasoning_content`` on the next assistant message (templates that
  replay reasoning use it, others ignore it).
"""

from __future__ import annotations

from collections.abc import Sequence

from modelport import errors
from modelport.protocols import openai_responses as rs
from modelport.protocols.openai_chat import ChatMessage, ContentPart


def chat_messages(instructions: str | None, items: Sequence[rs.InputItem]) -> list[ChatMessage]:
    """The chat conversation for ``instructions`` and ``items``; :class:`errors.BadRequest` when invalid."""
    out: list[ChatMessage] = []
    if instructions:
        out.append({"role": "system", "content": instructions})
    reasoning: list[str] = []
    images: list[ContentPart] = []  # from tool outputs: they follow the tool messages in a user message
    for index, item in enumerate(items):
        path = f"input.{index}"
        if isinstance(item, rs.ItemReference):
            raise errors.BadRequest(f"{path}: item references must be resolved first", param=path)
        if isinstance(item, rs.FunctionCallOutput):
            out.append(_tool_message(item, path + ".output", images))
            continue
        if images:
            out.append({"role": "user", "content": images})
            images = []
        if isinstance(item, rs.ReasoningItem):
            reasoning.append(reasoning_text(item))
        elif isinstance(item, rs.FunctionCall):
            _add_call(out, item, reasoning)
        elif item.role == "assistant":
            out.append(_assistant(_plain(item.content, path + ".content"), reasoning))
        elif item.role == "user":
            out.append({"role": "user", "content": user_content(item.content, path + ".content")})
        else:
            out.append({"role": "system", "content": _plain(item.content, path + ".content")})
    if images:
        out.append({"role": "user", "content": images})
    if len(out) == (1 if instructions else 0):
        raise errors.BadRequest("input: at least one message or item is required", param="input")
    return out


def reasoning_text(item: rs.ReasoningItem) -> str:
    """The text of a reasoning item: its ``reasoning_text`` content, else its summary."""
    parts = item.content if item.content else item.summary
    return "".join(str(part.get("text") or "") for part in parts if isinstance(part, dict))


def _tool_message(item: rs.FunctionCallOutput, path: str, images: list[ContentPart]) -> ChatMessage:
    """The ``tool`` message for a function call's output; its images go to ``images``."""
    if isinstance(item.output, str):
        return {"role": "tool", "tool_call_id": item.call_id, "content": item.output}
    parts = user_content(item.output, path)
    if isinstance(parts, str):
        return {"role": "tool", "tool_call_id": item.call_id, "content": parts}
    images.extend(part for part in parts if part["type"] == "image_url")
    text = "\n".join(part["text"] for part in parts if part["type"] == "text")
    return {"role": "tool", "tool_call_id": item.call_id, "content": text}


def _assistant(content: str, reasoning: list[str]) -> ChatMessage:
    message: ChatMessage = {"role": "assistant", "content": content}
    if any(reasoning):
        message["reasoning_content"] = "".join(reasoning)
    reasoning.clear()
    return message


def _add_call(out: list[ChatMessage], item: rs.FunctionCall, reasoning: list[str]) -> None:
    call = {"id": item.call_id, "type": "function", "function": {"name": item.name, "arguments": item.arguments}}
    last = out[-1] if out else None
    if last is None or last["role"] != "assistant":
        last = _assistant("", reasoning)
        last["content"] = None
        out.append(last)
    last.setdefault("tool_calls", []).append(call)  # type: ignore[arg-type]


def user_content(content: str | list[rs.ContentPart], path: str) -> str | list[ContentPart]:
    """A user message's content: a string when it is only text, else chat content parts."""
    if isinstance(content, str):
        return content
    parts: list[ContentPart] = []
    for index, part in enumerate(content):
        where = f"{path}.{index}"
        if isinstance(part, rs.InputImage):
            if not part.image_url:
                raise errors.BadRequest(f"{where}: images by file_id are not supported here; send image_url "
                                        "(an http(s) or data: URL)", param=where)
            image = {"url": part.image_url}
            if part.detail in ("low", "high", "auto"):
                image["detail"] = part.detail
            parts.append({"type": "image_url", "image_url": image})  # type: ignore[typeddict-item]
        else:
            parts.append({"type": "text", "text": _part_text(part, where)})
    if all(part["type"] == "text" for part in parts):
        return "\n".join(part["text"] for part in parts)
    return parts


def _plain(content: str | list[rs.ContentPart], path: str) -> str:
    if isinstance(content, str):
        return content
    texts = []
    for index, part in enumerate(content):
        if isinstance(part, rs.InputImage):
            where = f"{path}.{index}"
            raise errors.BadRequest(f"{where}: images are only supported in user messages", param=where)
        texts.append(_part_text(part, f"{path}.{index}"))
    return "\n".join(texts)


def _part_text(part: rs.ContentPart, where: str) -> str:
    if isinstance(part, (rs.InputText, rs.OutputText)):
        return part.text
    if isinstance(part, rs.Refusal):
        return part.refusal
    raise errors.BadRequest(f"{where}: input_file parts are not supported by this model's backend", param=where)
