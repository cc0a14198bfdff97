"""Chat prompts from a GGUF's Jinja chat template: tools, tool-call history and prefill.

A template with a tool format of its own (it reads `tools`) gets the OpenAI tools and the history's
`tool_calls` (arguments as objects, as Hugging Face templates expect) and `tool` messages as they are.
Any other template gets a generic tool section appended to the system prompt (the tools as JSON and the
one answer format we parse back: `{"name": ..., "arguments": {...}}`), assistant tool calls written in
that format, and tool results as user messages (every template knows the user role).

Prefill: a final assistant message is rendered as a finished turn with a sentinel for its content; the
prompt is cut at the sentinel and the content put back, so generation continues the given text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from modelport.engines.base import InvalidEngineInput

_SENTINEL = "\x00modelport-prefill\x00"


def tool_section(tools: Sequence[dict[str, Any]], forced: str | None) -> str:
    """The generic tool instructions for a system prompt; `forced` names a tool that must be called."""
    lines = ["You can call these tools (JSON schemas of their arguments):"]
    for tool in tools:
        fn = tool["function"]
        spec = {"name": fn["name"], "description": fn.get("description", ""), "parameters": _params(fn)}
        lines.append(json.dumps(spec, ensure_ascii=False))
    lines.append(
        'To call a tool, answer with only a JSON object and nothing else: {"name": "<tool name>",'
        ' "arguments": {<the arguments>}}'
    )
    if forced:
        lines.append(f"Call the tool {forced} now.")
    return "\n".join(lines)


def _params(fn: dict[str, Any]) -> dict[str, Any]:
    params = fn.get("parameters")
    return params if isinstance(params, dict) else {"type": "object", "properties": {}}


def call_text(call: dict[str, Any]) -> str:
    """One assistant tool call written in the generic format."""
    fn = call.get("function") or {}
    return json.dumps({"name": fn.get("name", ""), "arguments": _arguments(fn)}, ensure_ascii=False)


def _arguments(fn: dict[str, Any]) -> Any:
    raw = fn.get("arguments", "{}")
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw or "{}")
    except ValueError:
        return raw


def generic_messages(
    messages: Sequence[dict[str, Any]], tools: Sequence[dict[str, Any]], forced: str | None
) -> list[dict[str, Any]]:
    """Messages for a template without a tool format: tools in the system prompt, calls as text."""
    out: list[dict[str, Any]] = []
    called: dict[str, str] = {}  # tool call id -> the function it called
    for message in messages:
        role, content = message["role"], message.get("content") or ""
        if role == "assistant" and message.get("tool_calls"):
            called.update({c.get("id", ""): (c.get("function") or {}).get("name", "") for c in message["tool_calls"]})
            calls = "\n".join(call_text(c) for c in message["tool_calls"])
            out.append({"role": "assistant", "content": f"{content}\n{calls}" if content else calls})
        elif role == "tool":
            call_id = message.get("tool_call_id") or ""
            name = message.get("name") or called.get(call_id) or "a tool"
            text = f"Result of {name} ({call_id}): {content}" if call_id else f"Result of {name}: {content}"
            if out and out[-1].get("tool_results"):
                out[-1]["content"] += "\n" + text
            else:
                out.append({"role": "user", "content": text, "tool_results": True})
        else:
            out.append({"role": role, "content": content})
    if tools:
        section = tool_section(tools, forced)
        if out and out[0]["role"] == "system":
            out[0]["content"] = f"{out[0]['content']}\n\n{section}" if out[0]["content"] else section
        else:
            out.insert(0, {"role": "system", "content": section})
    return [{k: v for k, v in m.items() if k != "tool_results"} for m in out]


def native_messages(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages for a template with a tool format: tool-call arguments as objects."""
    out = []
    for message in messages:
        copy = {**message, "content": message.get("content") or ""}
        if message.get("tool_calls"):
            copy["tool_calls"] = [
                {**c, "function": {**c["function"], "arguments": _arguments(c["function"])}}
                for c in message["tool_calls"]
            ]
        out.append(copy)
    return out


def wants_continuation(messages: Sequence[dict[str, Any]], continue_final: bool | None) -> bool:
    """Whether to continue the final message: as asked, else when it is assistant text."""
    last = messages[-1]
    if continue_final is None:
        return last["role"] == "assistant" and not last.get("tool_calls")
    if continue_final and last["role"] != "assistant":
        raise InvalidEngineInput("continue_final_message needs a final assistant message", "messages")
    return continue_final


class ChatTemplate:
    """A GGUF chat template, rendered in Jinja's sandbox the way Hugging Face renders it."""

    def __init__(self, template: str, bos_token: str, eos_token: str) -> None:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        formatter = Jinja2ChatFormatter(template=template, eos_token=eos_token, bos_token=bos_token)
        self._template = formatter._environment
        self._specials = {"bos_token": bos_token, "eos_token": eos_token}
        self.has_tool_format = "tools" in template

    def render(
        self,
        messages: Sequence[dict[str, Any]],
        tools: Sequence[dict[str, Any]] = (),
        *,
        forced: str | None = None,
        continue_final: bool | None = None,
    ) -> str:
        """The prompt text: tools rendered, a final assistant message continued when asked."""
        if not messages:
            raise InvalidEngineInput("'messages' must not be empty", "messages")
        prefill = wants_continuation(messages, continue_final)
        shaped = native_messages(messages) if self.has_tool_format else generic_messages(messages, tools, forced)
        final = shaped[-1]["content"] if prefill else ""
        if prefill:
            shaped[-1] = {**shaped[-1], "content": _SENTINEL}
        text = self._render(shaped, tools if self.has_tool_format and tools else None, not prefill)
        if not prefill:
            return text
        at = text.rfind(_SENTINEL)
        if at < 0:
            raise InvalidEngineInput("this model's chat template cannot continue a final assistant message")
        return text[:at] + final

    def _render(self, messages: list[dict[str, Any]], tools: Any, generation_prompt: bool) -> str:
        def raise_exception(message: str) -> None:
            raise ValueError(message)

        try:
            return str(
                self._template.render(
                    messages=messages, tools=tools, add_generation_prompt=generation_prompt,
                    raise_exception=raise_exception, strftime_now=lambda f: datetime.now().strftime(f),
                    **self._specials,
                )
            )  # fmt: skip
        except Exception as exc:  # jinja raises many kinds, all meaning "these messages don't fit"
            raise InvalidEngineInput(f"chat template rejected the messages: {exc}", "messages") from exc
