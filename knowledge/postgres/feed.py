"""What a worker's tantivy index catches up from: one team's rows of the shared change sequence.

The database is shared, the index is not: each worker keeps its own index on its own
disk, so the watermark (how far that index has read) belongs beside the index, in a small
JSON file written atomically, never in the shared database where workers would overwrite
each other's. Versions are global and increase in commit order (see migrations.py), so
one team's rows read by version are that team's changes in order too.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from knowledge.postgres.database import PostgresDatabase

__all__ = ["TeamFeed"]

logger = logging.getLogger(__name__)


class TeamFeed:
    """A `knowledge.index.ChangeSource` over one team's papers, its watermark in `meta_path`."""

    def __init__(self, db: PostgresDatabase, team: str, meta_path: Path) -> None:
        self._db = db
        self._team = team
        self._meta_path = meta_path
        self._meta: dict[str, str] = self._read_meta()

    def _read_meta(self) -> dict[str, str]:
        try:
            data = json.loads(self._meta_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            logger.warning("index watermark %s is unreadable; the index is rebuilt", self._meta_path)
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def latest_version(self) -> int:
        with self._db.connection() as conn:
            row = conn.execute("SELECT COALESCE(MAX(version), 0) AS v FROM papers WHERE team = %s",
                               (self._team,)).fetchone()
        return int(row["v"]) if row else 0

    def papers_changed_since(self, version: int, columns: Sequence[str], *, batch: int) -> Iterator[Sequence[Any]]:
        """The team's rows newer than `version`, oldest first, `batch` at a time (one query each)."""
        names = ", ".join(f'"{c}"' for c in columns)
        query = f"SELECT {names}, version FROM papers WHERE team = %s AND version > %s ORDER BY version LIMIT %s"
        while True:
            with self._db.connection() as conn:
                rows = conn.execute(query, (self._team, version, batch)).fetchall()
            if not rows:
                return
            yield rows
            version = int(rows[-1]["version"])

    def get_meta(self, key: str) -> str | None:
        return self._meta.get(key)

    def set_meta(self, key: str, value: str) -> None:
        self._meta[key] = value
        self._meta_path.parent.mkdir(parents=True, exist_ok=True)
        scratch = self._meta_path.with_suffix(".tmp")
        scratch.write_text(json.dumps(self._meta), encoding="utf-8")
        os.replace(scratch, self._meta_path)
