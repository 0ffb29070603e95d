"""SciFact claims: reading them and splitting them for tuning versus checking.

Only the training claims are at hand (the dev split is kept back for independent
evaluation), so a fixed slice of them — claims whose id is divisible by 5 — is held
out: tuning looks at the rest, and the held-out figures show whether it overfits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Claim", "load_claims", "select_split", "SPLITS", "is_heldout"]

SPLITS = ("tuning", "heldout", "all")


@dataclass(frozen=True)
class Claim:
    """One claim with its gold papers; ids are strings, as in the store."""

    id: int
    text: str
    cited_ids: tuple[str, ...]
    # gold evidence paper id → the rationales (sets of sentence indices) in that paper
    rationales: dict[str, tuple[frozenset[int], ...]] = field(default_factory=dict)
    # gold evidence paper id → "SUPPORT" or "CONTRADICT"
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def has_evidence(self) -> bool:
        return bool(self.rationales)

    @property
    def label(self) -> str | None:
        """SUPPORT or CONTRADICT when every gold paper agrees, else None."""
        found = set(self.labels.values())
        return found.pop() if len(found) == 1 else None

    @property
    def rationale_count(self) -> int:
        return sum(len(self.rationale_sentences(p)) for p in self.rationales)

    def rationale_sentences(self, paper_id: str) -> frozenset[int]:
        """Every sentence index that belongs to some gold rationale of this paper."""
        return frozenset().union(*self.rationales.get(paper_id, ()))


def is_heldout(claim_id: int) -> bool:
    return claim_id % 5 == 0


def _claim(data: dict) -> Claim:
    rationales: dict[str, tuple[frozenset[int], ...]] = {}
    labels: dict[str, str] = {}
    for doc_id, entries in (data.get("evidence") or {}).items():
        rationales[str(int(doc_id))] = tuple(frozenset(int(i) for i in e["sentences"]) for e in entries)
        if entries and entries[0].get("label"):
            labels[str(int(doc_id))] = str(entries[0]["label"])
    return Claim(
        id=int(data["id"]),
        text=str(data["claim"]),
        cited_ids=tuple(str(int(d)) for d in data.get("cited_doc_ids", [])),
        rationales=rationales,
        labels=labels,
    )


def load_claims(path: str | Path) -> list[Claim]:
    """Claims from a SciFact `claims_*.jsonl` file, in file order."""
    with Path(path).open(encoding="utf-8") as handle:
        return [_claim(json.loads(line)) for line in handle if line.strip()]


def select_split(claims: list[Claim], split: str) -> list[Claim]:
    """`tuning` (id % 5 != 0), `heldout` (id % 5 == 0) or `all`."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    if split == "all":
        return list(claims)
    keep = split == "heldout"
    return [c for c in claims if is_heldout(c.id) == keep]
