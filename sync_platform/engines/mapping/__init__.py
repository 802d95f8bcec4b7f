"""Field mapping: what each landed field means in the canonical model (or another system), with a
calibrated confidence and an explanation, auto-applied above a threshold, reviewed by people
below it, and learning from their corrections.

Modules: `names` (name normalisation), `features` (evidence per candidate), `scoring`
(calibrated confidence, one-to-one assignment, 1:n / n:1), `steps` (transform steps per
proposal), `proposals` (propose for every landed table), `store` (YAML records, meta tables,
export), `review` (queue and decisions), `knowledge` (synonyms, decisions, learned priors),
`suggest` (ad hoc files/tables).
"""

from sync_platform.engines.mapping.knowledge import Knowledge, explain
from sync_platform.engines.mapping.proposals import (
    candidates_between,
    propose_between,
    propose_mappings,
)
from sync_platform.engines.mapping.review import approve, correct, pending, reject
from sync_platform.engines.mapping.scoring import Candidate, score_table
from sync_platform.engines.mapping.store import (
    export_document,
    load_mapping,
    load_mappings,
    read_system_mappings,
    save_mapping,
    write_system_mappings,
)
from sync_platform.engines.mapping.suggest import suggest

__all__ = [
    "Candidate",
    "Knowledge",
    "approve",
    "candidates_between",
    "correct",
    "explain",
    "export_document",
    "load_mapping",
    "load_mappings",
    "pending",
    "propose_between",
    "propose_mappings",
    "read_system_mappings",
    "reject",
    "save_mapping",
    "score_table",
    "suggest",
    "write_system_mappings",
]
