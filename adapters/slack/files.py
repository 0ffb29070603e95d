"""Files shared with the bot: fetched from Slack so `/paper` can ingest them.

Slack serves shared files only with the bot token, so the token is sent to
Slack's own hosts (or the host of `SLACK_API_URL`) and nowhere else: a crafted
event pointing at another server must not learn it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import aiohttp

from bot.models import UploadedFile
from bot.uploads import MAX_UPLOAD_BYTES, upload_refusal

__all__ = ["SharedFile", "to_shared_files", "download_files"]

logger = logging.getLogger(__name__)

_TIMEOUT = aiohttp.ClientTimeout(total=60)


@dataclass(frozen=True, slots=True)
class SharedFile:
    name: str
    url: str
    size: int


def to_shared_files(event: dict[str, Any]) -> tuple[SharedFile, ...]:
    """The files attached to a message event (Slack's `files` list), in order."""
    out = []
    files = event.get("files")
    for item in files if isinstance(files, list) else []:
        if not isinstance(item, dict):
            continue
        url = item.get("url_private_download") or item.get("url_private") or ""
        name = item.get("name") or item.get("title") or "file"
        size = item.get("size")
        if url and isinstance(url, str):
            # A size that is not a count is unknown (0): the download is then capped and checked anyway.
            known = size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else 0
            out.append(SharedFile(name=str(name), url=url, size=known))
    return tuple(out)


def _may_send_token(url: str, api_url: str | None) -> bool:
    host = (urlparse(url).hostname or "").lower()
    if urlparse(url).scheme == "https" and (host == "slack.com" or host.endswith(".slack.com")):
        return True
    return bool(api_url) and host == (urlparse(api_url).hostname or "").lower()


async def download_files(
    files: tuple[SharedFile, ...], *, token: str, api_url: str | None
) -> tuple[list[UploadedFile], list[str]]:
    """The paper files' bytes, and one line per file that could not be fetched."""
    uploads: list[UploadedFile] = []
    problems: list[str] = []
    async with aiohttp.ClientSession(timeout=_TIMEOUT) as session:
        for shared in files:
            refusal = upload_refusal(shared.name, shared.size)
            if refusal is not None:
                problems.append(refusal)
                continue
            if not _may_send_token(shared.url, api_url):
                logger.warning("slack file %s refused: not a Slack URL", shared.name)
                problems.append(f"{shared.name}: not hosted by Slack")
                continue
            try:
                async with session.get(shared.url, headers={"Authorization": f"Bearer {token}"}) as response:
                    if response.status != 200:
                        problems.append(f"{shared.name}: Slack refused the download (HTTP {response.status})")
                        continue
                    data = await response.content.read(MAX_UPLOAD_BYTES + 1)
            except (aiohttp.ClientError, TimeoutError) as exc:
                logger.warning("slack file %s download failed: %s", shared.name, exc)
                problems.append(f"{shared.name}: the download failed")
                continue
            refusal = upload_refusal(shared.name, len(data))  # the size Slack announced may be wrong
            if refusal is not None:
                problems.append(refusal)
                continue
            uploads.append(UploadedFile(filename=shared.name, data=data))
    return uploads, problems
