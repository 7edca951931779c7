"""Quality of similar-incident suggestions on the labelled set (tests/similar/evalset.py).

For each new incident of the set, rank the past ones (bot.similar.score.rank) and check where
the first relevant one (same service, same failure mode) lands:

* top-1 hit rate: the first suggestion is relevant;
* top-3 hit rate: one of the three suggestions posted to the room is relevant;
* MRR: mean of 1/rank of the first relevant incident over the whole ranking (0 if none);
* empty: how often nothing cleared the minimum score (so nothing would be posted).

Split by how the incident was declared: by an alert (labels + rule title) or by a person
(their own words only).

    .venv/bin/python bench/similar_eval.py [--seed 13]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.similar.score import rank
from tests.similar.evalset import EvalSet, build


@dataclass(frozen=True, slots=True)
class Quality:
    queries: int
    top1: float
    top3: float
    mrr: float
    empty: float


def evaluate(s: EvalSet, *, by_alert: bool | None = None) -> Quality:
    """Hit rates over the set's queries (only alert- or person-declared ones when given)."""
    past = [p.profile for p in s.past]
    queries = [q for q in s.queries if by_alert is None or q.incident.by_alert == by_alert]
    top1 = top3 = empty = 0
    mrr = 0.0
    for q in queries:
        shown = rank(q.incident.profile, past, limit=3)
        full = rank(q.incident.profile, past, limit=len(past), min_score=0.0)
        ids = [m.incident_id for m in shown]
        empty += not ids
        top1 += bool(ids) and ids[0] in q.relevant
        top3 += any(i in q.relevant for i in ids)
        first = next((n for n, m in enumerate(full, 1) if m.incident_id in q.relevant), None)
        mrr += 1.0 / first if first else 0.0
    n = len(queries) or 1
    return Quality(len(queries), top1 / n, top3 / n, mrr / n, empty / n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    s = build(args.seed)
    print(f"labelled set: {s.size} incidents ({len(s.past)} resolved, {len(s.queries)} new)")
    print(f"{'declared by':<12} {'n':>4} {'top-1':>7} {'top-3':>7} {'MRR':>6} {'empty':>6}")
    for name, which in (("all", None), ("alert", True), ("person", False)):
        q = evaluate(s, by_alert=which)
        print(
            f"{name:<12} {q.queries:>4} {q.top1:>7.1%} {q.top3:>7.1%} {q.mrr:>6.3f} {q.empty:>6.1%}"
        )


if __name__ == "__main__":
    main()
