"""`make diagram` (scripts/diagram.py): both pictures of every shipped stack are real.

For each stack file (`Pulumi.*.yaml`, `examples/*.yaml`) the topology and capacity
pictures are drawn into a temporary directory, then read back: the SVGs parse, the
topology names every pool with its GPU product and replicas, the capacity chart's
printed values and bar heights are the CapacityReport's, the PNGs are PNGs of some
size. The traffic edges are checked against what the NetworkPolicy objects allow
(exact sets for dev and prod, and changed objects that must lose an edge), and the
README's pictures of dev against a fresh drawing.
"""

from __future__ import annotations

import copy
import math
import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from diagram import DOCS_IMAGES, StackInputs, draw, load_stack, main, topology_of
from diagram_capacity import OPTIONAL_TERMS, capacity_segments
from diagram_topology import Topology, build_topology
from diagram_traffic import allowed_traffic
from harness import ROOT
from rendered import STACK_FILES, stack_name

SVG = "{http://www.w3.org/2000/svg}"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# MemoryTerms attribute -> its key in the `capacity` output's memoryGiBPerGpu.
OUTPUT_KEYS = {
    "weights": "weights",
    "activation": "activation",
    "non_torch": "nonTorch",
    "margin": "overhead",
    "lora": "loraAdapters",
    "kv_cache": "kvCache",
}

_loaded: dict[Path, StackInputs] = {}


def loaded(stack_file: Path) -> StackInputs:
    """Each stack is checked and run under mocks once per session."""
    if stack_file not in _loaded:
        _loaded[stack_file] = load_stack(stack_file)
    return _loaded[stack_file]


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    """Every stack's four files, drawn once: stack -> file name -> path."""
    drawn = {}
    for stack_file in STACK_FILES:
        out = tmp_path_factory.mktemp(stack_name(stack_file))
        drawn[stack_name(stack_file)] = {p.name: p for p in draw(loaded(stack_file), out)}
    return drawn


def groups_by_id(svg: Path) -> dict[str, ET.Element]:
    return {g.get("id", ""): g for g in ET.parse(svg).getroot().iter(f"{SVG}g")}


def texts(element: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in element.iter(f"{SVG}text")]


def path_height(group: ET.Element) -> float:
    """The height of a bar: the span of y over its path's points."""
    (path,) = group.iter(f"{SVG}path")
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path.get("d", ""))]
    ys = numbers[1::2]
    return max(ys) - min(ys)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def traffic_edges(topology: Topology) -> set[tuple[str, str, str]]:
    """(source title, target title, ports) of every traffic edge."""
    return {
        (topology.node(e.source).title, topology.node(e.target).title, e.label)
        for e in topology.edges_of("traffic")
    }


STACK_IDS = [stack_name(f) for f in STACK_FILES]


def test_every_shipped_stack_is_drawn():
    assert {"dev", "prod", "pd-gateway", "multinode-405b"} <= set(STACK_IDS)


@pytest.mark.parametrize("stack_file", STACK_FILES, ids=STACK_IDS)
def test_topology_names_every_pool_with_its_gpu_and_replicas(stack_file: Path, pictures):
    inputs = loaded(stack_file)
    files = pictures[inputs.name]
    assert set(files) == {"topology.svg", "topology.png", "capacity.svg", "capacity.png"}
    topology = topology_of(inputs)
    groups = groups_by_id(files["topology.svg"])
    for pool, capacity in inputs.report.pools.items():
        (node,) = [n for n in topology.nodes if n.kind == "pool" and n.title == pool]
        shown = " ".join(texts(groups[node.id]))
        assert pool in shown
        assert f"GPU {capacity.gpu_product}" in shown
        replicas = f"{capacity.pods} replica" + ("" if capacity.pods == 1 else "s")
        assert replicas in shown, f"{pool}: {replicas!r} not in {shown!r}"
    # Everything the model holds is drawn, once.
    svg_nodes = [g for g in groups.values() if g.get("class") == "node"]
    svg_edges = [g for g in groups.values() if g.get("class") == "edge"]
    assert len(svg_nodes) == len(topology.nodes)
    assert len(svg_edges) == len(topology.edges)


@pytest.mark.parametrize("stack_file", STACK_FILES, ids=STACK_IDS)
def test_pngs_are_pictures(stack_file: Path, pictures):
    for name in ("topology.png", "capacity.png"):
        path = pictures[stack_name(stack_file)][name]
        width, height = png_size(path)
        assert width > 400 and height > 200, f"{name}: {width}x{height}"
        assert path.stat().st_size > 20_000, f"{name}: {path.stat().st_size} bytes"


@pytest.mark.parametrize("stack_file", STACK_FILES, ids=STACK_IDS)
def test_capacity_chart_shows_the_capacity_report(stack_file: Path, pictures):
    inputs = loaded(stack_file)
    # The report the chart is drawn from is the one the program exports.
    assert inputs.report.as_output() == inputs.capacity_output
    exported = inputs.capacity_output["pools"]
    groups = groups_by_id(pictures[inputs.name]["capacity.svg"])
    for pool, capacity in inputs.report.pools.items():
        memory = exported[pool]["memoryGiBPerGpu"]
        for term, key in OUTPUT_KEYS.items():
            if term in OPTIONAL_TERMS and not any(
                getattr(p.memory, term) for p in inputs.report.pools.values()
            ):
                assert f"value {pool} {term}" not in groups
                continue
            if key not in memory:  # a term the capacity output leaves out when zero
                assert texts(groups[f"value {pool} {term}"]) == ["0.00"], (pool, term)
                continue
            assert texts(groups[f"value {pool} {term}"]) == [f"{memory[key]:.2f}"], (pool, term)
        assert texts(groups[f"value {pool} total"]) == [f"{memory['total']:.2f}"]
        sequences = " ".join(texts(groups[f"seqs {pool}"]))
        assert f"{exported[pool]['maxConcurrentFullLengthSequencesPerPod']} full" in sequences
        assert f"{capacity.max_model_len:,}-token" in sequences
        assert f"{exported[pool]['kvCacheTokensPerPod']:,} KV tokens" in sequences
    # Bar heights: one scale for every segment of every bar, so each is its term.
    segments = capacity_segments(inputs.report)
    scales = [path_height(groups[f"bar {s.pool} {s.term}"]) / s.height for s in segments if s.height > 1]
    for segment in segments:
        drawn = path_height(groups[f"bar {segment.pool} {segment.term}"])
        assert math.isclose(drawn, segment.height * scales[0], abs_tol=0.05), segment
    for capacity in inputs.report.pools.values():
        parts = [s for s in segments if s.pool == capacity.pool]
        assert math.isclose(sum(s.height for s in parts), capacity.memory.total)
        assert [s.term for s in parts][-2] == "kv_cache"


def test_dev_traffic_is_what_its_network_policies_allow():
    topology = topology_of(loaded(ROOT / "Pulumi.dev.yaml"))
    pools = ["llama-3-1-8b", "mixtral-8x7b", "deepseek-coder-v2-lite", "llama-3-1-8b-multi"]
    prefetch = [f"{p}-prefetch" for p in pools[:3]]
    # The pools serve what their prefetch Jobs downloaded (offline): only the Jobs
    # reach the hub.
    assert traffic_edges(topology) == (
        {("clients", p, ":8000") for p in pools}
        | {("Prometheus", p, ":8000") for p in pools}
        | {(w, "model hub", ":443") for w in prefetch}
    )
    assert any("every pod may reach DNS" in note for note in topology.notes)
    assert "default-deny-all: any traffic not drawn is denied" in topology.notes


def test_prod_traffic_is_what_its_network_policies_allow():
    topology = topology_of(loaded(ROOT / "Pulumi.prod.yaml"))
    router, prefill, decode = "llama-3-1-8b-router", "llama-3-1-8b-prefill", "llama-3-1-8b-decode"
    assert traffic_edges(topology) == {
        ("clients", router, ":8080"),
        ("Prometheus", router, ":29000"),
        ("Prometheus", prefill, ":8000"),
        ("Prometheus", decode, ":8000"),
        (router, prefill, ":8000"),
        (router, decode, ":8000"),
        # NIXL's side channel and UCX's range for the KV data.
        (prefill, decode, ":5600, :20000-20199"),
        (decode, prefill, ":5600, :20000-20199"),
        (router, "Kubernetes API", ":443, :6443"),
        (f"{prefill}-prefetch", "model hub", ":443"),
    }


@pytest.mark.parametrize("stack_file", STACK_FILES, ids=STACK_IDS)
def test_every_route_is_allowed_traffic(stack_file: Path):
    """What an Ingress routes to, the clients may reach; what a Gateway routes to, its
    proxy may reach (the policy pack's promise, seen in the picture)."""
    topology = topology_of(loaded(stack_file))
    traffic = {(e.source, e.target) for e in topology.edges_of("traffic")}
    clients = [n.id for n in topology.nodes if n.title.startswith("clients")]
    for route in topology.edges_of("route"):
        callers = [route.source] if route.source.startswith("Gateway/") else clients
        assert any((caller, route.target) in traffic for caller in callers), route


def _without_rule(manifests: list[dict], policy: str, direction: str, keep) -> list[dict]:
    changed = copy.deepcopy(manifests)
    (target,) = [m for m in changed if m["kind"] == "NetworkPolicy" and m["metadata"]["name"] == policy]
    target["spec"][direction] = [rule for rule in target["spec"][direction] if keep(rule)]
    return changed


def _flows(manifests: list[dict]) -> set[tuple[str, str]]:
    return {
        (getattr(f.source, "name", str(f.source)), getattr(f.target, "name", str(f.target)))
        for f in allowed_traffic(manifests).flows
    }


def test_an_edge_needs_both_ends_of_the_policy():
    manifests = loaded(ROOT / "Pulumi.prod.yaml").manifests
    router, prefill = "llama-3-1-8b-router", "llama-3-1-8b-prefill"
    assert (router, prefill) in _flows(manifests)

    def not_to_prefill(rule: dict) -> bool:
        return not any(
            (p.get("podSelector") or {}).get("matchLabels", {}).get("app.kubernetes.io/instance") == prefill
            for p in rule.get("to") or []
        )

    # The router's egress to prefill gone: prefill still admits it, but the call is blocked.
    flows = _flows(_without_rule(manifests, f"allow-{router}", "egress", not_to_prefill))
    assert (router, prefill) not in flows
    assert (router, "llama-3-1-8b-decode") in flows


def test_a_caller_the_policy_drops_is_not_drawn():
    inputs = loaded(ROOT / "Pulumi.dev.yaml")

    def not_from_traefik(rule: dict) -> bool:
        return "traefik" not in yaml.safe_dump(rule.get("from") or [])

    manifests = _without_rule(inputs.manifests, "allow-llama-3-1-8b", "ingress", not_from_traefik)
    topology = build_topology(inputs.name, inputs.stack, inputs.report, manifests)
    edges = traffic_edges(topology)
    assert ("clients", "llama-3-1-8b", ":8000") not in edges
    assert ("clients", "mixtral-8x7b", ":8000") in edges


def test_a_stack_without_network_policy_draws_no_traffic(tmp_path: Path):
    document = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    document["config"]["llm-serving:networkPolicy"] = {"enabled": False}
    stack_file = tmp_path / "Pulumi.open.yaml"
    stack_file.write_text(yaml.safe_dump(document))
    topology = topology_of(load_stack(stack_file))
    assert topology.edges_of("traffic") == []
    assert topology.edges_of("route"), "routes do not depend on NetworkPolicies"
    assert any(note.startswith("No NetworkPolicy") for note in topology.notes)


def test_make_diagram_prints_what_it_wrote(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert main([str(ROOT / "examples" / "llm-d-gateway.yaml"), "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out.split()
    assert sorted(printed) == sorted(
        str(tmp_path / name) for name in ("topology.svg", "topology.png", "capacity.svg", "capacity.png")
    )
    assert all(Path(p).stat().st_size > 0 for p in printed)


@pytest.mark.parametrize("picture", ["topology", "capacity"])
def test_readme_pictures_show_dev_as_it_is(picture: str, pictures):
    """docs/images/dev-*.svg say what a fresh drawing says (layout aside); regenerate
    them with `.venv/bin/python scripts/diagram.py dev --docs-images`."""
    committed = DOCS_IMAGES / f"dev-{picture}.svg"
    fresh = pictures["dev"][f"{picture}.svg"]
    assert sorted(texts(ET.parse(committed).getroot())) == sorted(texts(ET.parse(fresh).getroot())), (
        f"{committed.relative_to(ROOT)} is stale: run .venv/bin/python scripts/diagram.py dev --docs-images"
    )
