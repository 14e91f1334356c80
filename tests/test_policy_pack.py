"""The policy pack (policy/) as the real engine runs it.

Two stacks' objects are rendered by the engine (scripts/render.py: dev, which has an
autoscaler, an Ingress, monitors and Jobs; the pd-gateway example, which has an
InferencePool with its endpoint picker, HTTPRoutes and a P/D router that discovers
its workers by label). `tests/policy_replay/` registers them again, each as the kind
it is, with one object changed per case; the preview with `--policy-pack policy`
must stop with that policy's message (the advisory policy reports without stopping
it). The unchanged objects preview with no violation at all, and so does every
shipped stack and example (tests/test_engine.py previews them with the pack).
"""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import yaml

from harness import ROOT
from replay import PACK, PACK_NAME, replay_preview

# Test-only stand-ins, never real credentials.
FAKE_HF_TOKEN = "hf_" + "TestOnlyNotARealToken0123456789ab"
FAKE_API_KEY = "sk-" + "test-only-0123456789abcdefABCDEF"

sys.path.insert(0, str(PACK.parent))
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy  # noqa: E402

from llm_serving_policy.credentials import credential_flag, is_credential_name, looks_like_credential  # noqa: E402
from llm_serving_policy.objects import UNKNOWN, KubeObject, plain, selector_matches  # noqa: E402
from llm_serving_policy.pod_rules import image_is_pinned  # noqa: E402
from llm_serving_policy.quantities import quantity_value  # noqa: E402
from llm_serving_policy.stack_index import StackIndex  # noqa: E402
from llm_serving_policy.wiring_rules import check_service_selectors  # noqa: E402

# --- the pack's pure parts ------------------------------------------------------------


def test_quantities_compare_by_value() -> None:
    assert quantity_value("4Gi") == quantity_value("4096Mi") == quantity_value(4 * 2**30)
    assert quantity_value("500m") == quantity_value("0.5")
    assert quantity_value("1e3") == quantity_value("1k")
    assert quantity_value("lots") is None and quantity_value(True) is None


def test_selectors_match_like_kubernetes() -> None:
    labels = {"app": "vllm", "tier": "decode"}
    assert selector_matches({"app": "vllm"}, labels)
    assert selector_matches({"matchLabels": {"app": "vllm"}}, labels)
    assert not selector_matches({"matchLabels": {"app": "router"}}, labels)
    expression = {"key": "tier", "operator": "In", "values": ["prefill"]}
    assert not selector_matches({"matchExpressions": [expression]}, labels)
    assert selector_matches({"matchExpressions": [{"key": "gpu", "operator": "DoesNotExist"}]}, labels)


@pytest.mark.parametrize(
    ("image", "pinned"),
    [
        ("vllm/vllm-openai:v0.19.1", True),
        ("registry:5000/team/vllm@sha256:" + "a" * 64, True),
        ("vllm/vllm-openai:latest", False),
        ("vllm/vllm-openai", False),
        ("registry:5000/vllm", False),
    ],
)
def test_pinned_images(image: str, pinned: bool) -> None:
    assert image_is_pinned(image) is pinned


def test_credentials_by_name_and_shape_but_not_limits_or_references() -> None:
    assert (
        is_credential_name("HF_TOKEN")
        and is_credential_name("--api-key")
        and is_credential_name("dbPassword")
    )
    addresses_and_limits = ("API_KEY_VALIDATION_URLS", "--max-num-batched-tokens", "HF_TOKEN_PATH")
    for name in (*addresses_and_limits, "secretName", "tokenizer"):
        assert not is_credential_name(name), name
    assert looks_like_credential(FAKE_HF_TOKEN) and looks_like_credential(f"--hf-token={FAKE_HF_TOKEN}")
    for value in (
        "meta-llama/Llama-3.1-8B-Instruct",
        "app.kubernetes.io/instance=llama-3-1-8b-prefill",
        "a" * 40,
    ):
        assert not looks_like_credential(value), value
    assert credential_flag(["--api-key", "$(VLLM_API_KEY)"]) is None
    assert credential_flag(["--port", "8000", "--api-key", "plain"]) == "--api-key (argument 2)"


def test_an_unknown_value_skips_its_link_not_the_policy() -> None:
    """Preview leaves outputs of other resources unknown; only the link that reads one is skipped."""
    props = unknown_checking_proxy(
        {"spec": {"selector": UNKNOWN_STRING_VALUE, "ports": [{"port": 8000.0}]}, "metadata": {"name": "a"}}
    )
    assert plain(props) == {
        "spec": {"selector": UNKNOWN, "ports": [{"port": 8000}]},
        "metadata": {"name": "a"},
    }
    index = StackIndex()
    index.objects = [
        KubeObject("kubernetes:core/v1:Service", "urn:a", plain(props)),
        KubeObject(
            "kubernetes:core/v1:Service",
            "urn:b",
            {"metadata": {"name": "b"}, "spec": {"selector": {"x": "y"}}},
        ),
    ]
    assert [obj.urn for obj, _ in check_service_selectors(index)] == ["urn:b"]


# --- through the engine ---------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> list[dict]:
    """The objects the engine renders for dev and for the pd-gateway example."""
    objects = []
    for stack in ("dev", str(ROOT / "examples" / "pd-gateway.yaml")):
        out = tmp_path_factory.mktemp("rendered")
        work = tmp_path_factory.mktemp("render-work")
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "scripts" / "render.py"),
                stack,
                "--out",
                str(out),
                "--work",
                str(work),
            ],
            check=True,
            capture_output=True,
            timeout=600,
        )
        for path in sorted((out / "1-manifest").glob("*.yaml")):
            objects += [o for o in yaml.safe_load_all(path.read_text()) if o]
    assert {o["kind"] for o in objects} >= {
        "Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "InferencePool",
        "HTTPRoute", "Ingress", "NetworkPolicy", "ServiceMonitor", "ConfigMap", "Job",
    }  # fmt: skip
    return objects


DEV = "llm-serving-dev"
PD_GATEWAY = "llm-serving-pd-gateway"


def the(objects: list[dict], kind: str, name: str, namespace: str = DEV) -> dict:
    found = [
        o
        for o in objects
        if o["kind"] == kind and o["metadata"]["name"] == name and o["metadata"].get("namespace") == namespace
    ]
    assert len(found) == 1, f"{kind} {namespace}/{name}: {len(found)} objects"
    return found[0]


def pod_spec(objects: list[dict], kind: str, name: str) -> dict:
    return the(objects, kind, name)["spec"]["template"]["spec"]


def vllm(objects: list[dict], name: str = "llama-3-1-8b") -> dict:
    return pod_spec(objects, "Deployment", name)["containers"][0]


def _drop_ingress_rules(policy: dict) -> None:
    policy["spec"].pop("ingress", None)


@dataclass(frozen=True)
class Violation:
    id: str
    policy: str
    change: Callable[[list[dict]], None]
    message: str  # part of the policy's message
    mandatory: bool = True


VIOLATIONS = [
    Violation(
        "gpu-pod-without-toleration",
        "gpu-pods-placed-on-gpu-nodes",
        lambda o: pod_spec(o, "Deployment", "llama-3-1-8b").pop("tolerations"),
        "does not tolerate the GPU nodes' taint nvidia.com/gpu",
    ),
    Violation(
        "gpu-pod-without-node-affinity",
        "gpu-pods-placed-on-gpu-nodes",
        lambda o: pod_spec(o, "Deployment", "llama-3-1-8b").pop("affinity"),
        "does not select GPU nodes",
    ),
    Violation(
        "privilege-escalation",
        "pods-hardened",
        lambda o: vllm(o)["securityContext"].update(allowPrivilegeEscalation=True),
        "(vllm) allows privilege escalation",
    ),
    Violation(
        "default-service-account-token",
        "pods-hardened",
        lambda o: pod_spec(o, "Deployment", "llama-3-1-8b").update(automountServiceAccountToken=True),
        "mounts the default service account's API token",
    ),
    Violation(
        "root",
        "pods-non-root-read-only",
        lambda o: pod_spec(o, "Deployment", "llama-3-1-8b")["securityContext"].update(
            runAsUser=0, runAsNonRoot=False
        ),
        "may run as root",
        mandatory=False,
    ),
    Violation(
        "memory-request-below-limit",
        "memory-and-gpu-requests-equal-limits",
        lambda o: vllm(o)["resources"]["requests"].update(memory="1Gi"),
        "requests memory 1Gi but limits it to",
    ),
    Violation(
        "latest-image",
        "images-pinned",
        lambda o: vllm(o).update(image="vllm/vllm-openai:latest"),
        "runs image 'vllm/vllm-openai:latest', which is not pinned",
    ),
    Violation(
        "token-in-env",
        "no-plain-credentials",
        lambda o: vllm(o)["env"].append({"name": "HF_TOKEN", "value": FAKE_HF_TOKEN}),
        "sets env HF_TOKEN to a literal",
    ),
    Violation(
        "api-key-in-args",
        "no-plain-credentials",
        lambda o: vllm(o)["args"].extend(["--api-key", FAKE_API_KEY]),
        "passes a credential in plain text in args",
    ),
    Violation(
        "credential-in-config-map",
        "no-credentials-in-config-maps",
        lambda o: the(o, "ConfigMap", "llama-3-1-8b-dashboard")["data"].update(apiKey=FAKE_API_KEY),
        "data key 'apiKey' holds what is or looks like a credential",
    ),
    Violation(
        "service-selector-drift",
        "services-select-pods",
        lambda o: the(o, "Service", "llama-3-1-8b")["spec"]["selector"].update(
            {"app.kubernetes.io/instance": "llama-3-1-8b-renamed"}
        ),
        "Service llm-serving-dev/llama-3-1-8b: selects no pods",
    ),
    Violation(
        "service-target-port-drift",
        "services-select-pods",
        lambda o: the(o, "Service", "llama-3-1-8b")["spec"]["ports"][0].update(targetPort="metrics"),
        "targets 'metrics', which no selected container serves",
    ),
    Violation(
        "pdb-selector-drift",
        "disruption-budgets-select-pods",
        lambda o: the(o, "PodDisruptionBudget", "llama-3-1-8b")["spec"]["selector"]["matchLabels"].update(
            {"app.kubernetes.io/instance": "gone"}
        ),
        "selects no pods",
    ),
    Violation(
        "autoscaler-target-renamed",
        "autoscalers-target-workloads",
        lambda o: the(o, "HorizontalPodAutoscaler", "llama-3-1-8b-multi")["spec"]["scaleTargetRef"].update(
            name="llama-renamed"
        ),
        "scales Deployment 'llama-renamed', which this stack does not create",
    ),
    Violation(
        "inference-pool-target-port",
        "inference-pools-wired",
        lambda o: the(o, "InferencePool", "llama-3-1-8b", PD_GATEWAY)["spec"]["targetPorts"][0].update(
            number=9999
        ),
        "targets port 9999",
    ),
    Violation(
        "inference-pool-picker-service",
        "inference-pools-wired",
        lambda o: the(o, "InferencePool", "llama-3-1-8b", PD_GATEWAY)["spec"]["endpointPickerRef"].update(
            name="missing-epp"
        ),
        "names endpoint-picker Service 'missing-epp', which this stack does not create",
    ),
    Violation(
        "route-backend-port",
        "routes-reach-backends",
        lambda o: the(o, "HTTPRoute", "llama-70b", PD_GATEWAY)["spec"]["rules"][0]["backendRefs"][0].update(
            port=1234
        ),
        "on port 1234, which it does not expose",
    ),
    Violation(
        "ingress-backend-missing",
        "routes-reach-backends",
        lambda o: the(o, "Ingress", "llm-serving")["spec"]["rules"][0]["http"]["paths"][0]["backend"][
            "service"
        ].update(name="gone"),
        "Service llm-serving-dev/gone, which this stack does not create",
    ),
    Violation(
        "pool-closed-to-the-ingress",
        "network-policies-admit-callers",
        lambda o: _drop_ingress_rules(the(o, "NetworkPolicy", "allow-llama-3-1-8b")),
        "is closed to callers outside the namespace by its NetworkPolicies",
    ),
    Violation(
        "decode-closed-to-its-router",
        "network-policies-admit-callers",
        lambda o: _drop_ingress_rules(the(o, "NetworkPolicy", "allow-llama-70b-decode", PD_GATEWAY)),
        "is closed to Deployment llm-serving-pd-gateway/llama-70b-router",
    ),
]


# The pack under the project's .venv (first on PATH), and under its own virtualenv made
# from policy/requirements.txt alone (`make policy-venv`), as another project runs it.
INTERPRETERS = {"project-venv": None, "policy-venv": str(ROOT / "policy" / "venv" / "bin" / "python3")}


@pytest.mark.parametrize("interpreter", sorted(INTERPRETERS))
def test_the_rendered_objects_pass_every_policy(interpreter, rendered, tmp_path) -> None:
    preview = replay_preview(rendered, tmp_path, python=INTERPRETERS[interpreter])
    assert preview.returncode == 0, preview.output[-6000:]
    assert PACK_NAME in preview.output, "the pack did not run"
    assert preview.violations() == [], preview.output[-6000:]


@pytest.mark.parametrize("case", VIOLATIONS, ids=lambda c: c.id)
def test_each_policy_stops_a_violating_preview(case: Violation, rendered, tmp_path) -> None:
    objects = copy.deepcopy(rendered)
    case.change(objects)
    preview = replay_preview(objects, tmp_path)
    level = "[mandatory]" if case.mandatory else "[advisory]"
    reported = [line for line in preview.violations() if case.policy in line]
    assert reported and level in reported[0], preview.output[-6000:]
    assert case.message in preview.output, preview.output[-6000:]
    if case.mandatory:
        assert preview.returncode != 0, "a mandatory violation must stop the preview"
    else:
        assert preview.returncode == 0, preview.output[-6000:]
    assert FAKE_HF_TOKEN not in preview.output and FAKE_API_KEY not in preview.output
