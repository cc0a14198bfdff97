"""Tool calls from generated text: the grammar of a forced call, parsing, and the event stream.

A forced call (`tool_choice` "required" or a named function) is generated under a grammar built from
the tools' parameter schemas: `{"name": "<tool>", "arguments": <an object valid for that tool>}`. Its
arguments are streamed as they are generated (OpenAI's shape: the first piece carries id and name).
With "auto", the reply is held back while it could still be a call (it starts with `{`, `[`, a code
fence or `<tool_call>`); at its end it becomes `tool_calls` when it parses as calls of known tools (the
generic format, or a template's `<tool_call>` tags, `arguments` or `parameters`), else plain text.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from modelport.engines.base import Finish, GenerationEvent, TextDelta, ToolCallDelta

_HEADER = re.compile(r'\s*\{\s*"name"\s*:\s*"((?:[^"\\]|\\.)*)"\s*,\s*"arguments"\s*:\s*')
_TAGGED = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.S)
_MAYBE_CALL = ("{", "[", "`", "<")


def new_call_id() -> str:
    """An OpenAI-style tool call id."""
    return f"call_{uuid.uuid4().hex[:24]}"


def call_schema(tools: Sequence[dict[str, Any]], name: str | None) -> dict[str, Any]:
    """JSON schema of one call of `name` (or of any of `tools` when None), name first."""
    options = []
    for tool in tools:
        fn = tool["function"]
        if name is not None and fn["name"] != name:
            continue
        params = fn.get("parameters")
        options.append(
            {
                "type": "object",
                "properties": {
                    "name": {"const": fn["name"]},
                    "arguments": params if isinstance(params, dict) and params else {"type": "object"},
                },
                "required": ["name", "arguments"],
                "additionalProperties": False,
            }
        )
    return options[0] if len(options) == 1 else {"anyOf": options}


def parse_calls(text: str, names: Sequence[str]) -> tuple[str, list[tuple[str, str]]]:
    """(remaining content, [(name, arguments JSON)]) when `text` holds calls of known tools, else (text, [])."""
    tagged = _TAGGED.findall(text)
    if tagged:
        calls = [c for body in tagged for c in _objects(body, names) or []]
        if calls and len(calls) >= len(tagged):
            return _TAGGED.sub("", text).strip(), calls
        return text, []
    body = text.strip()
    fenced = _FENCE.match(body)
    found = _objects(fenced.group(1) if fenced else body, names)
    return ("", found) if found else (text, [])


def _objects(body: str, names: Sequence[str]) -> list[tuple[str, str]] | None:
    """Calls in `body`: one JSON object, a JSON array of them, or objects one per line."""
    decoder, items, at = json.JSONDecoder(), [], 0
    body = body.strip()
    while at < len(body):
        try:
            value, end = decoder.raw_decode(body, at)
        except ValueError:
            return None
        items.extend(value if isinstance(value, list) else [value])
        at = end
        while at < len(body) and body[at] in " \t\r\n,;":
            at += 1
    calls = [_call(item, names) for item in items]
    return None if not calls or any(c is None for c in calls) else [c for c in calls if c is not None]


def _call(item: Any, names: Sequence[str]) -> tuple[str, str] | None:
    if not isinstance(item, dict) or item.get("name") not in names:
        return None
    args = item.get("arguments", item.get("parameters", {}))
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except ValueError:
            return None
    if not isinstance(args, dict):
        return None
    return str(item["name"]), json.dumps(args, ensure_ascii=False)


def _emit_calls(calls: list[tuple[str, str]]) -> Iterator[ToolCallDelta]:
    for index, (name, arguments) in enumerate(calls):
        yield ToolCallDelta(index=index, arguments="", id=new_call_id(), name=name)
        yield ToolCallDelta(index=index, arguments=arguments)


def forced_events(events: Iterator[GenerationEvent], names: Sequence[str]) -> Iterator[GenerationEvent]:
    """The events of a grammar-forced call: its header once known, then argument pieces as they come."""
    text, sent = "", 0  # `sent`: characters of `text` already streamed as arguments
    for event in events:
        if isinstance(event, TextDelta):
            text += event.text
            match = _HEADER.match(text)
            if match is None or match.end() == len(text):  # the arguments have not started yet
                continue
            if sent == 0:
                sent = match.end()
                yield ToolCallDelta(index=0, arguments="", id=new_call_id(), name=json.loads(f'"{match[1]}"'))
            safe = len(text.rstrip().rstrip("}").rstrip())  # hold back what may close the outer object
            if safe > sent:
                yield ToolCallDelta(index=0, arguments=text[sent:safe])
                sent = safe
        elif isinstance(event, Finish):
            yield from _forced_end(text, sent, names, event)
        else:
            yield event


def _forced_end(text: str, sent: int, names: Sequence[str], finish: Finish) -> Iterator[GenerationEvent]:
    if sent == 0:  # the header never completed (cut by max_tokens): parse what there is
        _, calls = parse_calls(text, names)
        yield from _emit_calls(calls)
    else:
        body = text.rstrip()
        end = len(body) - 1 if body.endswith("}") and finish.finish_reason == "stop" else len(body)
        if end > sent:
            yield ToolCallDelta(index=0, arguments=text[sent:end])
    reason = "tool_calls" if finish.finish_reason == "stop" else finish.finish_reason
    yield Finish(reason, finish.prompt_tokens, finish.completion_tokens)


def auto_events(events: Iterator[GenerationEvent], names: Sequence[str]) -> Iterator[GenerationEvent]:
    """Plain text, unless the reply starts like a call: then held to the end and parsed."""
    held: list[TextDelta] | None = None  # None: not decided yet; [] after deciding on plain text
    decided = False
    for event in events:
        if isinstance(event, TextDelta) and not decided:
            held = (held or []) + [event]
            start = "".join(e.text for e in held).lstrip()
            if start:
                decided = True
                if not start.startswith(_MAYBE_CALL):
                    yield from held
                    held = None
            continue
        if isinstance(event, TextDelta) and held is not None:
            held.append(event)
        elif isinstance(event, Finish) and held:
            yield from _auto_end(held, names, event)
            return
        else:
            yield event


def _auto_end(held: list[TextDelta], names: Sequence[str], finish: Finish) -> Iterator[GenerationEvent]:
    content, calls = parse_calls("".join(e.text for e in held), names)
    if not calls or finish.finish_reason != "stop":
        yield from held
        yield finish
        return
    if content:
        yield TextDelta(text=content, n_tokens=0)
    yield from _emit_calls(calls)
    yield Finish("tool_calls", finish.prompt_tokens, finish.completion_tokens)
