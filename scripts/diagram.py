"""`make diagram`: a stack's topology and capacity, drawn from its stack file.

Two pictures, each as SVG and PNG, from what `pulumi preview` computes and no cluster
or engine: the stack file is checked with config/loader.py's `parse_stack_config` (the
CapacityReport preview prints), and the real __main__.py runs under Pulumi's mocks
(tests/harness.py) for the objects it registers.

- `topology.svg|png`: entries, routers, pools, model cache, monitoring, and the traffic
  the NetworkPolicies allow (scripts/diagram_topology.py, scripts/diagram_traffic.py),
  laid out by Graphviz's `dot` (scripts/diagram_graphviz.py);
- `capacity.svg|png`: each pool's GPU memory per GPU, term by term, and how many
  full-length sequences fit (scripts/diagram_capacity.py, matplotlib's Agg canvas).

Written to `rendered/diagrams/<stack>/` unless `--out` says otherwise; `--docs-images`
writes `docs/images/<stack>-topology.svg` and `<stack>-capacity.svg` for the README
instead. Prints each path it wrote.

Usage: python scripts/diagram.py STACK|STACK_FILE [--out DIR] [--docs-images]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts"), str(ROOT / "tests")]

from config.capacity import CapacityReport  # noqa: E402
from config.loader import namespace_values, parse_stack_config  # noqa: E402
from config.stack import StackConfig, stack_namespace  # noqa: E402
from diagram_capacity import capacity_figure, save_figure  # noqa: E402
from diagram_graphviz import topology_graph  # noqa: E402
from diagram_topology import Topology, build_topology  # noqa: E402
from harness import engine_config, run_program, stack_file_config  # noqa: E402
from rendered import stack_name  # noqa: E402

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
DOCS_IMAGES = ROOT / "docs" / "images"


@dataclass(frozen=True)
class StackInputs:
    """What both pictures are drawn from: the checked config and its CapacityReport
    (as preview has them, with the HF token set), and every Kubernetes object and Helm
    release the program registers under mocks."""

    name: str
    stack: StackConfig
    report: CapacityReport
    manifests: list[dict]
    helm_charts: list[tuple[str, str]]
    capacity_output: dict  # the `capacity` the program exported


def stack_file_of(argument: str) -> Path:
    """`dev` -> Pulumi.dev.yaml; a path (examples/<file>.yaml) as it is."""
    path = Path(argument)
    if path.suffix in (".yaml", ".yml"):
        return path if path.is_absolute() else (Path.cwd() / path)
    return ROOT / f"Pulumi.{argument}.yaml"


def load_stack(stack_file: Path) -> StackInputs:
    """Check the stack file as preview does and run the program under mocks as that stack."""
    name = stack_name(stack_file)
    structured = stack_file_config(stack_file)
    values = namespace_values(engine_config(structured))
    values.setdefault("namespace", stack_namespace(name))
    stack, report = parse_stack_config(values, has_hf_token=True)
    run = run_program(structured, stack=name)
    charts = [
        (r.inputs.get("chart", r.name), str(r.inputs.get("version", "")))
        for r in run.resources
        if r.type == HELM_RELEASE
    ]
    return StackInputs(name, stack, report, run.manifests(), charts, run.outputs.get("capacity", {}))


def topology_of(inputs: StackInputs) -> Topology:
    return build_topology(inputs.name, inputs.stack, inputs.report, inputs.manifests, inputs.helm_charts)


def draw(
    inputs: StackInputs, out: Path, *, prefix: str = "", formats: tuple[str, ...] = ("svg", "png")
) -> list[Path]:
    """Both pictures of one stack, written under `out`; the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    graph = topology_graph(topology_of(inputs))
    figure = capacity_figure(inputs.name, inputs.report)
    written = []
    for fmt in formats:
        path = out / f"{prefix}topology.{fmt}"
        path.write_bytes(graph.pipe(format=fmt))
        written.append(path)
    written += [save_figure(figure, out / f"{prefix}capacity.{fmt}") for fmt in formats]
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stack", help="a stack name (Pulumi.<stack>.yaml) or a stack file")
    parser.add_argument("--out", type=Path, help="directory (default rendered/diagrams/<stack>)")
    parser.add_argument("--docs-images", action="store_true", help="the README's SVGs, in docs/images/")
    args = parser.parse_args(argv)
    stack_file = stack_file_of(args.stack)
    if not stack_file.is_file():
        stacks = sorted(stack_name(p) for p in ROOT.glob("Pulumi.*.yaml"))
        parser.error(f"no stack file {stack_file}; stacks: {', '.join(stacks)}, or examples/<file>.yaml")
    if shutil.which("dot") is None:
        parser.error("Graphviz's `dot` is not installed: apt-get install -y graphviz")
    inputs = load_stack(stack_file)
    if args.docs_images:
        written = draw(inputs, args.out or DOCS_IMAGES, prefix=f"{inputs.name}-", formats=("svg",))
    else:
        written = draw(inputs, args.out or ROOT / "rendered" / "diagrams" / inputs.name)
    for path in written:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
