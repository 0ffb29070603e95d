"""Growing the shared store from chat: `/paper add`, files shared with the bot, `/paper search`.

Platform-neutral: adapters call `Library.handle_paper_command` (or the verbs
directly) with the user's text, their id and any files, and render the
`PaperReply` they get back. Failures are part of the reply, never exceptions.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Sequence
from typing import Literal

from pydantic import BaseModel, Field

from bot.core import Citewise
from bot.literature import build_literature
from bot.models import SearchHit
from knowledge.ingest import SUFFIXES, IngestError, ingest_bytes
from knowledge.literature import BadIdentifier, Identifier, Literature, LiteratureError, parse_identifier
from knowledge.papers import Paper
from knowledge.store import AddReport

__all__ = [
    "Library",
    "PaperReply",
    "PaperRef",
    "RefProblem",
    "UploadedFile",
    "LiteratureRequest",
    "fetch_literature",
    "PAPER_USAGE",
    "MAX_UPLOAD_BYTES",
    "PAPER_FILE_TYPES",
    "upload_refusal",
    "paper_command_in",
    "is_for_the_store",
]

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 25 * 1024 * 1024
# The file names a chat upload may have: whatever the ingester reads.
PAPER_FILE_TYPES = tuple(sorted(SUFFIXES))
_TOO_LARGE = f"larger than {MAX_UPLOAD_BYTES // 2**20} MB"
_MAX_REFS = 20
_SEARCH_K = 5
_SPLIT = re.compile(r"[\s,;]+")
_COMMAND_WORDS = ("paper", "/paper", "papers")
_VERBS = ("add", "search", "find", "help")

PAPER_USAGE = (
    "Usage:\n"
    "  /paper add DOI | arXiv id | URL …   add papers by reference (doi.org, arxiv.org, openalex.org, PubMed links work)\n"
    "  /paper add  + a .bib, .ris or .pdf file   add the papers in a shared file\n"
    "  /paper search QUERY                 the best matches already in the store"
)


class UploadedFile(BaseModel):
    """A file someone shared with the bot, already downloaded by the adapter."""

    filename: str
    data: bytes


class PaperRef(BaseModel):
    """One paper as a reply lists it."""

    id: str
    title: str
    year: int | None = None
    authors: list[str] = Field(default_factory=list)
    url: str | None = None
    origin: str | None = None
    added_by: str | None = None
    added_at: str | None = None

    @classmethod
    def of(cls, paper: Paper) -> "PaperRef":
        return cls(
            id=paper.id, title=paper.title, year=paper.year, authors=paper.authors[:3], url=paper.link,
            origin=paper.origin, added_by=paper.added_by, added_at=paper.added_at,
        )

    def line(self) -> str:
        year = f" ({self.year})" if self.year else ""
        return f"{self.title}{year}" + (f" — {self.url}" if self.url else "")


class RefProblem(BaseModel):
    """A reference or file that could not be added, and why, in one line."""

    ref: str
    message: str


class PaperReply(BaseModel):
    """What the bot says back to a /paper command; `text` is ready to post, the lists are for richer rendering."""

    kind: Literal["added", "search", "help", "error"]
    ok: bool = True
    text: str
    added: list[PaperRef] = Field(default_factory=list)
    existing: list[PaperRef] = Field(default_factory=list)
    problems: list[RefProblem] = Field(default_factory=list)
    hits: list[SearchHit] = Field(default_factory=list)


class LiteratureRequest(BaseModel):
    """Everything one `citewise ingest` run asks of the literature sources."""

    openalex: list[str] = Field(default_factory=list)
    arxiv: list[str] = Field(default_factory=list)
    dois: list[str] = Field(default_factory=list)
    arxiv_ids: list[str] = Field(default_factory=list)
    limit: int = Field(25, ge=1)
    since: int | None = None

    @property
    def expected(self) -> int:
        return (len(self.openalex) + len(self.arxiv)) * self.limit + len(self.dois) + len(self.arxiv_ids)


async def fetch_literature(
    literature: Literature, request: LiteratureRequest, *, on_progress: Callable[[int], None] | None = None
) -> list[Paper]:
    """Every paper the request names, or the first LiteratureError: all or nothing, nothing stored."""
    identifiers = [_parse_as(ref, "doi") for ref in request.dois] + [_parse_as(ref, "arxiv") for ref in request.arxiv_ids]
    papers: list[Paper] = []
    for query in request.openalex:
        papers += await literature.search(query, source="openalex", limit=request.limit, since=request.since, on_page=on_progress)
    for query in request.arxiv:
        papers += await literature.search(query, source="arxiv", limit=request.limit, since=request.since, on_page=on_progress)
    for result in await literature.fetch_many(identifiers):
        if isinstance(result, LiteratureError):
            raise result
        papers.append(result)
        if on_progress is not None:
            on_progress(1)
    return list({p.id: p for p in papers}.values())


def _parse_as(ref: str, kind: str) -> Identifier:
    identifier = parse_identifier(ref if kind != "arxiv" or ":" in ref or "/" in ref else f"arxiv:{ref}")
    if identifier.kind != kind:
        raise BadIdentifier(f"{ref!r} is not a {'DOI' if kind == 'doi' else 'arXiv id'}")
    return identifier


class Library:
    """The store-growing verbs behind `/paper`, shared by every chat adapter."""

    def __init__(self, core: Citewise, literature: Literature | None = None) -> None:
        self.core = core
        self.store = core.store
        self.settings = core.settings
        self._literature = literature

    @property
    def literature(self) -> Literature:
        if self._literature is None:
            self._literature = build_literature(self.settings)
        return self._literature

    async def aclose(self) -> None:
        if self._literature is not None:
            await self._literature.aclose()

    # ── the command ───────────────────────────────────────────────────────
    async def handle_paper_command(self, text: str, user: str, *, files: Sequence[UploadedFile] = ()) -> PaperReply:
        """Parse `/paper …` text (with or without the leading `/paper`) and run it."""
        after = _after_command_word(text)
        words = (text if after is None else after).strip().split(None, 1)
        verb = words[0].lower() if words else ""
        rest = words[1].strip() if len(words) > 1 else ""
        if verb == "add" or (not verb and files):
            refs = [r for r in _SPLIT.split(rest) if r]
            if not refs and not files:
                return PaperReply(kind="error", ok=False, text="Give a DOI, arXiv id or link, or share a file.\n" + PAPER_USAGE)
            return await self.add(refs, user, files=files)
        if verb in ("search", "find"):
            return await self.paper_search(rest)
        if verb in ("", "help", "-h", "--help"):
            return PaperReply(kind="help", text=PAPER_USAGE)
        refs = [r for r in _SPLIT.split(text.strip()) if r and r.lower() not in _COMMAND_WORDS]
        if refs and all(_is_identifier(r) for r in refs):  # "/paper 10.1000/xyz" means add
            return await self.add(refs, user, files=files)
        return PaperReply(kind="error", ok=False, text=f"I don't know '/paper {verb}'.\n" + PAPER_USAGE)

    async def add(self, refs: Sequence[str], user: str, *, files: Sequence[UploadedFile] = ()) -> PaperReply:
        """References and files together, as one reply."""
        replies = []
        if refs:
            replies.append(await self.add_papers_by_reference(refs, user))
        for upload in files:
            replies.append(await self.add_file(upload.filename, upload.data, user))
        merged = PaperReply(kind="added", text="")
        for reply in replies:
            merged.added += reply.added
            merged.existing += reply.existing
            merged.problems += reply.problems
        merged.ok = bool(merged.added or merged.existing) or not merged.problems
        merged.text = _added_text(merged)
        return merged

    # ── the verbs ─────────────────────────────────────────────────────────
    async def add_shared(
        self, command: str, user: str, uploads: Sequence[UploadedFile], refused: Sequence[str], *, shared: bool
    ) -> str:
        """The reply to files shared with the bot and/or a `paper …` command in chat.

        `refused` are the adapter's lines for files it did not download (see
        `upload_refusal`); `shared` says whether any file came with the message.
        """
        lines: list[str] = []
        if command.strip() or not shared:
            lines.append((await self.handle_paper_command(command, user, files=uploads)).text)
        elif uploads:
            lines.append((await self.add([], user, files=uploads)).text)
        if refused:
            lines += ["Could not read:", *(f"• {line}" for line in refused)]
        return "\n".join(lines)

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
        reply = PaperReply(kind="added", existing=existing, problems=problems, text="")
        if fetched:
            report = await asyncio.to_thread(self.store.add_papers, fetched, added_by=user)
            await self._fill(reply, report)
            reply.problems += [RefProblem(ref=c.id, message=str(c)) for c in report.conflicts]
        reply.ok = bool(reply.added or reply.existing) or not problems
        reply.text = _added_text(reply)
        logger.info("paper add by %s: %d added, %d existing, %d problems", user, len(reply.added),
                    len(reply.existing), len(problems))
        return reply

    async def add_file(self, filename: str, data: bytes, user: str) -> PaperReply:
        """Ingest a shared .bib, .ris or .pdf (or any format `citewise ingest` reads)."""
        reply = PaperReply(kind="added", text="")
        if len(data) > MAX_UPLOAD_BYTES:
            reply.problems.append(RefProblem(ref=filename, message=_TOO_LARGE))
        else:
            try:
                result = await asyncio.to_thread(ingest_bytes, self.store, filename, data, added_by=user)
            except IngestError as exc:
                reply.problems.append(RefProblem(ref=filename, message=str(exc)))
            else:
                if result.skipped_as_seen:
                    reply.problems.append(RefProblem(ref=filename, message="this exact file was added before"))
                await self._fill(reply, result.report)
                reply.problems += [RefProblem(ref=f"{filename}:{p.line}", message=p.message) for p in result.problems[:5]]
        reply.ok = bool(reply.added or reply.existing) or not reply.problems
        reply.text = _added_text(reply)
        return reply

    async def paper_search(self, query: str, k: int = _SEARCH_K) -> PaperReply:
        """The store's best matches for a query, with year and takeaway."""
        if not query.strip():
            return PaperReply(kind="error", ok=False, text="What should I search for?\n" + PAPER_USAGE)
        hits = await self.core.search(query, k)
        if not hits:
            return PaperReply(kind="search", text=f"No papers in the store match “{query}”.", hits=[])
        lines = [f"Best matches in the store for “{query}”:"]
        for hit in hits:
            year = f" ({hit.year})" if hit.year else ""
            lines.append(f"{hit.rank}. {hit.title}{year}")
            if hit.takeaway:
                lines.append(f"   {hit.takeaway}")
        return PaperReply(kind="search", text="\n".join(lines), hits=hits)

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


def upload_refusal(filename: str, size: int) -> str | None:
    """Why a file shared in chat is not read, known before downloading it; None when it may be."""
    if not _is_paper_file(filename):
        return f"{filename}: not a paper file (use .bib, .ris, .pdf, .jsonl or .csv)"
    if size > MAX_UPLOAD_BYTES:
        return f"{filename}: {_TOO_LARGE}"
    return None


def paper_command_in(text: str) -> str | None:
    """The `paper …` command a mention carries ("paper add 10.1000/x"), or None when it asks a question.

    Only the command's verbs, bare identifiers or "paper" alone make a command, so
    "@Citewise paper on sleep and memory?" is answered like any other question, on
    every platform alike.
    """
    rest = _after_command_word(text)
    if rest is None:
        return None
    refs = [r for r in _SPLIT.split(rest) if r]
    if not rest or refs[0].lower() in _VERBS or all(_is_identifier(r) for r in refs):
        return rest
    return None


def _after_command_word(text: str) -> str | None:
    """What follows a leading "paper" or "/paper" (stripped), or None when the text does not start with one."""
    words = text.strip().split(None, 1)
    if not words or words[0].lower() not in _COMMAND_WORDS:
        return None
    return words[1].strip() if len(words) > 1 else ""


def _is_paper_file(filename: str) -> bool:
    return filename.lower().endswith(PAPER_FILE_TYPES)


def is_for_the_store(command: str | None, filenames: Sequence[str], question: str) -> bool:
    """Whether a mention adds papers rather than asks: a `paper …` command, a paper file, or files with no words.

    A screenshot shared with a question is a question; a file shared on its own is
    read (or explained, when it is not a paper file).
    """
    if command is not None or any(_is_paper_file(name) for name in filenames):
        return True
    return bool(filenames) and not question


def _is_identifier(text: str) -> bool:
    try:
        parse_identifier(text)
    except BadIdentifier:
        return False
    return True


def _added_text(reply: PaperReply) -> str:
    lines: list[str] = []
    if reply.added:
        lines.append(f"Added {len(reply.added)} paper{'s' if len(reply.added) != 1 else ''} to the team's store:")
        lines += [f"• {p.line()}" for p in reply.added]
    if reply.existing:
        lines.append(f"Already in the store ({len(reply.existing)}):")
        for p in reply.existing:
            who = f" — added by {p.added_by}" if p.added_by else ""
            when = f" on {p.added_at[:10]}" if p.added_at else ""
            lines.append(f"• {p.line()}{who}{when}")
    if reply.problems:
        lines.append(f"Could not add ({len(reply.problems)}):")
        lines += [f"• {p.ref}: {p.message}" for p in reply.problems]
    return "\n".join(lines) or "Nothing to add."
