"""The `citewise` command: ingest, search, ask, chat, stats, run, web.

The terminal is an adapter like Slack or Discord: it turns lines into `Question`s
and renders `Answer`s. Errors the user can fix are one line on stderr and a
non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import getpass
import importlib
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, cast

from knowledge.fusion import FUSION_METHODS
from knowledge.tenancy import team_scope
from knowledge.textcheck import replace_undecodable

# Each command imports what it needs when it runs: `citewise --help` and `citewise search`
# load neither the store's models nor asyncio's event loop, aiohttp, numpy or a platform SDK.
if TYPE_CHECKING:
    import asyncio

    from bot.core import Citewise
    from bot.models import Answer, Question
    from bot.settings import Settings
    from knowledge.postgres import PostgresPaperStore
    from knowledge.store import SQLitePaperStore

__all__ = ["main", "build_parser"]

logger = logging.getLogger(__name__)


class UsageError(Exception):
    """Something the user can fix; shown as one line."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="citewise", description="Cited answers from your team's paper store.")
    parser.add_argument("--db", type=Path, help="store file (default: $CITEWISE_DB, ./citewise.db or the user data dir)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    parser.add_argument("--team", default="", help="the team (Slack workspace or Discord guild id) whose papers a"
                        " PostgreSQL store shows and grows (default: the single team)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def db_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--db", type=Path, default=argparse.SUPPRESS, help="store file")

    p = sub.add_parser(
        "ingest", help="add papers from files (JSONL, BibTeX, RIS, CSV, PDF) or from OpenAlex, arXiv and Crossref"
    )
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    p.add_argument("--openalex", action="append", default=[], metavar="QUERY", help="search OpenAlex works")
    p.add_argument("--arxiv", action="append", default=[], metavar="QUERY", help="search arXiv")
    p.add_argument("--doi", action="extend", nargs="+", default=[], metavar="DOI", help="papers by DOI (Crossref)")
    p.add_argument("--arxiv-id", dest="arxiv_ids", action="extend", nargs="+", default=[], metavar="ID",
                   help="papers by arXiv id")
    p.add_argument("--limit", type=int, default=25, metavar="N", help="papers per search (default 25)")
    p.add_argument("--since", type=int, metavar="YEAR", help="only papers published in YEAR or later")
    p.add_argument("--as", dest="added_by", metavar="NAME", help="who is adding the papers (default cli:$USER)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    db_option(p)

    p = sub.add_parser("search", help="rank the store's papers for a query")
    p.add_argument("query", nargs="?", help="the query (or use --batch)")
    p.add_argument("-k", type=int, default=10, help="how many papers (default 10)")
    p.add_argument("--batch", type=Path, help="file with one query per line; one JSON ranking per line out")
    p.add_argument("--json", action="store_true", help="JSON output")
    db_option(p)

    p = sub.add_parser("ask", help="ask a question; get a cited answer")
    p.add_argument("question", nargs="?", help="the question (or use --batch)")
    p.add_argument("--thread", help="conversation id: ask a follow-up in an earlier thread")
    p.add_argument("--batch", type=Path, help="file with one question per line; one JSON answer per line out")
    p.add_argument("--json", action="store_true", help="JSON output")
    p.add_argument("--brief", action="store_true", help="only the answer and the sources line")
    db_option(p)

    p = sub.add_parser("chat", help="an interactive thread: every line is a follow-up")
    p.add_argument("--thread", help="continue this conversation id")
    db_option(p)

    p = sub.add_parser("stats", help="what the store holds")
    p.add_argument("--json", action="store_true")
    db_option(p)

    p = sub.add_parser("reindex", help="rebuild the search index from the store")
    p.add_argument("--dense", action="store_true", help="also re-embed every paper (needs citewise[dense])")
    db_option(p)

    p = sub.add_parser("run", help="serve every chat adapter whose credentials are set (else the web chat)")
    db_option(p)

    p = sub.add_parser("web", help="serve the web chat alone (http://127.0.0.1:3000 by default)")
    p.add_argument("--host", help="address to bind (default $CITEWISE_WEB_HOST or 127.0.0.1; "
                                  "anything else needs CITEWISE_WEB_TOKEN)")
    p.add_argument("--port", type=int, help="port (default $PORT or 3000; 0 picks a free one)")
    db_option(p)

    p = sub.add_parser("eval", help="measure answer quality on a labelled benchmark")
    bench = p.add_subparsers(dest="benchmark", required=True, metavar="BENCHMARK")
    p = bench.add_parser("scifact", help="SciFact claims against their corpus, in a temporary store")
    p.add_argument("--corpus", type=Path, required=True, help="SciFact corpus.jsonl")
    p.add_argument("--claims", type=Path, required=True, help="SciFact claims_*.jsonl")
    p.add_argument("--split", choices=("tuning", "heldout", "all"), default="all", help="which claims (default all)")
    p.add_argument("--json", type=Path, metavar="OUT", help="also write the figures and per-claim results here")
    p.add_argument("--dense", action="store_true", help="hybrid retrieval: BM25 fused with dense (needs citewise[dense])")
    p.add_argument("--fusion", choices=FUSION_METHODS, default=None, help="how to fuse (default $CITEWISE_DENSE_FUSION or weighted)")
    p.add_argument("--dense-weight", type=float, default=None, metavar="W",
                   help="share of the dense ranking, 0..1 (default $CITEWISE_DENSE_WEIGHT or 0.5)")
    p.add_argument("--dense-cache", type=Path, default=None, metavar="FILE",
                   help="embeddings cached by text across runs (default: in the user cache dir)")
    p.add_argument("--llm", action="store_true",
                   help="answers written by the model at $CITEWISE_LLM_URL (adds citation recall/precision)")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    from bot.settings import Settings

    if getattr(args, "db", None):
        return Settings(db_path=args.db)
    return Settings()


def _open(args: argparse.Namespace, *, store_only: bool = False) -> Citewise:
    """The core; `store_only` for commands that never reach the literature (no fallback client built)."""
    from bot.compose import build_citewise

    settings = _settings(args)
    if store_only and settings.fallback_enabled:
        settings = settings.model_copy(update={"offline": True})
    return build_citewise(settings)


class _Asker:
    """Answers on one event loop, so the live literature fallback (an aiohttp session) works
    from the terminal too; `--batch` stays store-only and reproducible."""

    def __init__(self, cw: Citewise) -> None:
        import asyncio

        self.cw = cw
        self.loop: asyncio.AbstractEventLoop = asyncio.new_event_loop()

    def ask(self, question: Question, *, stream: bool = False) -> Answer:
        """With `stream` and a language model configured, its text is printed as it comes (stderr)."""
        drafts = None
        if stream and self.cw.writer is not None:
            from adapters.streaming import TerminalDrafts

            drafts = TerminalDrafts()
        answer = self.loop.run_until_complete(self.cw.answer(question, on_draft=drafts))
        if drafts is not None:
            drafts.done()
        return answer

    def close(self) -> None:
        try:
            self.loop.run_until_complete(self.cw.aclose())
        finally:
            self.loop.close()


def _lines(path: Path) -> Iterator[str]:
    """Input lines, undecodable bytes as U+FFFD: the core then refuses that line in words and goes on."""
    if str(path) == "-":
        yield from (replace_undecodable(line.rstrip("\n")) for line in sys.stdin)
        return
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    with path.open(encoding="utf-8", errors="surrogateescape") as handle:
        yield from (replace_undecodable(line.rstrip("\n")) for line in handle)


def _decode_input(args: argparse.Namespace) -> None:
    """The one place terminal input is decoded: argv and stdin may carry bytes that are not UTF-8.

    Python hands such bytes over as lone surrogates (or, for stdin, raises); as U+FFFD they
    can be printed and stored, and the question gate refuses them with a clear message.
    """
    for name in ("question", "query", "thread"):
        value = getattr(args, name, None)
        if isinstance(value, str):
            setattr(args, name, replace_undecodable(value))
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(errors="surrogateescape")


def _check_thread(cw: Citewise, thread: str | None) -> None:
    """Say so when `--thread` names no conversation in this store (a typo, or another store)."""
    if thread and not cw.memory.has_conversation(thread):
        print(f"citewise: no conversation {thread!r} in {cw.settings.db_path}; starting a new one with that id",
              file=sys.stderr)


def _print_json(data: object) -> None:
    print(json.dumps(data, ensure_ascii=False))


def cmd_ingest(args: argparse.Namespace) -> int:
    from bot.compose import build_citewise
    from knowledge.ingest import IngestError, ingest_file

    wants_literature = bool(args.openalex or args.arxiv or args.doi or args.arxiv_ids)
    if not args.paths and not wants_literature:
        raise UsageError("give files to ingest, or --openalex/--arxiv QUERY, --doi DOI…, --arxiv-id ID…")
    for path in args.paths:  # check every path before touching the store
        if not path.exists():
            raise UsageError(f"{path}: no such file")
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    added_by = args.added_by or f"cli:{_user_name()}"
    settings = _settings(args)
    papers = _fetch_literature(args, settings) if wants_literature else []
    if papers is None:
        return 1
    cw = build_citewise(settings)  # SQLite, or PostgreSQL with CITEWISE_DATABASE_URL
    store = cw.store
    failed = 0
    try:
        if wants_literature:
            report = store.add_papers(papers, added_by=added_by)  # one transaction: all or nothing
            for conflict in report.conflicts:
                print(f"skipped {conflict}", file=sys.stderr)
            print(f"literature: {len(report.added)} added, {len(report.merged)} merged into existing, "
                  f"{len(report.unchanged)} already present"
                  + (f", {len(report.conflicts)} refused (see above)" if report.conflicts else ""))
        for path in args.paths:
            try:
                result = ingest_file(
                    store,  # type: ignore[arg-type]  # the PostgreSQL store takes the same writes
                    path, added_by=added_by, progress=not args.quiet,
                    on_problem=lambda p: print(f"skipped {p}", file=sys.stderr),
                )
            except IngestError as exc:
                print(f"citewise: {exc}", file=sys.stderr)
                failed += 1
                continue
            print(result.summary())
        where = "PostgreSQL" if settings.database_url else str(settings.db_path)
        print(f"store: {store.count():,} papers in {where}")
    finally:
        cw.close()
    return 1 if failed else 0


def _user_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in this environment (e.g. some containers)
        return "unknown"


def _fetch_literature(args: argparse.Namespace, settings: Settings) -> list | None:
    """Fetch everything asked for before the store is touched; None (after one line on stderr) on failure."""
    import asyncio

    from tqdm import tqdm

    from bot.literature import LiteratureRequest, build_literature, fetch_literature
    from knowledge.literature import BadIdentifier, LiteratureError

    if settings.offline:
        raise UsageError("CITEWISE_OFFLINE is set, so literature sources are off")
    request = LiteratureRequest(
        openalex=args.openalex, arxiv=args.arxiv, dois=args.doi, arxiv_ids=args.arxiv_ids,
        limit=args.limit, since=args.since,
    )

    async def run() -> list:
        async with build_literature(settings) as literature:
            with tqdm(total=request.expected, unit=" papers", desc="fetching", disable=args.quiet, leave=False) as bar:
                return await fetch_literature(literature, request, on_progress=bar.update)

    try:
        return asyncio.run(run())
    except BadIdentifier as exc:
        raise UsageError(str(exc)) from None
    except LiteratureError as exc:
        print(f"citewise: {exc}; nothing was added", file=sys.stderr)
        return None


def cmd_search(args: argparse.Namespace) -> int:
    from adapters.terminal import render_hits

    if args.k < 1:
        raise UsageError("-k must be at least 1")
    cw = _open(args, store_only=True)
    try:
        if args.batch:
            for line in _lines(args.batch):
                hits = cw.search_now(line, args.k) if line.strip() else []
                _print_json({"query": line, "results": [h.model_dump(mode="json") for h in hits]})
            return 0
        if not args.query or not args.query.strip():
            raise UsageError("give a query, or --batch FILE")
        hits = cw.search_now(args.query, args.k)
        if args.json:
            _print_json({"query": args.query, "results": [h.model_dump(mode="json") for h in hits]})
        else:
            print(render_hits(hits))
    finally:
        cw.close()
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from adapters.terminal import render_answer
    from bot.models import Question, new_id

    cw = _open(args, store_only=bool(args.batch))  # `--batch` answers from the store alone
    asker = _Asker(cw)
    _check_thread(cw, args.thread)
    try:
        if args.batch:
            for line in _lines(args.batch):
                answer = cw.answer_now(Question(text=line, conversation_id=args.thread or new_id()))
                _print_json(answer.to_public_dict())
            return 0
        if args.question is None:
            raise UsageError("give a question, or --batch FILE")
        thread = args.thread or new_id()
        answer = asker.ask(Question(text=args.question, conversation_id=thread), stream=not args.json)
        if args.json:
            _print_json(answer.to_public_dict())
        else:
            print(render_answer(answer, show_sources=not args.brief, show_further=not args.brief))
            if answer.status.value == "answered":
                print(f"\n(follow up with: citewise ask --thread {thread} \"…\")")
        return 0 if answer.status.value != "invalid_question" else 2
    finally:
        asker.close()


def cmd_chat(args: argparse.Namespace) -> int:
    from adapters.terminal import render_answer
    from bot.models import Question, new_id

    cw = _open(args)
    asker = _Asker(cw)
    _check_thread(cw, args.thread)
    thread = args.thread or new_id()
    print(f"Citewise — {cw.store.count():,} papers. Thread {thread}. Ask away; an empty line or Ctrl-D ends.")
    try:
        while True:
            try:
                line = replace_undecodable(input("\n? "))
            except EOFError:
                break
            if not line.strip():
                break
            answer = asker.ask(Question(text=line, conversation_id=thread), stream=True)
            print(render_answer(answer))
    except KeyboardInterrupt:
        pass
    finally:
        asker.close()
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    cw = _open(args, store_only=True)
    try:
        stats = {**cw.store.stats(), **cw.memory.stats()}  # the papers, then the bot's own tables
    finally:
        cw.close()
    if args.json:
        _print_json(stats)
    else:
        for key, value in stats.items():
            print(f"{key:>16}: {value}")
    return 0


def cmd_reindex(args: argparse.Namespace) -> int:
    from bot.compose import build_citewise
    from knowledge.dense import require_dense

    settings = _settings(args)
    if args.dense:
        require_dense("--dense")
        settings = settings.model_copy(update={"dense": False})  # rebuild below, not an incremental sync first
    cw = build_citewise(settings)
    # What build_citewise opens from the settings: SQLite, or the --team's papers in PostgreSQL.
    store = cast("SQLitePaperStore | PostgresPaperStore", cw.store)
    try:
        n = store.index.rebuild()
        print(f"re-indexed {n:,} papers")
        if args.dense:
            from knowledge.dense import MiniLMEmbedder

            dense = store.attach_dense(MiniLMEmbedder(), sync=False)
            print(f"embedded {dense.rebuild():,} papers with {dense.embedder.name}")
    finally:
        cw.close()
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    import asyncio

    from adapters.run import serve

    return asyncio.run(serve(_settings(args)))


def cmd_web(args: argparse.Namespace) -> int:
    import asyncio

    from adapters.run import serve_web

    settings = _settings(args)
    overrides = {k: v for k, v in (("web_host", args.host), ("port", args.port)) if v is not None}
    return asyncio.run(serve_web(settings.model_copy(update=overrides)))


def _evaluation() -> ModuleType:
    """The evaluation harness (top-level `evaluation/`): in a source checkout, not in the package.

    Imported only by `citewise eval`, so the bot never loads it. An editable install maps only
    the shipped packages, so the checkout this CLI runs from is tried too.
    """
    try:
        return importlib.import_module("evaluation")
    except ModuleNotFoundError as exc:
        if exc.name != "evaluation":
            raise
        checkout = Path(__file__).resolve().parents[1]
        if not (checkout / "evaluation" / "__init__.py").is_file():
            raise UsageError("citewise eval needs a source checkout: the evaluation harness is not "
                             "installed with the package") from None
        sys.path.insert(0, str(checkout))
        return importlib.import_module("evaluation")


def cmd_eval(args: argparse.Namespace) -> int:
    from bot.settings import Settings

    harness = _evaluation()
    for path in (args.corpus, args.claims):
        if not path.is_file():
            raise UsageError(f"{path}: no such file")
    dense = None
    if args.dense:
        from platformdirs import user_cache_dir

        from knowledge.dense import require_dense

        require_dense("--dense")
        base = Settings()
        weight = base.dense_weight if args.dense_weight is None else args.dense_weight
        if not 0 <= weight <= 1:
            raise UsageError("--dense-weight must be between 0 and 1")
        cache = args.dense_cache or Path(user_cache_dir("citewise", appauthor=False)) / "eval-embeddings.npz"
        dense = harness.DenseOptions(fusion=args.fusion or base.dense_fusion, weight=weight, cache=cache)
    if args.llm and not Settings().llm_url:
        raise UsageError("--llm needs CITEWISE_LLM_URL (an OpenAI-compatible server; see README)")
    report = harness.run_scifact(args.corpus, args.claims, split=args.split, dense=dense, llm=args.llm)
    print(harness.render_report(report))
    if args.json:
        args.json.write_text(json.dumps(report.to_dict(), indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


def _user_errors() -> tuple[type[Exception], ...]:
    """Store and dense-search errors the user can fix, from the modules that are loaded.

    A module never imported cannot have raised its error, so this imports nothing.
    """
    errors: list[type[Exception]] = []
    for module, name in (("knowledge.database", "StoreError"), ("knowledge.dense", "DenseUnavailable")):
        loaded = sys.modules.get(module)
        if loaded is not None:
            errors.append(getattr(loaded, name))
    return tuple(errors)


COMMANDS = {
    "ingest": cmd_ingest,
    "search": cmd_search,
    "ask": cmd_ask,
    "chat": cmd_chat,
    "stats": cmd_stats,
    "reindex": cmd_reindex,
    "run": cmd_run,
    "web": cmd_web,
    "eval": cmd_eval,
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _decode_input(args)
    level = logging.INFO if args.verbose or args.command in ("run", "web") else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        with team_scope(args.team):
            return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"citewise: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        if isinstance(exc, _user_errors()):
            print(f"citewise: {exc}", file=sys.stderr)
            return 2
        raise
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
