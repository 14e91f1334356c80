"""A stack's capacity chart: each pool's GPU memory per GPU, term by term, from the
CapacityReport (config/capacity.py), the numbers `pulumi preview` prints and the stack
exports as `capacity`.

One stacked bar per pool, in GiB per GPU on its smallest accepted GPU: weights,
activation, non-torch memory, the pool's own `overheadGib` and its LoRA adapter slots
(each when there is one) and the KV cache
add up to total x gpuMemoryUtilization; the rest of the GPU (outside vLLM's share) tops
the bar off at the GPU's torch-visible total. Above each bar: how many full
`maxModelLen` sequences fit per pod, and the KV-cache tokens per pod. Under the bars, a
table with every figure (two decimals, as the `capacity` output rounds them).

`capacity_figure` is pure (a matplotlib Figure on the Agg canvas, no pyplot state);
`save_figure` writes it. Every bar segment and table value carries an SVG id
(`bar <pool> <term>`, `value <pool> <term>`, `seqs <pool>`) so tests can read the
picture back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from config.capacity import CapacityReport, PoolCapacity

# (MemoryTerms attribute, label, colour), bottom to top.
TERMS: tuple[tuple[str, str, str], ...] = (
    ("weights", "weights", "#6d9eeb"),
    ("activation", "activation", "#f6b26b"),
    ("non_torch", "non-torch", "#b4a7d6"),
    ("margin", "overheadGib", "#a4a4a4"),
    ("lora", "LoRA adapters", "#e06666"),
    ("kv_cache", "KV cache", "#93c47d"),
)
# Drawn only where a pool has them: a zero-height segment would be noise.
OPTIONAL_TERMS = ("margin", "lora")
OUTSIDE = ("outside", "outside vLLM's share", "#eeeeee")
# Text as <text> (searchable, small files) and ids that do not change between runs.
SVG_PARAMS = {"svg.fonttype": "none", "svg.hashsalt": "llm-serving"}


@dataclass(frozen=True)
class Segment:
    """One part of one pool's bar, in GiB per GPU."""

    pool: str
    term: str
    label: str
    bottom: float
    height: float
    colour: str


def capacity_terms(capacity: PoolCapacity) -> list[tuple[str, str, str, float]]:
    """(term, label, colour, GiB per GPU) of one pool, bottom to top: the bar's segments
    and the PR comment's columns (scripts/pr_comment.py)."""
    memory = capacity.memory
    terms = [(term, label, colour, getattr(memory, term)) for term, label, colour in TERMS]
    terms = [t for t in terms if t[0] not in OPTIONAL_TERMS or t[3] > 0]
    outside_term, outside_label, outside_colour = OUTSIDE
    terms.append(
        (outside_term, outside_label, outside_colour, memory.total * (1 - memory.gpu_memory_utilization))
    )
    return terms


def capacity_segments(report: CapacityReport) -> list[Segment]:
    """Every bar segment the chart draws, pool by pool in the report's order."""
    segments = []
    for capacity in report.pools.values():
        bottom = 0.0
        for term, label, colour, value in capacity_terms(capacity):
            segments.append(Segment(capacity.pool, term, label, bottom, value, colour))
            bottom += value
    return segments


def _count(number: int, word: str) -> str:
    return f"{number} {word}" if number == 1 else f"{number} {word}s"


def _column_label(capacity: PoolCapacity) -> str:
    """Pool, GPU and shape as the capacity output counts them: `pods` replicas of
    `gpusPerPod` GPUs (a multi-node replica spans `nodesPerReplica` pods)."""
    replicas = "replica" if capacity.nodes_per_replica > 1 else "pod"
    return (
        f"{capacity.pool}\n{capacity.gpu_product}\n"
        f"{_count(capacity.pods, replicas)} x {_count(capacity.gpus_per_pod, 'GPU')}"
    )


def _sequences_label(capacity: PoolCapacity) -> str:
    return (
        f"{capacity.max_concurrent_full_sequences} full {capacity.max_model_len:,}-token\n"
        f"sequences per pod\n{capacity.kv_cache_tokens_per_pod:,} KV tokens"
    )


def capacity_figure(stack_name: str, report: CapacityReport) -> Figure:
    """The chart of one stack (see the module docstring)."""
    pools = list(report.pools.values())
    figure = Figure(figsize=(max(7.5, 2.3 * len(pools) + 2.5), 7.2), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    segments = capacity_segments(report)
    labelled: set[str] = set()
    for index, capacity in enumerate(pools):
        for segment in [s for s in segments if s.pool == capacity.pool]:
            (patch,) = axes.bar(
                index,
                segment.height,
                bottom=segment.bottom,
                width=0.6,
                color=segment.colour,
                edgecolor="#666666",
                linewidth=0.5,
                hatch="//" if segment.term == OUTSIDE[0] else None,
                label=None if segment.label in labelled else segment.label,
            ).patches
            patch.set_gid(f"bar {capacity.pool} {segment.term}")
            labelled.add(segment.label)
        top = capacity.memory.total
        text = axes.annotate(
            _sequences_label(capacity),
            (index, top),
            xytext=(0, 4),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
        )
        text.set_gid(f"seqs {capacity.pool}")
    highest = max(c.memory.total for c in pools)
    axes.set_xlim(-0.5, len(pools) - 0.5)
    axes.set_ylim(0, highest * 1.3)
    axes.set_xticks([])
    axes.set_ylabel("GiB per GPU")
    axes.set_title(
        f"{stack_name}: GPU memory per GPU as vLLM sums it, and what the KV cache holds\n"
        "(the capacity report pulumi preview prints; GiB per GPU)",
        fontsize=10,
    )
    axes.legend(loc="upper left", ncols=3, fontsize=8, frameon=False)
    _table(axes, pools)
    return figure


def _table(axes, pools: list[PoolCapacity]) -> None:
    """Every figure of the bars under them, one column per bar."""
    rows: list[tuple[str, str, str]] = []  # term, label, colour
    for term, label, colour in (*TERMS, OUTSIDE):
        if term not in OPTIONAL_TERMS or any(getattr(p.memory, term) > 0 for p in pools):
            rows.append((term, label, colour))
    cells = []
    for term, _, _ in rows:
        values = {p.pool: dict((t, v) for t, _, _, v in capacity_terms(p)).get(term, 0.0) for p in pools}
        cells.append([f"{values[p.pool]:.2f}" for p in pools])
    cells.append([f"{p.memory.total:.2f}" for p in pools])
    table = axes.table(
        cellText=cells,
        rowLabels=[label for _, label, _ in rows] + ["GPU total"],
        rowColours=[colour for _, _, colour in rows] + ["#ffffff"],
        colLabels=[_column_label(p) for p in pools],
        loc="bottom",
        cellLoc="center",
    )
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    for (row, column), cell in table.get_celld().items():
        cell.set_height(0.11 if row == 0 else 0.045)
        if row > 0 and column >= 0:
            term = rows[row - 1][0] if row <= len(rows) else "total"
            cell.get_text().set_gid(f"value {pools[column].pool} {term}")


def save_figure(figure: Figure, path: Path) -> Path:
    """Write the figure as `path`'s suffix says (.svg or .png), reproducibly: no date in
    the SVG, fixed ids."""
    with matplotlib.rc_context(SVG_PARAMS):
        metadata = {"Date": None} if path.suffix == ".svg" else {}
        figure.savefig(path, metadata=metadata, dpi=110)
    return path
