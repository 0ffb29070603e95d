"""An ingest killed with SIGKILL at several points leaves a consistent store, and finishing it
later adds every paper exactly once.

The ingest runs in a child process that announces each committed batch on stdout; the
test kills it right after chosen announcements, so the kill lands in whatever the child
does next (parsing, a SQLite transaction, feeding or committing the index). No timing
is asserted: the points are chosen by progress, not by the clock.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from knowledge.ingest import ingest_file
from knowledge.store import PaperStore

ROOT = Path(__file__).resolve().parents[1]
PAPERS, BATCH = 6_000, 500
# After how many announced batches each run is killed ("opened": before the first batch).
KILL_AFTER = [0, 1, 4, 7, 11]

_CHILD = """
import sys
import knowledge.ingest as ingest
from knowledge.store import PaperStore

ingest._BATCH, ingest._PUBLISH_EVERY = {batch}, 2
store = PaperStore(sys.argv[1])
add = store.add_papers
def announced(*args, **kwargs):
    report = add(*args, **kwargs)
    print("batch", flush=True)
    return report
store.add_papers = announced
print("opened", flush=True)
ingest.ingest_file(store, sys.argv[2], progress=False)
print("finished", flush=True)
"""


def _corpus(path: Path) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for i in range(PAPERS):
            out.write(json.dumps({"id": f"p{i}", "title": f"Study {i} of sleep, memory and mood",
                                  "abstract": [f"Participants in cohort {i} slept longer.", "Memory improved."]}) + "\n")
    return path


def _run_and_kill(db: Path, corpus: Path, after: int) -> bool:
    """Run the child until it has announced `after` batches, then SIGKILL it; False if it finished first."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.Popen([sys.executable, "-c", _CHILD.format(batch=BATCH), str(db), str(corpus)],
                             stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    assert child.stdout is not None
    seen = -1  # "opened" counts as zero batches
    for line in child.stdout:
        if line.startswith(("opened", "batch")):
            seen += 1
        if seen >= after or line.startswith("finished"):
            break
    finished = child.poll() is not None
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()
    return not finished


def _assert_consistent(db: Path) -> int:
    store = PaperStore(db)  # opening catches the index up with what SQLite committed
    try:
        conn = store.db.connect()
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        count = store.count()
        assert store.index.size == count, f"papers ({count}) and index ({store.index.size}) disagree"
        assert count % BATCH == 0, f"{count} papers: a batch is all in or all out"
        assert conn.execute("SELECT COUNT(DISTINCT id) FROM papers").fetchone()[0] == count
        return count
    finally:
        store.close()


def test_sigkill_at_several_points_then_reingest_finishes_without_duplicates(tmp_path: Path) -> None:
    corpus, db = _corpus(tmp_path / "corpus.jsonl"), tmp_path / "store.db"
    counts = []
    for after in KILL_AFTER:
        _run_and_kill(db, corpus, after)
        counts.append(_assert_consistent(db))
    print("papers stored after each kill:", counts)
    assert counts == sorted(counts), f"papers lost between kills: {counts}"
    # The child runs on after each announcement, so a kill may land a batch later than asked
    # (or, on a loaded machine, after the end); most must still have cut the ingest short.
    assert sum(0 < c < PAPERS for c in counts) >= 3, counts
    store = PaperStore(db)
    try:
        result = ingest_file(store, corpus, progress=False)
        assert len(result.report.added) == PAPERS - counts[-1] and not result.problems
        assert store.count() == store.index.size == PAPERS
        assert ingest_file(store, corpus, progress=False).skipped_as_seen
    finally:
        store.close()
    assert _assert_consistent(db) == PAPERS
