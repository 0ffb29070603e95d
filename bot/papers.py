"""Growing the shared store from chat: `/paper add`, files shared with the bot, `/paper search`.

Platform-neutral: adapters hand `PaperService` the user's text, their id and any
downloaded files, and render the structured `PaperReply` they get back (the words
come from `bot.presenter`). Failures are part of the reply, never exceptions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from bot.commands import PAPER_USAGE, parse_paper_command
from bot.models import PaperRef, PaperReply, RefProblem, SearchHit, UploadedFile
from bot.presenter import paper_reply_text
from bot.settings import Settings
from bot.uploads import MAX_UPLOAD_BYTES, TOO_LARGE
from knowledge.ingest import IngestError, IngestResult
from knowledge.literature import BadIdentifier, Identifier, Literature, LiteratureError, parse_identifier
from knowledge.papers import Paper
from knowledge.protocols import PaperStore
from knowledge.store import AddReport

__all__ = ["PaperService", "SearchPapers", "IngestBytes"]

logger = logging.getLogger(__name__)

_MAX_REFS = 20
_SEARCH_K = 5

# How the service searches the store (the core's `search`): injected, so it is one search for every verb.
SearchPapers = Callable[[str, int], Awaitable[list[SearchHit]]]
# How a shared file's bytes become papers in the store (`knowledge.ingest.ingest_bytes` for the SQLite store).
IngestBytes = Callable[[str, bytes, str], IngestResult]


class PaperService:
    """The store-growing verbs behind `/paper`, shared by every chat adapter."""

    def __init__(self, settings: Settings, store: PaperStore, search: SearchPapers,
                 literature: Callable[[], Literature], ingest: IngestBytes) -> None:
        self.settings = settings
        self.store = store
        self._search = search
        self._ingest = ingest
        self._make_literature = literature
        self._literature: Literature | None = None

    @property
    def literature(self) -> Literature:
        if self._literature is None:
            self._literature = self._make_literature()
        return self._literature

    async def aclose(self) -> None:
        if self._literature is not None:
            await self._literature.aclose()

    # ── the command ───────────────────────────────────────────────────────
    async def handle_paper_command(self, text: str, user: str, *, files: Sequence[UploadedFile] = ()) -> PaperReply:
        """Parse `/paper …` text (with or without the leading `/paper`) and run it."""
        command = parse_paper_command(text, with_files=bool(files))
        if command.verb == "add":
            if not command.refs and not files:
                return _finished(PaperReply(kind="error", ok=False,
                                            message="Give a DOI, arXiv id or link, or share a file.\n" + PAPER_USAGE))
            return await self.add(command.refs, user, files=files)
        if command.verb == "search":
            return await self.paper_search(command.query)
        if command.verb == "help":
            return _finished(PaperReply(kind="help", message=PAPER_USAGE))
        unknown = f"I don't know '/paper {command.word}'.\n" + PAPER_USAGE
        return _finished(PaperReply(kind="error", ok=False, message=unknown))

    async def add(self, refs: Sequence[str], user: str, *, files: Sequence[UploadedFile] = ()) -> PaperReply:
        """References and files together, as one reply."""
        replies = []
        if refs:
            replies.append(await self.add_papers_by_reference(refs, user))
        for upload in files:
            replies.append(await self.add_file(upload.filename, upload.data, user))
        merged = PaperReply(kind="added")
        for reply in replies:
            merged.added += reply.added
            merged.existing += reply.existing
            merged.problems += reply.problems
        return _finished(merged)

    async def add_shared(
        self, command: str, user: str, uploads: Sequence[UploadedFile], refused: Sequence[str], *, shared: bool
    ) -> PaperReply:
        """The reply to files shared with the bot and/or a `paper …` command in chat.

        `refused` are the adapter's lines for files it did not download (see
        `bot.uploads.upload_refusal`); `shared` says whether any file came with the message.
        """
        if command.strip() or not shared:
            reply = await self.handle_paper_command(command, user, files=uploads)
        elif uploads:
            reply = await self.add([], user, files=uploads)
        else:
            reply = PaperReply(kind="added", ok=False)
        reply.unread = list(refused)
        return _finished(reply)

    # ── the verbs ─────────────────────────────────────────────────────────
    async def add_papers_by_reference(self, refs: Sequence[str], user: str) -> PaperReply:
        """Look each reference up (DOI, arXiv id, OpenAlex id, PMID, URL) and add what was found."""
        problems: list[RefProblem] = []
        existing: list[PaperRef] = []
        wanted: list[tuple[str, Identifier]] = []
        for ref in list(dict.fromkeys(refs))[:_MAX_REFS]:
            try:
                identifier = parse_identifier(ref)
            except BadIdentifier as exc:
                problems.append(RefProblem(ref=ref, message=str(exc)))
                continue
            known = await asyncio.to_thread(self._known, identifier)
            if known is not None:
                existing.append(PaperRef.of(known))
            else:
                wanted.append((ref, identifier))
        if len(refs) > _MAX_REFS:
            problems.append(RefProblem(ref="…", message=f"only the first {_MAX_REFS} references were looked at"))
        fetched: list[Paper] = []
        if wanted and self.settings.offline:
            problems += [RefProblem(ref=ref, message="Citewise is offline (CITEWISE_OFFLINE), so it cannot look papers up")
                         for ref, _ in wanted]
        elif wanted:
            results = await self.literature.fetch_many([identifier for _, identifier in wanted])
            for (ref, _), result in zip(wanted, results):
                if isinstance(result, LiteratureError):
                    problems.append(RefProblem(ref=ref, message=str(result)))
                else:
                    fetched.append(result)
        reply = PaperReply(kind="added", existing=existing, problems=problems)
        if fetched:
            report = await asyncio.to_thread(self.store.add_papers, fetched, added_by=user)
            await self._fill(reply, report)
            reply.problems += [RefProblem(ref=c.id, message=str(c)) for c in report.conflicts]
        logger.info("paper add by %s: %d added, %d existing, %d problems", user, len(reply.added),
                    len(reply.existing), len(problems))
        return _finished(reply)

    async def add_file(self, filename: str, data: bytes, user: str) -> PaperReply:
        """Ingest a shared .bib, .ris or .pdf (or any format `citewise ingest` reads)."""
        reply = PaperReply(kind="added")
        if len(data) > MAX_UPLOAD_BYTES:
            reply.problems.append(RefProblem(ref=filename, message=TOO_LARGE))
        else:
            try:
                result = await asyncio.to_thread(self._ingest, filename, data, user)
            except IngestError as exc:
                reply.problems.append(RefProblem(ref=filename, message=str(exc)))
            else:
                if result.skipped_as_seen:
                    reply.problems.append(RefProblem(ref=filename, message="this exact file was added before"))
                await self._fill(reply, result.report)
                reply.problems += [RefProblem(ref=f"{filename}:{p.line}", message=p.message) for p in result.problems[:5]]
        return _finished(reply)

    async def paper_search(self, query: str, k: int = _SEARCH_K) -> PaperReply:
        """The store's best matches for a query, with year and takeaway."""
        if not query.strip():
            return _finished(PaperReply(kind="error", ok=False, message="What should I search for?\n" + PAPER_USAGE))
        hits = await self._search(query, k)
        return _finished(PaperReply(kind="search", query=query, hits=hits))

    # ── helpers ───────────────────────────────────────────────────────────
    def _known(self, identifier: Identifier) -> Paper | None:
        paper = self.store.get(identifier.paper_id)
        if paper is None and identifier.kind == "doi":
            paper = self.store.get_by_doi(identifier.value)
        return paper

    async def _fill(self, reply: PaperReply, report: AddReport) -> None:
        ids = [*report.added, *report.merged, *report.unchanged]
        papers = await asyncio.to_thread(self.store.get_many, ids)
        reply.added += [PaperRef.of(papers[i]) for i in dict.fromkeys(report.added) if i in papers]
        reply.existing += [
            PaperRef.of(papers[i]) for i in dict.fromkeys([*report.merged, *report.unchanged]) if i in papers
        ]


def _finished(reply: PaperReply) -> PaperReply:
    """`ok` and `text` follow from the lists, whichever verb filled them."""
    if reply.kind == "added":
        reply.ok = bool(reply.added or reply.existing) or not reply.problems
    reply.text = paper_reply_text(reply)
    return reply
