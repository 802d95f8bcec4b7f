"""The flow map as a Mermaid `flowchart LR`.

One node per system (name, kind, and the data types it is the system of record for, styled with
the `sor` class), one edge per flow labelled "entity · timing" (plus the mode when it is not an
upsert), `<-->` for two-way flows, thick lines for high-priority flows. Identifiers are derived
from system names and made safe; label text is entity-encoded, so no configuration value can
break out of its label.
"""

from __future__ import annotations

import re

from sync_platform.engines.flowmap.model import FlowEdge, FlowMap

_UNSAFE = set('"#<>&|`\\{}[];')  # and control characters: written as #<code>;


def text(value: str) -> str:
    """Label text safe inside a quoted Mermaid label."""
    return "".join(f"#{ord(c)};" if c in _UNSAFE or not c.isprintable() else c for c in value)


def node_id(name: str) -> str:
    """A Mermaid identifier for a system ("end" and friends cannot clash: always prefixed)."""
    return "sys_" + re.sub(r"[^A-Za-z0-9_]", "_", name)


def edge_label(flow: FlowEdge) -> str:
    parts = [flow.entity, flow.timing]
    if flow.mode != "upsert":
        parts.append(flow.mode.replace("_", " "))
    if flow.propagate_deletes:
        parts.append("deletes")
    return " · ".join(parts)


def to_mermaid(flow_map: FlowMap) -> str:
    """Mermaid source of the map (no fence)."""
    lines = ["flowchart LR"]
    for system in flow_map.systems:
        label = f"<b>{text(system.name)}</b><br/>{text(system.label)}"
        if system.system_of_record:
            label += f"<br/><i>SoR: {text(', '.join(system.system_of_record))}</i>"
        lines.append(f'    {node_id(system.name)}["{label}"]')
    thick = []
    for index, flow in enumerate(flow_map.flows):
        arrow = "<-->" if flow.two_way else "-->"
        lines.append(f'    {node_id(flow.source)} {arrow}|"{text(edge_label(flow))}"| {node_id(flow.target)}')
        if flow.priority == "high":
            thick.append(str(index))
    lines.append("    classDef sor fill:#fff4d6,stroke:#c98a00,stroke-width:2px")
    lines.append("    classDef system fill:#eef3fb,stroke:#4a6fa5")
    plain = [node_id(s.name) for s in flow_map.systems if not s.system_of_record]
    owners = [node_id(s.name) for s in flow_map.systems if s.system_of_record]
    if plain:
        lines.append(f"    class {','.join(plain)} system")
    if owners:
        lines.append(f"    class {','.join(owners)} sor")
    if thick:
        lines.append(f"    linkStyle {','.join(thick)} stroke-width:3px")
    return "\n".join(lines) + "\n"
