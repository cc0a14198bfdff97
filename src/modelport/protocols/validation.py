"""Decoding a request body into its wire schema, every way it can be wrong a 400 naming the field.

`decode_request(raw, Schema)` is the whole of a worker's parsing of a JSON body: msgspec checks each
field's type, range and length as the Struct declares them, and its error (``"Expected `float` <= 2.0 - at
`$.temperature`"``) becomes ``BadRequest("temperature: Expected `float` <= 2.0", param="temperature")``:
`param` is the request parameter (the top-level field, as OpenAI names it), the message has the exact place
(``messages[0].content``). A field declared as a `Literal` says which values it takes.
"""

from __future__ import annotations

import re
from types import UnionType
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import msgspec

from modelport.errors import BadRequest, InvalidJSON

T = TypeVar("T")

_AT = " - at `"
_MISSING_FIELD = re.compile(r"Object missing required field `([^`]+)`")
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def decode_request(raw: bytes, schema: type[T]) -> T:
    """`raw` (a JSON object) as `schema`; `InvalidJSON` or `BadRequest` naming the field otherwise. Nesting is
    bounded by msgspec's recursion guard."""
    try:
        return msgspec.json.decode(raw, type=schema)
    except msgspec.ValidationError as exc:
        raise bad_request(str(exc), schema) from None
    except msgspec.DecodeError as exc:
        raise InvalidJSON(f"request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidJSON("request body is nested too deeply") from None


def bad_request(text: str, schema: type[Any]) -> BadRequest:
    """msgspec's validation error `text` for `schema` as a 400 naming the field."""
    detail, _, at = text.partition(_AT)
    where = at.rstrip("`").removeprefix("$")
    if not where and detail.startswith("Expected `object`"):
        return InvalidJSON("request body must be a JSON object")
    missing = _MISSING_FIELD.fullmatch(detail)
    if missing is not None:
        where, detail = f"{where}.{missing.group(1)}", "Field required"
    elif choices := _literal_values(schema, where):
        named = ", ".join(choices)
        if detail.startswith("Invalid enum value"):
            detail = f"{detail.removeprefix('Invalid enum value ')} is not one of {named}"
        else:
            detail = f"{detail}; one of {named}"
    elif where.endswith(".type") and detail.startswith("Invalid value"):  # a tagged Struct's tag
        detail = f"unknown or unsupported type {detail.removeprefix('Invalid value ')}"
    place = where.removeprefix(".")
    param = re.split(r"[.\[]", place, maxsplit=1)[0] or None
    return BadRequest(f"{place}: {detail}" if place else detail, param=param)


def _literal_values(schema: Any, where: str) -> tuple[str, ...]:
    """The values of the `Literal` at `where` (`.a[0].b`) in `schema`, in their declared order; () when it is
    not one."""
    types = [schema]
    for name, index in _STEP.findall(where):
        types = [inner for t in types for inner in _step(t, name, index)]
    return tuple(str(value) for t in types for member in _members(t) if get_origin(member) is Literal
                 for value in get_args(member))


def _members(annotation: Any) -> list[Any]:
    """An annotation's alternatives, `Annotated` and unions unwrapped."""
    if get_origin(annotation) is Annotated:
        return _members(get_args(annotation)[0])
    if get_origin(annotation) in (Union, UnionType):
        return [member for arg in get_args(annotation) for member in _members(arg)]
    return [annotation]


def _step(annotation: Any, name: str, index: str) -> list[Any]:
    """The types one step (the field `name`, or an item when `index`) inside `annotation`."""
    found = []
    for member in _members(annotation):
        if name and isinstance(member, type) and issubclass(member, msgspec.Struct):
            found += [f.type for f in msgspec.structs.fields(member) if f.encode_name == name]
        elif index and get_origin(member) is list:
            found += list(get_args(member))
    return found
