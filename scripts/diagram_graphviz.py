"""A Topology (scripts/diagram_topology.py) as a Graphviz graph, for `dot` to lay out.

Pure: returns a `graphviz.Digraph` (the PyPI `graphviz` package writes DOT and runs
Debian's `dot` only when rendered). Each node kind and edge kind has one style, and the
legend under the graph says what they mean; node text is HTML-like labels, so every
line is one `<text>` element of the SVG.
"""

from __future__ import annotations

import html

import graphviz

from diagram_topology import CALLERS, DESTINATIONS, EDGE, MONITORING, NAMESPACE, Topology

FONT = "DejaVu Sans"  # shipped with Debian's graphviz (fonts-dejavu-core)
CLUSTERS = {
    CALLERS: "callers outside the namespace",
    EDGE: "entries",
    NAMESPACE: "namespace {namespace}",
    MONITORING: "monitoring",
    DESTINATIONS: "outside the namespace",
}
NODE_STYLES: dict[str, dict[str, str]] = {
    "caller": {"shape": "ellipse", "style": "filled", "fillcolor": "#eeeeee"},
    "entry": {"shape": "box", "style": "filled", "fillcolor": "#fff2cc"},
    "pool": {"shape": "box", "style": "rounded,filled", "fillcolor": "#d9ead3"},
    "router": {"shape": "box", "style": "rounded,filled", "fillcolor": "#cfe2f3"},
    "picker": {"shape": "box", "style": "rounded,filled", "fillcolor": "#d0e0e3"},
    "job": {"shape": "box", "style": "dashed,filled", "fillcolor": "#f3f3f3"},
    "workload": {"shape": "box", "style": "filled", "fillcolor": "#ffffff"},
    "cache": {"shape": "cylinder", "style": "filled", "fillcolor": "#fce5cd"},
    "monitoring": {"shape": "folder", "style": "filled", "fillcolor": "#ead1dc"},
    "destination": {"shape": "box", "style": "dashed,filled", "fillcolor": "#f4cccc"},
}
EDGE_STYLES: dict[str, dict[str, str]] = {
    "traffic": {"color": "#1c4587", "fontcolor": "#1c4587", "penwidth": "1.4"},
    "route": {"color": "#7f6000", "fontcolor": "#7f6000", "style": "dashed"},
    "mount": {"color": "#783f04", "fontcolor": "#783f04", "style": "dotted"},
    "config": {"color": "#741b47", "fontcolor": "#741b47", "style": "dotted"},
}
LEGEND = (
    "solid blue: traffic the NetworkPolicies allow (ports); dashed: routes of an Ingress, "
    "HTTPRoute or exposed Service (paths); dotted: volume mounts, monitoring objects"
)


def _html_lines(lines: list[str] | tuple[str, ...], *, bold_first: bool = True, align: str = "CENTER") -> str:
    """An HTML-like label: one escaped line per entry, the first in bold."""
    parts = []
    for index, line in enumerate(lines):
        text = html.escape(line)
        if index == 0 and bold_first:
            text = f"<B>{text}</B>"
        parts.append(f'{text}<BR ALIGN="{align}"/>')
    return f"<{''.join(parts)}>"


def edge_id(kind: str, source: str, target: str) -> str:
    """The SVG id of an edge's group; a node's is the node's own id."""
    return f"{kind} {source} -> {target}"


def topology_graph(topology: Topology) -> graphviz.Digraph:
    """The Digraph of one stack's topology: clusters left to right as CLUSTERS lists them."""
    title = f"{topology.stack}: topology and allowed traffic (namespace {topology.namespace})"
    graph = graphviz.Digraph(
        name=topology.stack,
        graph_attr={
            "rankdir": "LR",
            "fontname": FONT,
            "fontsize": "11",
            "nodesep": "0.25",
            "ranksep": "0.9",
            "labelloc": "b",
            "labeljust": "l",
            "label": _html_lines([title, *topology.notes, LEGEND], align="LEFT"),
        },
        node_attr={"fontname": FONT, "fontsize": "10", "margin": "0.12,0.06"},
        edge_attr={"fontname": FONT, "fontsize": "9"},
    )
    # DOT names are n0, n1, ...: node ids hold ':' (IPv6 CIDRs), which DOT reads as a
    # port in an edge statement. The ids stay readable as the SVG groups' `id`.
    names = {node.id: f"n{index}" for index, node in enumerate(topology.nodes)}
    for cluster, label in CLUSTERS.items():
        members = [n for n in topology.nodes if n.cluster == cluster]
        if not members:
            continue
        with graph.subgraph(name=f"cluster_{cluster}") as sub:
            sub.attr(label=label.format(namespace=topology.namespace), style="rounded", color="#999999")
            for node in members:
                sub.node(names[node.id], label=_html_lines(node.lines), id=node.id, **NODE_STYLES[node.kind])
    for edge in topology.edges:
        graph.edge(
            names[edge.source],
            names[edge.target],
            label=edge.label,
            id=edge_id(edge.kind, edge.source, edge.target),
            **EDGE_STYLES[edge.kind],
        )
    return graph
