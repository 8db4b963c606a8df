"""multipart/form-data bodies, as the agent's message create and update endpoints take them:
text fields (`message`, `data`, `silent`, ...) and files (`attachment`, `preview`)."""

from __future__ import annotations

import email.parser
import email.policy

from attrs import field, frozen

from symbot.emulator._feeds import AgentApiError

__all__ = ["FILE_FIELDS", "FormData", "UploadedFile", "parse_form_data"]

FILE_FIELDS = frozenset(("attachment", "preview"))
"""Fields that carry files, even when a client leaves out the file name."""


@frozen
class UploadedFile:
    """One file part: the field it came in (`attachment`, `preview`), its file name, type
    and content."""

    field_name: str
    filename: str
    content_type: str
    content: bytes = field(repr=False)


@frozen
class FormData:
    fields: dict[str, str]
    files: tuple[UploadedFile, ...] = ()

    def attachments(self) -> list[tuple[str, bytes, str]]:
        """The `attachment` files as (file name, content, content type); previews are
        ignored. 400 for a file without a name."""
        found = []
        for upload in self.files:
            if upload.field_name != "attachment":
                continue
            if not upload.filename.strip():
                raise AgentApiError(400, "an attachment needs a file name")
            found.append((upload.filename, upload.content, upload.content_type))
        return found


def parse_form_data(content_type: str | None, body: bytes) -> FormData:
    """The text fields (by name) and file parts of a multipart/form-data body.

    Raises AgentApiError 400 when the body is not multipart/form-data.
    """
    if not content_type or not content_type.lower().startswith("multipart/form-data"):
        raise AgentApiError(400, "this endpoint expects a multipart/form-data body")
    raw = b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    if not message.is_multipart():
        raise AgentApiError(400, "malformed multipart/form-data body (no boundary?)")
    fields: dict[str, str] = {}
    files: list[UploadedFile] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            continue
        filename = part.get_filename()
        if filename is None and name not in FILE_FIELDS:
            fields[name] = payload.decode(part.get_content_charset() or "utf-8", "replace")
        else:
            files.append(UploadedFile(name, filename or "", part.get_content_type(), payload))
    return FormData(fields, tuple(files))
