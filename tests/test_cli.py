"""The `citewise` command as a person at a terminal uses it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.cli import main


def test_ingest_reports_counts_and_skipped_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "mixed.jsonl"
    bad.write_text(json.dumps({"id": "x", "title": "Good"}) + "\n{oops\n", encoding="utf-8")
    code = main(["--db", str(tmp_path / "s.db"), "ingest", str(bad)])
    out, err = capsys.readouterr()
    assert code == 0
    assert "1 added" in out and "1 skipped" in out
    assert f"skipped {bad}:2: not valid JSON" in err


def test_missing_file_and_unknown_format_exit_non_zero_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(tmp_path / "s.db"), "ingest", str(tmp_path / "missing.jsonl")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"citewise: {tmp_path / 'missing.jsonl'}: no such file"
    odd = tmp_path / "notes.txt"
    odd.write_text("hello")
    assert main(["--db", str(tmp_path / "s.db"), "ingest", str(odd)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "unknown format" in err and "Traceback" not in err


def test_ask_prints_answer_sources_line_and_numbered_sources(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(db), "ask", "Does vitamin D supplementation reduce fractures?"]) == 0
    out = capsys.readouterr().out
    first, _, rest = out.partition("\n\n")
    assert first.startswith(("Yes", "Mostly yes", "No", "Mostly no", "Mixed evidence")), "the bottom line comes first"
    assert rest.startswith("Direct answer")
    assert "[1]" in out and "sources cited" in out and "Sources used in this answer" in out
    assert "Takeaway:" in out and "citewise ask --thread" in out


def test_ask_json_has_the_documented_shape(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(db), "ask", "--json", "Does low-dose aspirin prevent stroke?"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"question", "status", "answer", "sources", "verification"} <= data.keys()
    assert data["status"] == "answered" and data["verification"]["passed"] is True
    source = data["sources"][0]
    assert {"n", "id", "title", "authors", "year", "url", "takeaway", "evidence"} <= source.keys()
    assert {"index", "text"} <= source["evidence"][0].keys()


def test_follow_up_with_thread(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--db", str(db), "ask", "--json", "--thread", "T", "Does calcium plus vitamin D prevent hip fractures?"])
    capsys.readouterr()
    main(["--db", str(db), "ask", "--json", "--thread", "T", "What are its limitations?"])
    data = json.loads(capsys.readouterr().out)
    assert "heterogeneity" in data["answer"]


def test_batch_modes_keep_order_one_json_line_per_input(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    questions = tmp_path / "q.txt"
    questions.write_text("Does aspirin prevent stroke?\n\nWhat is the capital of France?\nDo statins cause muscle pain?\n")
    assert main(["--db", str(db), "ask", "--batch", str(questions), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [d["status"] for d in lines] == ["answered", "invalid_question", "no_evidence", "answered"]
    assert main(["--db", str(db), "search", "--batch", str(questions), "-k", "2", "--json"]) == 0
    rankings = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rankings) == 4 and rankings[0]["results"][0]["id"] == "aspirin-stroke"
    assert rankings[1]["results"] == []


def test_search_lists_ranked_papers(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(db), "search", "coffee cirrhosis", "-k", "3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    top = data["results"][0]
    assert top["id"] == "coffee-liver" and top["rank"] == 1 and top["year"] == 2015
    assert "44% lower risk" in top["takeaway"]


def test_bad_questions_get_a_message_not_a_traceback(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(db), "ask", "   "]) == 2
    assert "empty" in capsys.readouterr().out
    assert main(["--db", str(db), "ask", "x" * 10_000]) == 2
    assert "10,000 characters" in capsys.readouterr().out


def test_stats_and_chat_through_the_installed_entry_point(db: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "--db", str(db), "chat"],
        input="Does coffee protect against liver cirrhosis?\nhow large was the effect?\n\n",
        capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parents[1],
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("sources cited") + run.stdout.count("source cited") == 2
    assert "Traceback" not in run.stderr
    stats = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "--db", str(db), "stats", "--json"],
        capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parents[1],
    )
    data = json.loads(stats.stdout)
    assert data["papers"] == 12 and data["indexed"] == 12 and data["conversations"] == 1


def test_run_without_credentials_would_serve_the_web_chat_but_not_publicly_without_a_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Serving it on loopback is tested in test_web.py; here, the refusal that comes before any bind.
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "DISCORD_TOKEN", "CITEWISE_WEB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CITEWISE_WEB_HOST", "0.0.0.0")
    monkeypatch.chdir(tmp_path)
    assert main(["--db", str(tmp_path / "s.db"), "run"]) == 2
    err = capsys.readouterr().err
    assert "CITEWISE_WEB_TOKEN" in err and "Traceback" not in err
