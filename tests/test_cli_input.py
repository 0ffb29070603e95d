"""What a terminal can hand the CLI: bytes that are not UTF-8, pings, numbers, unknown threads.

Run as a subprocess so argv and stdin carry real undecodable bytes, as a shell passes them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.cli import main
from tests.conftest import PAPERS, write_jsonl

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "store.db"
    assert main(["--db", str(path), "ingest", "--quiet", str(write_jsonl(tmp_path / "papers.jsonl", PAPERS))]) == 0
    return path


def _run(*args: bytes, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), CITEWISE_OFFLINE="1")
    return subprocess.run([sys.executable.encode(), b"-m", b"adapters.cli", *args], input=stdin,
                          capture_output=True, cwd=ROOT, env=env, check=False)


def test_invalid_utf8_question_is_refused_in_words(db: Path) -> None:
    done = _run(b"--db", str(db).encode(), b"ask", b"\xff\xfe vitamin D")
    assert done.returncode == 2 and b"Traceback" not in done.stderr
    assert b"not valid text (UTF-8)" in done.stdout


def test_batch_goes_on_after_a_bad_line_and_refuses_non_questions(db: Path) -> None:
    lines = b"\xff\xfe vitamin D\n<!channel>\n12345\nDoes vitamin D supplementation reduce fractures?\n"
    done = _run(b"--db", str(db).encode(), b"ask", b"--batch", b"-", stdin=lines)
    assert done.returncode == 0 and b"Traceback" not in done.stderr
    answers = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [a["status"] for a in answers] == ["invalid_question"] * 3 + ["answered"]
    assert "UTF-8" in answers[0]["message"] and "only notified the channel" in answers[1]["message"] and "only numbers" in answers[2]["message"]


def test_chat_survives_a_bad_line(db: Path) -> None:
    done = _run(b"--db", str(db).encode(), b"chat", stdin=b"\xff vitamin\nvitamin D fractures\n")
    assert done.returncode == 0 and b"Traceback" not in done.stderr
    assert b"not valid text" in done.stdout and b"Direct answer" in done.stdout


def test_unknown_thread_is_said_not_silently_new(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--db", str(db), "ask", "--thread", "no-such-thread", "Does vitamin D reduce fractures?"])
    assert "no conversation 'no-such-thread'" in capsys.readouterr().err


def test_an_over_long_question_is_refused_with_the_limit(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(db), "ask", "vitamin " * 300]) == 2
    assert "characters long; the limit is 2,000" in capsys.readouterr().out
