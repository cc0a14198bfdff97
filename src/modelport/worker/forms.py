"""Reading multipart/form-data bodies (transcriptions, image edits) into plain fields and files."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from modelport.errors import BadRequest

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
    """The request's form; a body of another content type is a 400 naming what is expected."""
    if request.content_type not in FORM_TYPES:
        raise BadRequest(f"this endpoint takes multipart/form-data, not {request.content_type or 'an untyped body'}")
    form = Form()
    for name, value in (await request.post()).items():
        if isinstance(value, web.FileField):
            upload = Upload(filename=value.filename or "", data=value.file.read())
            form.files.setdefault(name, []).append(upload)
        elif isinstance(value, str):
            form.fields.setdefault(name, []).append(value)
    return form
