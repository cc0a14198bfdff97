"""Anthropic Messages request → OpenAI Chat Completions request.

Parameter mapping (beyond the conversation, see :mod:`.messages`):

- ``max_tokens`` → ``max_tokens``; ``stop_sequences`` → ``stop``; ``temperature``/``top_p`` as is;
  ``top_k`` only when the backend supports it (vLLM, SGLang, llama.cpp do; OpenAI does not).
- ``metadata.user_id`` → ``user``.
- ``stream`` → ``stream`` plus ``stream_options: {"include_usage": true}`` so the final usage arrives.
- ``tools`` (client tools) → function tools (``input_schema`` → ``parameters``). Server tools (a ``type``
  other than ``"custom"``, e.g. ``web_search_20250305``) cannot run on a plain engine and are rejected.
- ``tool_choice``: auto→"auto", any→"required", tool→{"type":"function","function":{"name"}}, none→"none";
  ``disable_parallel_tool_use: true`` → ``parallel_tool_calls: false``. Dropped when there are no tools.
- ``thinking``: ``enabled`` → ``chat_template_kwargs {"enable_thinking": true, "thinking": true}`` (the switch
  Qwen3/GLM and DeepSeek-V3.1 templates read; unknown template variables are ignored) plus
  ``reasoning_effort`` derived from ``budget_tokens`` (< 4096 low, < 16384 medium, else high; gpt-oss and
  OpenAI reasoning models read it). ``adaptive`` → the template switch only. ``disabled`` → the switch set
  to false. Absent → nothing, the backend's default applies.
- ``output_config.format`` (or the beta's top-level ``output_format``) ``{"type": "json_schema", "schema"}`` →
  ``response_format: {"type": "json_schema", "json_schema": {"name": "output", "schema", "strict": true}}``;
  ``output_config.effort`` is accepted and not sent (a backend that does not reason may refuse
  ``reasoning_effort``; ``thinking`` is what turns reasoning on).
- A final assistant message (prefill) → ``continue_final_message: true, add_generation_prompt: false`` (vLLM,
  SGLang) so the model continues that text, as Anthropic does.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import msgspec

from modelport import errors
from modelport.protocols import anthropic as an
from modelport.protocols.openai_chat import ChatMessage, ChatRequest, FunctionTool

from .messages import chat_messages, system_message

_PATH_INDEX = re.compile(r"\[(\d+)\]")
_MISSING_FIELD = re.compile(r"Object missing required field `([^`]+)`")


def chat_request_from_messages(
    body: bytes | dict[str, Any] | an.MessagesRequest, *, upstream_model: str, supports_top_k: bool = True
) -> dict[str, Any]:
    """Validate an Anthropic Messages body and build the OpenAI chat request for ``upstream_model``.

    ``body`` may also be an already decoded :class:`MessagesRequest` (see :func:`decode_messages_request`,
    for callers that need ``stream``/``stop_sequences`` too and want to decode once). Raises
    :class:`errors.InvalidJSON` for undecodable bytes and :class:`errors.BadRequest` (with ``param``)
    for a body that is not a valid Messages request.
    """
    request = decode_messages_request(body)
    messages: list[ChatMessage] = []
    system = system_message(request.system)
    if system is not None:
        messages.append(system)
    messages.extend(chat_messages(request.messages))
    chat: ChatRequest = {"model": upstream_model, "messages": messages, "max_tokens": request.max_tokens}
    chat.update(_sampling_params(request, supports_top_k))
    chat.update(_tool_params(request))
    if request.metadata is not None and request.metadata.user_id:
        chat["user"] = request.metadata.user_id
    if request.thinking is not None:
        chat.update(thinking_params(request.thinking))
    chat.update(output_params(request))
    last = messages[-1]
    if last["role"] == "assistant" and not last.get("tool_calls"):
        chat["continue_final_message"] = True
        chat["add_generation_prompt"] = False
    return dict(chat)


def decode_messages_request(body: bytes | dict[str, Any] | an.MessagesRequest) -> an.MessagesRequest:
    """Decode and validate a Messages body, mapping msgspec errors onto BadRequest / InvalidJSON."""
    if isinstance(body, an.MessagesRequest):
        return body
    try:
        if isinstance(body, (bytes, bytearray, memoryview)):
            return msgspec.json.decode(body, type=an.MessagesRequest)
        if not isinstance(body, dict):
            raise errors.BadRequest("request body must be a JSON object")
        return msgspec.convert(body, an.MessagesRequest)
    except msgspec.ValidationError as exc:
        raise bad_request_from_validation(str(exc)) from None
    except msgspec.DecodeError as exc:
        raise errors.InvalidJSON(f"request body is not valid JSON: {exc}") from None


def bad_request_from_validation(text: str) -> errors.BadRequest:
    """Turn msgspec's ``"<detail> - at `$.a[0].b`"`` into ``BadRequest("a.0.b: <detail>", param="a.0.b")``."""
    detail, _, where = text.partition(" - at `")
    path = _PATH_INDEX.sub(r".\1", where.rstrip("`")).removeprefix("$").removeprefix(".")
    if detail.startswith("Expected `object`, got") and not path:
        return errors.BadRequest("request body must be a JSON object")
    missing = _MISSING_FIELD.fullmatch(detail)
    if missing is not None:
        path = f"{path}.{missing.group(1)}" if path else missing.group(1)
        detail = "Field required"
    elif path.endswith(".type") and detail.startswith("Invalid value"):
        detail = f"unknown or unsupported type {detail.removeprefix('Invalid value ')}"
    return errors.BadRequest(f"{path}: {detail}" if path else detail, param=path or None)


def _sampling_params(request: an.MessagesRequest, supports_top_k: bool) -> ChatRequest:
    """stop, stream, temperature, top_p and (when supported) top_k."""
    params: ChatRequest = {}
    if request.stop_sequences:
        params["stop"] = list(request.stop_sequences)
    params["stream"] = request.stream
    if request.stream:
        params["stream_options"] = {"include_usage": True}
    if request.temperature is not None:
        params["temperature"] = request.temperature
    if request.top_p is not None:
        params["top_p"] = request.top_p
    if request.top_k is not None and supports_top_k:
        params["top_k"] = request.top_k
    return params


def _tool_params(request: an.MessagesRequest) -> ChatRequest:
    """tools, tool_choice and parallel_tool_calls."""
    if not request.tools:
        return {}
    params: ChatRequest = {"tools": [function_tool(tool, i) for i, tool in enumerate(request.tools)]}
    choice = request.tool_choice
    if choice is None:
        return params
    if isinstance(choice, an.ToolChoiceTool):
        params["tool_choice"] = {"type": "function", "function": {"name": choice.name}}
    elif isinstance(choice, an.ToolChoiceAny):
        params["tool_choice"] = "required"
    elif isinstance(choice, an.ToolChoiceNone):
        params["tool_choice"] = "none"
    else:
        params["tool_choice"] = "auto"
    if not isinstance(choice, an.ToolChoiceNone) and choice.disable_parallel_tool_use:
        params["parallel_tool_calls"] = False
    return params


def function_tool(tool: an.Tool, index: int) -> FunctionTool:
    """An OpenAI function tool for an Anthropic client tool; server tools are rejected."""
    if tool.type not in (None, "custom"):
        param = f"tools.{index}.type"
        raise errors.BadRequest(
            f"{param}: server tool {tool.type!r} is not supported by this model's backend", param=param
        )
    parameters = tool.input_schema if tool.input_schema is not None else {"type": "object", "properties": {}}
    tool_def: FunctionTool = {"type": "function", "function": {"name": tool.name}}
    if tool.description:
        tool_def["function"]["description"] = tool.description
    tool_def["function"]["parameters"] = parameters
    return tool_def


def output_params(request: an.MessagesRequest) -> ChatRequest:
    """``response_format`` for a structured-output request."""
    config = request.output_config
    params: ChatRequest = {}
    form = config.format if config is not None and config.format is not None else request.output_format
    if form is not None:
        schema = {"name": "output", "schema": form.schema, "strict": True}
        params["response_format"] = {"type": "json_schema", "json_schema": schema}
    return params


def thinking_params(thinking: an.ThinkingConfig) -> ChatRequest:
    """Backend switches for Anthropic's ``thinking`` setting (see the module docstring)."""
    if isinstance(thinking, an.ThinkingDisabled):
        return {"chat_template_kwargs": {"enable_thinking": False, "thinking": False}}
    params: ChatRequest = {"chat_template_kwargs": {"enable_thinking": True, "thinking": True}}
    if isinstance(thinking, an.ThinkingEnabled):
        params["reasoning_effort"] = reasoning_effort(thinking.budget_tokens)
    return params


def reasoning_effort(budget_tokens: int) -> Literal["low", "medium", "high"]:
    """``low`` below 4096 thinking tokens, ``medium`` below 16384, ``high`` above."""
    if budget_tokens < 4096:
        return "low"
    return "medium" if budget_tokens < 16384 else "high"
