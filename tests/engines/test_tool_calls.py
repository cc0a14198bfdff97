"""Tool calls out of generated text, and tools and prefill rendered into chat prompts (real Jinja)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from modelport.engines.base import Finish, GenerationEvent, InvalidEngineInput, TextDelta, ToolCallDelta
from modelport.engines.chat_prompt import ChatTemplate
from modelport.engines.tool_calls import auto_events, call_schema, forced_events, parse_calls

NAMES = ["get_weather", "get_time"]
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
                                      "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
    {"type": "function", "function": {"name": "get_time", "description": "Local time"}},
]  # fmt: skip
# SmolLM2-135M-Instruct's template (ChatML, no tool format), and a Hermes-style one that reads `tools`.
CHATML = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
HERMES = (
    "{% if tools %}<tools>{% for t in tools %}{{ t.function | tojson }}{% endfor %}</tools>\n{% endif %}"
    "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}"
    "{% for c in m.tool_calls or [] %}<tool_call>{{ {'name': c.function.name, 'arguments': c.function.arguments}"
    " | tojson }}</tool_call>{% endfor %}<|end|>\n{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def _pieces(text: str, size: int, reason: str = "stop") -> Iterator[GenerationEvent]:
    for i in range(0, len(text), size):
        yield TextDelta(text=text[i : i + size], n_tokens=1)
    yield Finish(reason, 10, 5)


def _calls(events: Iterator[GenerationEvent]) -> tuple[str, list[tuple[str, str]], str]:
    text, calls, reason = "", [], ""
    for event in events:
        if isinstance(event, TextDelta):
            text += event.text
        elif isinstance(event, ToolCallDelta):
            if event.id is not None:
                assert event.id.startswith("call_") and event.arguments == ""
                calls.append([event.name or "", ""])
            calls[event.index][1] += event.arguments
        else:
            reason = event.finish_reason
    return text, [(name, args) for name, args in calls], reason


@pytest.mark.parametrize("size", [1, 3, 7, 100])
def test_forced_call_streams_its_arguments_whatever_the_pieces(size: int) -> None:
    text = '{"name": "get_weather", "arguments": {"city": "Paris", "nested": {"a": [1, 2]}}}'
    _, calls, reason = _calls(forced_events(_pieces(text, size), NAMES))
    assert calls == [("get_weather", '{"city": "Paris", "nested": {"a": [1, 2]}}')] and reason == "tool_calls"


def test_forced_call_cut_by_max_tokens_keeps_length() -> None:
    _, calls, reason = _calls(forced_events(_pieces('{"name": "get_time", "arguments": {"zo', 4, "length"), NAMES))
    assert calls == [("get_time", '{"zo')] and reason == "length"


def test_auto_passes_text_through_and_parses_calls() -> None:
    assert _calls(auto_events(_pieces("Paris is sunny.", 2), NAMES)) == ("Paris is sunny.", [], "stop")
    call = ' {"name": "get_time", "arguments": {"zone": "UTC"}}'
    assert _calls(auto_events(_pieces(call, 5), NAMES)) == ("", [("get_time", '{"zone": "UTC"}')], "tool_calls")
    unknown = '{"name": "launch", "arguments": {}}'
    assert _calls(auto_events(_pieces(unknown, 5), NAMES)) == (unknown, [], "stop")


def test_parse_calls_reads_tags_fences_arrays_and_parameters() -> None:
    tagged = 'Let me check.<tool_call>{"name": "get_time", "parameters": {"zone": "CET"}}</tool_call>'
    assert parse_calls(tagged, NAMES) == ("Let me check.", [("get_time", '{"zone": "CET"}')])
    fenced = '```json\n[{"name": "get_time", "arguments": "{}"}, {"name": "get_weather", "arguments": {}}]\n```'
    assert parse_calls(fenced, NAMES) == ("", [("get_time", "{}"), ("get_weather", "{}")])
    assert parse_calls('{"name": "get_time"} and more', NAMES) == ('{"name": "get_time"} and more', [])


def test_call_schema_names_the_tool_first() -> None:
    named = call_schema(TOOLS, "get_time")
    assert list(named["properties"]) == ["name", "arguments"] and named["properties"]["name"] == {"const": "get_time"}
    assert [o["properties"]["name"]["const"] for o in call_schema(TOOLS, None)["anyOf"]] == NAMES


def test_generic_tools_go_into_the_system_prompt_and_history_is_rendered() -> None:
    template = ChatTemplate(CHATML, bos_token="<s>", eos_token="</s>")
    call = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather in Oslo?"},
                {"role": "assistant", "content": "", "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "c1", "content": "-3 C"}]  # fmt: skip
    prompt = template.render(messages, TOOLS)
    system = prompt.split("<|im_end|>")[0]
    assert system.startswith("<|im_start|>system\nBe brief.\n\n") and '"name": "get_weather"' in system
    assert '<|im_start|>assistant\n{"name": "get_weather", "arguments": {"city": "Oslo"}}<|im_end|>' in prompt
    assert "<|im_start|>user\nResult of get_weather (c1): -3 C<|im_end|>" in prompt
    assert prompt.endswith("<|im_start|>assistant\n")
    assert "get_weather" not in template.render(messages[:2])


def test_a_template_with_a_tool_format_gets_tools_and_calls_as_objects() -> None:
    template = ChatTemplate(HERMES, bos_token="<s>", eos_token="</s>")
    call = {"id": "c1", "type": "function", "function": {"name": "get_time", "arguments": '{"zone": "UTC"}'}}
    prompt = template.render([{"role": "user", "content": "Time?"},
                              {"role": "assistant", "content": "", "tool_calls": [call]}], TOOLS)  # fmt: skip
    assert prompt.startswith("<tools>" + json.dumps(TOOLS[0]["function"]))
    assert '<tool_call>{"name": "get_time", "arguments": {"zone": "UTC"}}</tool_call>' in prompt
    assert prompt.endswith("<|assistant|>")  # a final assistant message with calls is not continued


def test_prefill_continues_the_final_assistant_text() -> None:
    template = ChatTemplate(CHATML, bos_token="<s>", eos_token="</s>")
    messages = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello, I am"}]
    assert template.render(messages).endswith("<|im_start|>assistant\nHello, I am")
    closed = template.render(messages, continue_final=False)
    assert closed.endswith("Hello, I am<|im_end|>\n<|im_start|>assistant\n")
    with pytest.raises(InvalidEngineInput):
        template.render(messages[:1], continue_final=True)
