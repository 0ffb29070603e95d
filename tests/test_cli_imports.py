"""Commands load only what they use: no HTTP client, platform SDK or numpy for store work.

Start-up is most of a CLI command's time (aiohttp, numpy and pypdf alone were ~300 ms), so
each command is run in a fresh interpreter and its loaded modules are checked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOT_NEEDED = ("aiohttp", "numpy", "rank_bm25", "pypdf", "slack_bolt", "slack_sdk", "discord", "torch")

_PROBE = """
import contextlib, io, json, sys
sys.path.insert(0, {root!r})
from adapters.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main({argv!r})
    except SystemExit:
        pass
print(json.dumps(sorted(m for m in {names!r} if m in sys.modules)))
"""


def _loaded(argv: list[str], tmp_path: Path) -> list[str]:
    code = _PROBE.format(root=str(ROOT), argv=argv, names=NOT_NEEDED)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # online: store commands still build no client
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path,
                         check=True, timeout=120).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.parametrize("command", [
    ["--help"],
    ["search", "vitamin D fractures", "--json"],
    ["stats", "--json"],
    ["ask", "--batch", "QUESTIONS", "--json"],
])
def test_store_commands_import_no_http_platform_or_numpy(command: list[str], db: Path, tmp_path: Path) -> None:
    questions = tmp_path / "questions.txt"
    questions.write_text("Does vitamin D prevent fractures?\n", encoding="utf-8")
    argv = ["--db", str(db), *[str(questions) if part == "QUESTIONS" else part for part in command]]
    assert _loaded(argv, tmp_path) == []
