"""Reading form bodies (transcriptions, image edits) into plain fields and files."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from aiohttp import web

from modelport.errors import BadRequest
from modelport.multipart import MAX_PARTS, parse_form

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


@dataclass(frozen=True)
class Upload:
    """One uploaded file: the name the client gave and its bytes."""

    filename: str
    data: bytes


@dataclass
class Form:
    """A decoded form: text fields and file fields, each name holding one or more values."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, list[Upload]] = field(default_factory=dict)

    def text(self, *names: str) -> str | None:
        """The first value of the first of `names` that was sent as a text field."""
        for name in names:
            if self.fields.get(name):
                return self.fields[name][0]
        return None

    def texts(self, *names: str) -> list[str]:
        """Every value sent under any of `names` (e.g. `timestamp_granularities[]`)."""
        return [value for name in names for value in self.fields.get(name, [])]

    def file(self, *names: str) -> Upload | None:
        """The first file sent under the first of `names` that has one."""
        for name in names:
            if self.files.get(name):
                return self.files[name][0]
        return None


async def read_form(request: web.Request) -> Form:
    """The request's form, read by the gateway's bounded parser (`modelport.multipart`); a body of another
    content type, a malformed one, or a text field or name that is not UTF-8 is a 400."""
    if request.content_type not in FORM_TYPES:
        raise BadRequest(f"this endpoint takes multipart/form-data, not {request.content_type or 'an untyped body'}")
    body = await request.read()  # bounded by the app's client_max_size (413)
    if request.content_type == "application/x-www-form-urlencoded":
        return _urlencoded(body)
    form = Form()
    for part in parse_form(body, request.headers.get("Content-Type", "")):
        name = _text(part.name, "a field name")
        if part.filename is not None:
            upload = Upload(filename=part.filename.decode("utf-8", "replace"), data=part.data)
            form.files.setdefault(name, []).append(upload)
        else:
            form.fields.setdefault(name, []).append(_text(part.data, f"'{name}'"))
    return form


def _text(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(f"{what} is not valid UTF-8") from None


def _urlencoded(body: bytes) -> Form:
    try:
        pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, errors="strict", max_num_fields=MAX_PARTS)
    except UnicodeDecodeError:
        raise BadRequest("the form is not valid UTF-8 (or holds raw 8-bit bytes: percent-encode them)") from None
    except ValueError:
        raise BadRequest(f"the form has more than {MAX_PARTS} fields") from None
    form = Form()
    for name, value in pairs:
        form.fields.setdefault(name, []).append(value)
    return form
