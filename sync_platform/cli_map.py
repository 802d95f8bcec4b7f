"""`sync-platform map`: the data flow map (systems, flows, timing, system of record) rendered from
systems.yaml and the applied mappings, as Markdown, Mermaid or SVG. Registered on the main group
with `main.add_command(map_command)`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

FILES = {"markdown": "flow_map.md", "mermaid": "flow_map.mmd", "svg": "flow_map.svg"}


@click.command("map")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write flow_map.md, flow_map.mmd and flow_map.svg into this folder.")
@click.option("--format", "fmt", type=click.Choice(["markdown", "mermaid", "svg", "all"]),
              help="What to render (default: markdown to stdout; all three with --out).")
def map_command(out_dir: Path | None, fmt: str | None) -> None:
    """Render the data flow map from systems.yaml and the applied mappings."""
    from sync_platform import settings
    from sync_platform.engines.catalog import CatalogError, load_catalog
    from sync_platform.engines.flowmap import build_map, to_markdown, to_mermaid, to_svg

    mappings_dir = settings.mappings_dir()
    try:
        catalog = load_catalog(mappings_dir, require_secrets=False)
        flow_map = build_map(catalog, mappings_dir)
    except CatalogError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    render = {"markdown": to_markdown, "mermaid": to_mermaid, "svg": to_svg}
    if out_dir is None:
        if fmt == "all":
            raise click.UsageError("--format all needs --out DIR")
        click.echo(render[fmt or "markdown"](flow_map), nl=False)
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    names = list(FILES) if fmt in (None, "all") else [fmt]
    if "svg" in names:  # the Markdown shows the picture beside it
        render["markdown"] = lambda m: to_markdown(m, picture=FILES["svg"])
    for name in names:
        path = out_dir / FILES[name]
        path.write_text(render[name](flow_map), encoding="utf-8")
        click.echo(f"wrote {path}")
