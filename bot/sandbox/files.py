"""Photos, documents and getFile: uploads checked as Telegram checks them, files kept to fetch."""

from __future__ import annotations

import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, Final

from bot.sandbox.messages import caption_of, new_bot_message
from bot.sandbox.state import Files, Method, StoredFile, World
from bot.sandbox.types import JSON, MAX_DOWNLOAD_BYTES, MAX_PHOTO_BYTES, MAX_UPLOAD_BYTES
from bot.sandbox.wire import ApiError, Upload, bad, image_size, json_copy


def _media(w: World, p: Mapping[str, Any], files: Files, key: str) -> StoredFile | Upload | str:
    """Resolve a photo or document parameter: an upload, a known file, or a URL."""
    upload = files.get(key)
    value = p.get(key)
    if upload is None and isinstance(value, str) and value.startswith("attach://"):
        upload = files.get(value.removeprefix("attach://"))
    if upload is not None:
        if not upload.data:
            raise bad("file must be non-empty")
        return upload
    if isinstance(value, str) and value:
        if value in w.stored_files:
            return w.stored_files[value]
        if re.match(r"https?://", value):
            return value
        raise bad("wrong file identifier/HTTP URL specified")
    raise bad(f"there is no {key} in the request")


def send_photo(w: World, p: JSON, files: Files) -> JSON:
    """Answer ``sendPhoto``: an upload checked as Telegram checks it, a known file or a URL."""
    state = w.target(p)
    source = _media(w, p, files, "photo")
    if isinstance(source, Upload):
        if len(source.data) > MAX_PHOTO_BYTES:
            raise ApiError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Request Entity Too Large")
        size = image_size(source.data)
        if size is None:
            raise bad("IMAGE_PROCESS_FAILED")
        width, height = size
        if width + height > 10_000 or max(width, height) > 20 * max(1, min(width, height)):
            raise bad("PHOTO_INVALID_DIMENSIONS")
        stored_file = w.store_file("photo", source.data, source.filename, "image/jpeg", size)
    elif isinstance(source, str):
        # A URL: Telegram would fetch it; offline there is nothing to fetch.
        stored_file = w.store_file("photo", None, None, "image/jpeg", (1280, 720))
    else:
        stored_file = source
    caption, entities = caption_of(w, p)
    body: JSON = {"photo": [w.photo_size(stored_file)]}
    if caption:
        body["caption"] = caption
    if entities:
        body["caption_entities"] = entities
    stored = new_bot_message(w, state, "sendPhoto", p, body)
    stored.photo = stored_file.data
    stored.raw_text = p.get("caption")
    return json_copy(stored.data)


def send_document(w: World, p: JSON, files: Files) -> JSON:
    """Answer ``sendDocument``: an upload, a known file or a URL."""
    state = w.target(p)
    source = _media(w, p, files, "document")
    if isinstance(source, Upload):
        if len(source.data) > MAX_UPLOAD_BYTES:
            raise ApiError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Request Entity Too Large")
        stored_file = w.store_file(
            "document", source.data, source.filename, source.mime_type, None
        )
    elif isinstance(source, str):
        name = source.rsplit("/", 1)[-1] or "file"
        stored_file = w.store_file("document", None, name, "application/octet-stream", None)
    else:
        stored_file = source
    caption, entities = caption_of(w, p)
    body: JSON = {"document": w.document_dict(stored_file)}
    if caption:
        body["caption"] = caption
    if entities:
        body["caption_entities"] = entities
    stored = new_bot_message(w, state, "sendDocument", p, body)
    stored.document = stored_file.data
    stored.filename = stored_file.filename
    stored.mime_type = stored_file.mime_type
    stored.raw_text = p.get("caption")
    return json_copy(stored.data)


def get_file(w: World, p: JSON, files: Files) -> JSON:
    """Answer ``getFile``: the path to download a known file from."""
    stored = w.stored_files.get(str(p.get("file_id", "")))
    if stored is None:
        raise bad("invalid file_id")
    if stored.data is not None and len(stored.data) > MAX_DOWNLOAD_BYTES:
        raise bad("file is too big")
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.unique_id,
        "file_size": len(stored.data or b""),
        "file_path": stored.path,
    }


METHODS: Final[dict[str, Method]] = {
    "sendPhoto": send_photo,
    "sendDocument": send_document,
    "getFile": get_file,
}
