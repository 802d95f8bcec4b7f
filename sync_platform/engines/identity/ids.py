"""Stable golden ids: clusters inherit the id most of their records held before.

A cluster takes the previous golden id held by most of its records (ties: the oldest id, then the
smallest); each previous id goes to one cluster only. Clusters left without an id get a new one,
uuid5 of the entity and the smallest member key. An id whose records all joined another id's
cluster is logged as a merge; records of an id that landed in other clusters are logged as a split.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

NAMESPACE = uuid.UUID("6f1c35a0-4d7e-5b8a-9a37-9c1e2f3d4b50")


@dataclass
class IdAssignment:
    golden_ids: dict[str, str]  # rec_key -> golden id
    cluster_ids: dict[int, str]  # cid -> golden id
    new_ids: list[str] = field(default_factory=list)
    log: list[tuple[str, str, str]] = field(default_factory=list)  # (old_id, new_id, kind)


def new_golden_id(entity: str, smallest_key: str, taken: set[str]) -> str:
    salt = 0
    while True:
        name = f"{entity}:{smallest_key}" + (f"#{salt}" if salt else "")
        gid = str(uuid.uuid5(NAMESPACE, name))
        if gid not in taken:
            return gid
        salt += 1


def assign_ids(entity: str, clusters: dict[int, list[str]], previous: dict[str, str],
               created: dict[str, datetime]) -> IdAssignment:
    """Give every cluster (cid -> member rec_keys) a golden id, reusing previous ids."""
    votes: list[tuple[int, datetime, str, int]] = []
    for cid, members in clusters.items():
        for gid, n in Counter(previous[k] for k in members if k in previous).items():
            votes.append((n, created.get(gid, datetime.max), gid, cid))
    votes.sort(key=lambda v: (-v[0], v[1], v[2], v[3]))
    cluster_ids: dict[int, str] = {}
    used: set[str] = set()
    for _n, _at, gid, cid in votes:
        if cid not in cluster_ids and gid not in used:
            cluster_ids[cid] = gid
            used.add(gid)
    taken = set(created) | used | set(previous.values())
    result = IdAssignment(golden_ids={}, cluster_ids=cluster_ids)
    for cid in sorted(clusters, key=lambda c: min(clusters[c])):
        if cid not in cluster_ids:
            gid = new_golden_id(entity, min(clusters[cid]), taken)
            taken.add(gid)
            cluster_ids[cid] = gid
            result.new_ids.append(gid)
    for cid, members in clusters.items():
        for key in members:
            result.golden_ids[key] = cluster_ids[cid]
    # merges and splits: where did each previous id's records go?
    went: dict[str, set[str]] = {}
    for key, old in previous.items():
        if key in result.golden_ids:
            went.setdefault(old, set()).add(result.golden_ids[key])
    logged: set[tuple[str, str, str]] = set()
    for old, targets in sorted(went.items()):
        for new in sorted(targets - {old}):
            kind = "split" if old in used else "merge"
            logged.add((old, new, kind))
    result.log = sorted(logged)
    return result
