"""Hypothesis strategies for request bodies of every inference route: bodies shaped like each route's schema
(the fields the OpenAI, Anthropic, Jina and Cohere APIs name, with typed, odd and wrong values), arbitrary
JSON, and byte-level damage (truncation, invalid UTF-8, NaN, deep nesting, a wrong Content-Type)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

JSON_ROUTES = ("/v1/completions", "/v1/chat/completions", "/v1/embeddings", "/v1/images/generations",
               "/v1/audio/speech", "/v1/rerank", "/v2/rerank", "/v1/messages", "/v1/messages/count_tokens")
MULTIPART_ROUTES = ("/v1/audio/transcriptions", "/v1/audio/translations", "/v1/images/edits")

EDGE_INTS = (0, -1, 1, 2**31 - 1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64, 2**70, -(2**63) - 1)
EDGE_TEXT = ("", " ", "\u0000", "\ud800", "\n\n", "data: [DONE]", "%0d%0aX: y", "\u202e", "é" * 3, "a" * 300)

small_text = st.one_of(st.text(max_size=12), st.sampled_from(EDGE_TEXT))
integers = st.one_of(st.integers(-3, 64), st.integers(), st.sampled_from(EDGE_INTS))
floats = st.one_of(st.floats(-3, 3), st.floats(), st.sampled_from((1e308, -0.0, 5e-324)))
scalars = st.one_of(st.none(), st.booleans(), integers, floats, small_text)
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(small_text, inner, max_size=4)), max_leaves=12)


def mostly(usual: st.SearchStrategy[Any], odd: st.SearchStrategy[Any], odds: int = 16) -> st.SearchStrategy[Any]:
    """`usual`, and one time in `odds` `odd` instead."""
    return st.sampled_from([usual] * (odds - 1) + [odd]).flatmap(lambda chosen: chosen)


def loose(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly values of the right kind, now and then (one in sixteen) any JSON value at all."""
    return mostly(strategy, json_values)


def body_of(models: tuple[str, ...], route: str) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object with a `model` (usually a deployed one), the route's required fields (usually), some of
    its other fields, and now and then an extra key."""
    fields, required = FIELDS[route], REQUIRED[route]
    model = mostly(st.sampled_from(models), st.one_of(small_text, json_values), 8)
    usual = st.fixed_dictionaries({"model": model, **{name: fields[name] for name in required}},
                                  optional={**{k: v for k, v in fields.items() if k not in required},
                                            "extra": json_values})
    return mostly(usual, st.fixed_dictionaries({}, optional=fields), 8)


sampling = {"max_tokens": loose(st.integers(1, 8)), "temperature": loose(floats), "top_p": loose(floats),
            "n": loose(st.integers(-1, 3)), "seed": loose(integers), "stream": loose(st.booleans()),
            "stop": loose(st.one_of(small_text, st.lists(small_text, max_size=5))), "top_k": loose(integers),
            "logprobs": loose(st.one_of(st.booleans(), integers)), "top_logprobs": loose(integers),
            "stream_options": loose(st.fixed_dictionaries({}, optional={"include_usage": loose(st.booleans())})),
            "response_format": loose(st.fixed_dictionaries({"type": st.sampled_from(("text", "json_object"))}))}

chat_part = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": loose(small_text)}),
    st.fixed_dictionaries({"type": st.just("image_url"), "image_url": loose(st.fixed_dictionaries(
        {"url": st.sampled_from(("data:image/png;base64,iVBORw0KGgo=", "http://127.0.0.1:9/x.png", ""))}))}),
    json_values)
chat_message = st.fixed_dictionaries(
    {"role": st.one_of(st.sampled_from(("system", "user", "assistant", "tool", "developer")), small_text)},
    optional={"content": loose(st.one_of(small_text, st.lists(chat_part, max_size=3))), "name": small_text,
              "tool_call_id": small_text})
chat = {"messages": loose(st.lists(chat_message, max_size=3)), **sampling,
        "tools": loose(st.lists(st.fixed_dictionaries({"type": st.just("function"), "function": loose(
            st.fixed_dictionaries({"name": small_text}, optional={"parameters": json_values}))}), max_size=2)),
        "tool_choice": loose(st.sampled_from(("auto", "none", "required")))}
completions = {"prompt": loose(st.one_of(small_text, st.lists(small_text, max_size=3),
                                         st.lists(integers, max_size=4))), **sampling}
embeddings = {"input": loose(st.one_of(small_text, st.lists(small_text, max_size=3),
                                       st.lists(st.lists(integers, max_size=3), max_size=2))),
              "encoding_format": loose(st.sampled_from(("float", "base64"))), "dimensions": loose(integers),
              "input_type": loose(small_text)}
images = {"prompt": loose(small_text), "n": loose(st.integers(0, 3)), "size": loose(st.sampled_from(
    ("256x256", "auto", "8x8", "x", "99999x99999"))), "response_format": loose(st.sampled_from(("url", "b64_json"))),
    "seed": loose(integers), "output_format": loose(st.sampled_from(("png", "jpeg", "gif")))}
speech = {"input": loose(small_text), "voice": loose(st.one_of(st.sampled_from(("alloy", "joe")), small_text)),
          "response_format": loose(st.sampled_from(("mp3", "wav", "pcm", "opus", "midi"))),
          "speed": loose(floats), "stream_format": loose(st.sampled_from(("audio", "sse")))}
document = st.one_of(small_text, st.fixed_dictionaries({"text": loose(small_text)}), json_values)
rerank = {"query": loose(st.one_of(small_text, st.fixed_dictionaries({"text": small_text}))),
          "documents": loose(st.lists(document, max_size=4)), "top_n": loose(integers),
          "return_documents": loose(st.booleans()), "max_tokens_per_doc": loose(integers)}

source = st.one_of(st.fixed_dictionaries({"type": st.just("base64"), "media_type": loose(st.sampled_from(
    ("image/png", "application/pdf"))), "data": loose(st.sampled_from(("iVBORw0KGgo=", "!!")))}),
    st.fixed_dictionaries({"type": st.just("url"), "url": loose(small_text)}), json_values)
block = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": loose(small_text)}),
    st.fixed_dictionaries({"type": st.sampled_from(("image", "document")), "source": source}),
    st.fixed_dictionaries({"type": st.just("tool_use"), "id": loose(small_text), "name": loose(small_text),
                           "input": loose(st.dictionaries(small_text, json_values, max_size=2))}),
    st.fixed_dictionaries({"type": st.just("tool_result"), "tool_use_id": loose(small_text)},
                          optional={"content": loose(small_text), "is_error": loose(st.booleans())}),
    st.fixed_dictionaries({"type": st.just("thinking"), "thinking": loose(small_text),
                           "signature": loose(small_text)}),
    json_values)
anthropic_message = st.fixed_dictionaries(
    {"role": loose(st.sampled_from(("user", "assistant"))), "content": loose(st.one_of(
        small_text, st.lists(block, max_size=3)))})
messages = {"max_tokens": mostly(st.integers(1, 8), json_values, 4), "messages": loose(st.lists(anthropic_message, min_size=1, max_size=3)),
            "system": loose(st.one_of(small_text, st.lists(block, max_size=2))), "stream": loose(st.booleans()),
            "temperature": loose(floats), "top_k": loose(integers), "top_p": loose(floats),
            "stop_sequences": loose(st.lists(small_text, max_size=3)),
            "metadata": loose(st.fixed_dictionaries({}, optional={"user_id": loose(small_text)})),
            "tools": loose(st.lists(st.fixed_dictionaries({"name": loose(small_text)}, optional={
                "input_schema": json_values, "description": small_text}), max_size=2)),
            "tool_choice": loose(st.fixed_dictionaries({"type": st.sampled_from(("auto", "any", "tool", "none"))},
                                                       optional={"name": small_text})),
            "thinking": loose(st.fixed_dictionaries({"type": st.sampled_from(("enabled", "disabled"))},
                                                    optional={"budget_tokens": loose(integers)}))}

FIELDS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "/v1/completions": completions, "/v1/chat/completions": chat, "/v1/embeddings": embeddings,
    "/v1/images/generations": images, "/v1/audio/speech": speech, "/v1/rerank": rerank, "/v2/rerank": rerank,
    "/v1/messages": messages, "/v1/messages/count_tokens": messages}

REQUIRED: dict[str, tuple[str, ...]] = {
    "/v1/completions": ("prompt",), "/v1/chat/completions": ("messages",), "/v1/embeddings": ("input",),
    "/v1/images/generations": ("prompt",), "/v1/audio/speech": ("input",), "/v1/rerank": ("query", "documents"),
    "/v2/rerank": ("query", "documents"), "/v1/messages": ("max_tokens", "messages"),
    "/v1/messages/count_tokens": ("messages",)}


def encode(body: Any, data: st.DataObject) -> bytes:
    """JSON bytes of `body`, sometimes damaged."""
    raw = json.dumps(body, ensure_ascii=data.draw(st.booleans()), allow_nan=True).encode("utf-8", "surrogatepass")
    damage = data.draw(st.sampled_from(("none",) * 20 + ("truncate", "byte", "nest", "duplicate", "bom")))
    if damage == "truncate":
        return raw[:data.draw(st.integers(0, len(raw)))]
    if damage == "byte":
        at = data.draw(st.integers(0, len(raw)))
        return raw[:at] + data.draw(st.sampled_from((b"\xff", b"\xc3", b"\x00", b"\xed\xa0\x80", b"}", b"\""))) + raw[at:]
    if damage == "nest" and raw.startswith(b"{") and len(raw) > 2:
        depth = data.draw(st.sampled_from((64, 900, 1000, 1025, 5000, 100_000)))
        return raw[:-1] + b', "nested": ' + b"[" * depth + b"]" * depth * data.draw(st.booleans()) + b"}"
    if damage == "duplicate" and raw.startswith(b"{") and len(raw) > 2:
        return raw[:-1] + b', "model": ' + json.dumps(data.draw(json_values)).encode() + b"}"
    if damage == "bom":
        return b"\xef\xbb\xbf" + raw
    return raw


def small_work(request: tuple[str, bytes, str]) -> tuple[str, bytes, str]:
    """Keep a generation short on the 2-core machine: a valid `max_tokens` or `n` is capped, and speech input
    is at most 40 characters (damaged bodies pass as they are)."""
    path, body, content_type = request
    try:
        data = json.loads(body)
    except ValueError:
        return request
    if not isinstance(data, dict):
        return request
    for name, cap in (("max_tokens", 4), ("n", 2), ("max_completion_tokens", 4)):
        if isinstance(data.get(name), int) and not isinstance(data[name], bool) and data[name] > cap:
            data[name] = cap
    if path.startswith(("/v1/chat", "/v1/completions", "/v1/messages")) and "max_tokens" not in data:
        data["max_tokens"] = 4
    if isinstance(data.get("input"), str):
        data["input"] = data["input"][:40]
    return path, json.dumps(data).encode(), content_type


CONTENT_TYPES = ("application/json",) * 20 + ("application/json; charset=utf-8", "text/plain", "", "multipart/form-data")


Models = tuple[str, ...] | dict[str, tuple[str, ...]]


def json_request(models: Models, routes: tuple[str, ...] = JSON_ROUTES) -> st.SearchStrategy[Any]:
    """(route, body bytes, content type) for the JSON routes; `models` are the deployed names, for every route
    or per route."""

    @st.composite
    def build(draw: st.DrawFn) -> tuple[str, bytes, str]:
        route = draw(st.sampled_from(routes))
        names = models[route] if isinstance(models, dict) else models
        body = draw(mostly(body_of(names, route), json_values, 10))
        return route, encode(body, draw(st.data())), draw(st.sampled_from(CONTENT_TYPES))

    return build()


#: A WAV header with no samples, a PNG signature, and nothing at all.
MEDIA = (b"RIFF$\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x80>\x00\x00\x00}\x00\x00\x02\x00\x10\x00data\x00"
         b"\x00\x00\x00", b"\x89PNG\r\n\x1a\n", b"")
FORM_NAMES = ("model", "file", "response_format", "language", "prompt", "temperature", "stream", "image", "image[]",
              "mask", "n", "size", "timestamp_granularities[]", "x")
form_value = st.one_of(st.sampled_from((b"json", b"text", b"verbose_json", b"url", b"true", b"2", b"256x256", b"")),
                       st.binary(max_size=40), small_text.map(lambda s: s.encode("utf-8", "surrogatepass")))


@st.composite
def multipart_request(draw: st.DrawFn, models: Models, routes: tuple[str, ...] = MULTIPART_ROUTES
                      ) -> tuple[str, bytes, str]:
    """(route, body bytes, content type) for the multipart routes, now and then malformed."""
    route = draw(st.sampled_from(routes))
    names = models[route] if isinstance(models, dict) else models
    model = draw(mostly(st.sampled_from(names), small_text, 6)).encode("utf-8", "surrogatepass")
    parts = [(b"model", model, False)] if draw(st.booleans()) or draw(st.booleans()) else []
    if draw(st.booleans()) or draw(st.booleans()):
        parts.append((b"image" if route.endswith("edits") else b"file", draw(st.sampled_from(MEDIA)), True))
    parts += draw(st.lists(st.tuples(st.sampled_from(FORM_NAMES).map(str.encode), form_value, st.booleans()),
                           max_size=5))
    draw(st.randoms()).shuffle(parts)
    boundary = draw(st.sampled_from((b"b0und", b"x" * 70, b"a'b")))
    out = b""
    for name, value, is_file in parts:
        disposition = b'form-data; name="' + name + b'"' + (b'; filename="f.wav"' if is_file else b"")
        out += b"--" + boundary + b"\r\nContent-Disposition: " + disposition + b"\r\n\r\n" + value + b"\r\n"
    out += draw(st.sampled_from((b"--" + boundary + b"--\r\n",) * 5 + (b"", b"--" + boundary + b"\r\n", b"--")))
    declared = draw(st.sampled_from((boundary,) * 6 + (b"other", b"", b'"' + boundary + b'"', b"x" * 300)))
    content_type = "multipart/form-data; boundary=" + declared.decode("latin-1")
    return route, out, draw(st.sampled_from((content_type,) * 8 + ("application/json", "multipart/form-data")))
