"""The flow map as a self-contained SVG, laid out by a small layout of its own (no graphviz, no
browser, no network).

Layout: systems connected by flows form a band (one per connected group, top to bottom); inside a
band, systems stand in three columns, pure sources left, systems that send and receive in the
middle, pure targets right. The order inside each column is the one (of all permutations, for up
to 6 systems a column) that keeps connected systems closest. Each flow is a quadratic curve from
box edge to box edge; its bend is the smallest that keeps the curve off other boxes and its label
off other labels, so parallel and opposite flows fan out. Boxes show the system's name, kind,
tables and the data types it is the system of record for; a legend explains the marks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import permutations
from xml.sax.saxutils import escape, quoteattr

from sync_platform.engines.flowmap.model import FlowEdge, FlowMap, SystemNode

COLUMNS = {"source": 0, "both": 1, "none": 1, "target": 2}
HEADINGS = ["sources", "send and receive", "targets"]
FONT = "font-family=\"Helvetica, Arial, sans-serif\""
ONE_WAY, TWO_WAY = "#4a6fa5", "#8e44ad"
MARGIN, ROW_GAP, BAND_GAP, LINE = 28, 64, 40, 15


def _x(value: object) -> str:
    """Text content safe in XML (control characters dropped: XML 1.0 cannot hold them)."""
    return escape("".join(c for c in str(value) if c.isprintable()))


def _attr(value: object) -> str:
    return quoteattr("".join(c for c in str(value) if c.isprintable()))


def _width(text: str, size: float, bold: bool = False) -> float:
    return len(text) * size * (0.62 if bold else 0.56)


def _wrap(prefix: str, items: list[str], limit: int = 34) -> list[str]:
    """`prefix` + comma-separated items, wrapped at about `limit` characters."""
    lines, current = [], prefix
    for i, item in enumerate(items):
        piece = item + ("," if i < len(items) - 1 else "")
        if current.strip() and len(current) + len(piece) + 1 > limit and current != prefix:
            lines.append(current)
            current = "  " + piece
        else:
            current = f"{current} {piece}" if current else piece
    return [*lines, current]


@dataclass
class _Box:
    system: SystemNode
    lines: list[tuple[str, str]]  # (css class, text)
    w: float = 0.0
    h: float = 0.0
    x: float = 0.0  # centre
    y: float = 0.0

    def contains(self, px: float, py: float, pad: float = 6.0) -> bool:
        return abs(px - self.x) < self.w / 2 + pad and abs(py - self.y) < self.h / 2 + pad


def _box(system: SystemNode) -> _Box:
    lines = [("name", system.name), ("kind", f"{system.label} · {system.role}")]
    lines += [("tables", line) for line in _wrap("tables:", [t.name for t in system.tables])]
    if system.system_of_record:
        lines += [("sor", line) for line in _wrap("SoR:", list(system.system_of_record))]
    w = max(140.0, *(_width(t, 14 if c == "name" else 11, c == "name") + 24 for c, t in lines))
    return _Box(system, lines, w, 14 + LINE * len(lines) + 4)


def _bands(flow_map: FlowMap) -> list[list[str]]:
    """Systems grouped by the flows connecting them (union-find), in configuration order."""
    parent = {s.name: s.name for s in flow_map.systems}

    def find(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    for flow in flow_map.flows:
        parent[find(flow.source)] = find(flow.target)
    groups: dict[str, list[str]] = {}
    for s in flow_map.systems:
        groups.setdefault(find(s.name), []).append(s.name)
    connected = [g for g in groups.values() if len(g) > 1]
    alone = [n for g in groups.values() if len(g) == 1 for n in g]
    return connected + ([alone] if alone else [])


def _order(columns: list[list[str]], edges: list[tuple[str, str]]) -> list[list[str]]:
    """Reorder each column (coordinate descent over permutations) to keep edges short."""
    def cost(cols: list[list[str]]) -> float:
        height = max(len(c) for c in cols)
        pos = {n: (ci, (height - len(c)) / 2 + ri) for ci, c in enumerate(cols) for ri, n in enumerate(c)}
        total = 0.0
        for a, b in edges:
            (ca, ra), (cb, rb) = pos[a], pos[b]
            span = abs(ra - rb)
            total += span if ca != cb else (span - 1) * 4 + span
        return total

    best = [list(c) for c in columns]
    for _ in range(3):
        for ci, column in enumerate(best):
            if len(column) < 2 or len(column) > 6:
                continue
            options = [best[:ci] + [list(p)] + best[ci + 1:] for p in permutations(column)]
            best = min(options, key=cost)  # min keeps the first (configuration order) on ties
    return best


def _layout(flow_map: FlowMap, top: float) -> tuple[dict[str, _Box], list[float], float]:
    boxes = {s.name: _box(s) for s in flow_map.systems}
    used = sorted({COLUMNS.get(s.role, 1) for s in flow_map.systems})
    widths = {c: max(b.w for b in boxes.values() if COLUMNS.get(b.system.role, 1) == c) for c in used}
    for b in boxes.values():
        b.w = widths[COLUMNS.get(b.system.role, 1)]
    gap = max([200.0, *(_width(_label(f)[0], 11) + 60 for f in flow_map.flows)])
    centers, x = {}, MARGIN
    for c in used:
        centers[c] = x + widths[c] / 2
        x += widths[c] + gap
    y = top
    for band in _bands(flow_map):
        columns = [[n for n in band if COLUMNS.get(boxes[n].system.role, 1) == c] for c in used]
        edges = [(f.source, f.target) for f in flow_map.flows if f.source in band]
        columns = _order(columns, edges)
        rows = max(len(c) for c in columns)
        step = max(b.h for n in band for b in [boxes[n]]) + ROW_GAP
        for c, column in zip(used, columns, strict=True):
            for r, name in enumerate(column):
                boxes[name].x = centers[c]
                boxes[name].y = y + ((rows - len(column)) / 2 + r) * step + step / 2 - ROW_GAP / 2
        y += rows * step - ROW_GAP + BAND_GAP
    return boxes, [centers[c] for c in used], y - BAND_GAP


def _label(flow: FlowEdge) -> list[str]:
    extra = [flow.mode.replace("_", " ")] if flow.mode != "upsert" else []
    extra += ["high priority"] if flow.priority == "high" else []
    extra += ["propagates deletes"] if flow.propagate_deletes else []
    return [f"{flow.entity} · {flow.timing}", *([" · ".join(extra)] if extra else [])]


def _clip(box: _Box, tx: float, ty: float) -> tuple[float, float]:
    """Where the ray from the box centre towards (tx, ty) leaves the box."""
    dx, dy = tx - box.x, ty - box.y
    if dx == 0 and dy == 0:
        return box.x, box.y
    t = min(box.w / 2 / abs(dx) if dx else math.inf, box.h / 2 / abs(dy) if dy else math.inf)
    return box.x + dx * t, box.y + dy * t


@dataclass
class _Edge:
    flow: FlowEdge
    p0: tuple[float, float]
    c: tuple[float, float]
    p1: tuple[float, float]
    label: tuple[float, float, float, float]  # centre x, centre y, width, height


def _curve(a: _Box, b: _Box, bend: float) -> tuple[tuple[float, float], ...]:
    mx, my = (a.x + b.x) / 2, (a.y + b.y) / 2
    dx, dy = b.x - a.x, b.y - a.y
    length = math.hypot(dx, dy) or 1.0
    nx, ny = -dy / length, dx / length
    cx, cy = mx + nx * bend * 2, my + ny * bend * 2  # the curve's middle is `bend` off the chord
    p0, p1 = _clip(a, cx, cy), _clip(b, cx, cy)
    return p0, (cx, cy), p1


def _point(p0, c, p1, t: float) -> tuple[float, float]:
    u = 1 - t
    return (u * u * p0[0] + 2 * u * t * c[0] + t * t * p1[0],
            u * u * p0[1] + 2 * u * t * c[1] + t * t * p1[1])


def _overlap(r1: tuple[float, ...], r2: tuple[float, ...], pad: float = 4.0) -> bool:
    return abs(r1[0] - r2[0]) < (r1[2] + r2[2]) / 2 + pad and abs(r1[1] - r2[1]) < (r1[3] + r2[3]) / 2 + pad


def _route(flow_map: FlowMap, boxes: dict[str, _Box]) -> list[_Edge]:
    """Each flow's curve: the smallest bend that keeps it off other boxes and its label off other
    boxes, labels and curves (the least bad one when none is clear)."""
    placed: list[_Edge] = []
    for flow in flow_map.flows:
        a, b = boxes[flow.source], boxes[flow.target]
        others = [x for x in boxes.values() if x not in (a, b)]
        # bend sign is taken in a fixed orientation of the pair, so opposite flows fan out
        sign = 1 if flow.source <= flow.target else -1
        lines = _label(flow)
        lw = max(_width(t, 11) for t in lines) + 14
        lh = 6 + 13 * len(lines)
        drawn = [_point(e.p0, e.c, e.p1, i / 40) for e in placed for i in range(41)]
        best: tuple[float, _Edge] | None = None
        for step in range(0, 16):
            bend = (step + 1) // 2 * 28 * (1 if step % 2 else -1) * sign
            p0, c, p1 = _curve(a, b, bend)
            samples = [_point(p0, c, p1, i / 24) for i in range(3, 22)]
            mx, my = _point(p0, c, p1, 0.5)
            rect = (mx, my, lw, lh)
            score = 10 * sum(o.contains(*pt) for o in others for pt in samples)
            score += 10 * sum(_overlap(rect, (o.x, o.y, o.w, o.h)) for o in boxes.values())
            score += 5 * sum(_overlap(rect, e.label) for e in placed)
            score += sum(_overlap(rect, (x, y, 0, 0), 2) for x, y in drawn)
            if best is None or score < best[0]:
                best = (score, _Edge(flow, p0, c, p1, rect))
            if score == 0:
                break
        placed.append(best[1])  # type: ignore[index]
    return placed


def _defs() -> list[str]:
    out = ["<defs>"]
    for name, color in (("one", ONE_WAY), ("two", TWO_WAY)):
        for end, path, ref in (("end", "M0,0 L10,5 L0,10 z", 9), ("start", "M10,0 L0,5 L10,10 z", 1)):
            out.append(f'<marker id="arrow-{name}-{end}" viewBox="0 0 10 10" refX="{ref}" refY="5" '
                       f'markerWidth="10" markerHeight="10" markerUnits="userSpaceOnUse" orient="auto">'
                       f'<path d="{path}" fill="{color}"/></marker>')
    out.append("</defs>")
    out.append("<style>.name{font-weight:bold;font-size:14px;fill:#1d2b3a}.kind{font-size:11px;fill:#44505c}"
               ".tables{font-size:11px;fill:#5b6670}.sor{font-size:11px;fill:#8a5a00;font-weight:bold}"
               ".label{font-size:11px;fill:#1d2b3a}.head{font-size:12px;fill:#7a8590;"
               "letter-spacing:1px;text-transform:uppercase}</style>")
    return out


def _edge_svg(edge: _Edge) -> list[str]:
    f = edge.flow
    kind = "two" if f.two_way else "one"
    color = TWO_WAY if f.two_way else ONE_WAY
    width = 3.2 if f.priority == "high" else 1.6
    dash = ' stroke-dasharray="7 4"' if f.propagate_deletes else ""
    start = f' marker-start="url(#arrow-{kind}-start)"' if f.two_way else ""
    (x0, y0), (cx, cy), (x1, y1) = edge.p0, edge.c, edge.p1
    out = [f'<g class="flow" id={_attr("flow-" + f.name)}><title>{_x(f.name)}: {_x(f.source)} '
           f'{_x(f.arrow)} {_x(f.target)}</title>',
           f'<path d="M{x0:.1f},{y0:.1f} Q{cx:.1f},{cy:.1f} {x1:.1f},{y1:.1f}" fill="none" '
           f'stroke="{color}" stroke-width="{width}"{dash}{start} marker-end="url(#arrow-{kind}-end)"/>']
    lx, ly, lw, lh = edge.label
    out.append(f'<rect x="{lx - lw / 2:.1f}" y="{ly - lh / 2:.1f}" width="{lw:.1f}" height="{lh:.1f}" '
               f'rx="4" fill="#ffffff" fill-opacity="0.92" stroke="{color}" stroke-width="0.6"/>')
    for i, line in enumerate(_label(f)):
        out.append(f'<text class="label" x="{lx:.1f}" y="{ly - lh / 2 + 14 + 13 * i:.1f}" '
                   f'text-anchor="middle">{_x(line)}</text>')
    out.append("</g>")
    return out


def _box_svg(box: _Box) -> list[str]:
    sor = bool(box.system.system_of_record)
    fill, stroke, width = ("#fff4d6", "#c98a00", 2.2) if sor else ("#eef3fb", "#4a6fa5", 1.2)
    left, top = box.x - box.w / 2, box.y - box.h / 2
    out = [f'<g class="system" id={_attr("system-" + box.system.name)}>'
           f'<title>{_x(box.system.description or box.system.name)}</title>',
           f'<rect x="{left:.1f}" y="{top:.1f}" width="{box.w:.1f}" height="{box.h:.1f}" rx="8" '
           f'fill="{fill}" stroke="{stroke}" stroke-width="{width}"/>']
    for i, (cls, text) in enumerate(box.lines):
        out.append(f'<text class="{cls}" x="{box.x:.1f}" y="{top + 18 + LINE * i:.1f}" '
                   f'text-anchor="middle">{_x(text)}</text>')
    out.append("</g>")
    return out


def _legend(x: float, y: float) -> tuple[list[str], float]:
    items = [(ONE_WAY, 1.6, "", False, "one-way flow (source → target)"),
             (TWO_WAY, 1.6, "", True, "two-way flow"),
             (ONE_WAY, 3.2, "", False, "high priority"),
             (ONE_WAY, 1.6, ' stroke-dasharray="7 4"', False, "propagates deletes")]
    out = [f'<g class="legend" transform="translate({x:.1f},{y:.1f})">',
           '<text class="head" x="0" y="0">legend</text>']
    cx = 0.0
    for color, width, dash, two, text in items:
        kind = "two" if two else "one"
        start = f' marker-start="url(#arrow-{kind}-start)"' if two else ""
        out.append(f'<path d="M{cx + 2:.1f},18 L{cx + 46:.1f},18" stroke="{color}" stroke-width="{width}"'
                   f'{dash}{start} marker-end="url(#arrow-{kind}-end)"/>')
        out.append(f'<text class="kind" x="{cx + 54:.1f}" y="22">{_x(text)}</text>')
        cx += 54 + _width(text, 11) + 26
    out.append(f'<rect x="{cx:.1f}" y="10" width="28" height="16" rx="4" fill="#fff4d6" '
               'stroke="#c98a00" stroke-width="2.2"/>')
    text = "system of record (SoR) for the data types listed"
    out.append(f'<text class="kind" x="{cx + 36:.1f}" y="22">{_x(text)}</text>')
    out.append("</g>")
    return out, cx + 36 + _width(text, 11)


def to_svg(flow_map: FlowMap, title: str = "Data flow map") -> str:
    """A standalone SVG document of the map."""
    top = MARGIN + 64
    boxes, centers, bottom = _layout(flow_map, top)
    edges = _route(flow_map, boxes)
    # everything drawn, to size the canvas: boxes, labels and the curves' sampled points
    xs = [b.x - b.w / 2 for b in boxes.values()] + [b.x + b.w / 2 for b in boxes.values()]
    ys = [bottom]
    for e in edges:
        pts = [_point(e.p0, e.c, e.p1, i / 16) for i in range(17)]
        xs += [p[0] for p in pts] + [e.label[0] - e.label[2] / 2, e.label[0] + e.label[2] / 2]
        ys += [p[1] for p in pts] + [e.label[1] + e.label[3] / 2]
    shift = max(0.0, MARGIN - min(xs))
    legend, legend_w = _legend(MARGIN, max(ys) + 36)
    width = max(max(xs) + shift + MARGIN, legend_w + 2 * MARGIN, 480)
    height = max(ys) + 36 + 40 + MARGIN
    subtitle = (f"{len(flow_map.systems)} systems, {len(flow_map.flows)} flows, generated from "
                f"{flow_map.source} by sync-platform map")
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" {FONT} role="img">',
           f"<title>{_x(title)}</title>", *_defs(),
           f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
           f'<text x="{MARGIN}" y="{MARGIN + 8}" style="font-size:20px;font-weight:bold;fill:#1d2b3a">'
           f"{_x(title)}</text>",
           f'<text class="kind" x="{MARGIN}" y="{MARGIN + 28}">{_x(subtitle)}</text>',
           f'<g transform="translate({shift:.1f},0)">']
    used = sorted({COLUMNS.get(s.role, 1) for s in flow_map.systems})
    for c, x in zip(used, centers, strict=True):
        out.append(f'<text class="head" x="{x:.1f}" y="{top - 12}" text-anchor="middle">'
                   f"{_x(HEADINGS[c])}</text>")
    for box in boxes.values():
        out += _box_svg(box)
    for edge in edges:
        out += _edge_svg(edge)
    out += ["</g>", *legend, "</svg>"]
    return "\n".join(out) + "\n"


def to_png(flow_map: FlowMap) -> bytes:
    """The SVG rasterised; needs the optional `cairosvg` package."""
    try:
        import cairosvg  # type: ignore[import-not-found]
    except ImportError as exc:
        raise RuntimeError("PNG export needs `pip install cairosvg`; the SVG needs nothing") from exc
    return cairosvg.svg2png(bytestring=to_svg(flow_map).encode("utf-8"))
