"""The data flow map: systems, what each holds, the flows between them (direction, timing) and the
system of record per data type, built from systems.yaml and the applied mappings so it cannot
drift from the configuration, rendered as Mermaid, Markdown or a self-contained SVG.

`build_map(catalog, mappings_dir) -> FlowMap`; `to_mermaid`, `to_markdown`, `to_svg` (`to_png`
with the optional cairosvg); `map_description(catalog, mappings_dir)` for asset descriptions.
"""

from sync_platform.engines.flowmap.markdown import flows_table, map_description, to_markdown
from sync_platform.engines.flowmap.mermaid import to_mermaid
from sync_platform.engines.flowmap.model import (
    FlowEdge,
    FlowMap,
    SystemNode,
    TableInfo,
    TargetInfo,
    build_map,
)
from sync_platform.engines.flowmap.svg import to_png, to_svg
from sync_platform.engines.flowmap.timing import humanize_cron, humanize_timing

__all__ = ["FlowEdge", "FlowMap", "SystemNode", "TableInfo", "TargetInfo", "build_map", "flows_table",
           "humanize_cron", "humanize_timing", "map_description", "to_markdown", "to_mermaid",
           "to_png", "to_svg"]
