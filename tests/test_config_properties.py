"""Property: whatever the stack file says, the program ends in success or in one clean
refusal, never in a traceback.

Hypothesis starts from every committed stack file and example and mutates it the way
careless users and attackers do: wrong types, booleans, huge integers, inf/nan,
newline-suffixed and very long strings, token-like values, unknown keys carrying
tokens, deleted keys, misspelled config namespaces. Each config runs through the real
`__main__.py` under Pulumi's mocks (tests/harness.py), and every outcome must be:
success, or exactly one `pulumi.RunError` that names a key, registered nothing, is
under 2 kB and contains none of the credentials the config carried.

The seed is fixed (`derandomize=True`) and the budget small, so the suite stays fast
and every run tries the same configs. `python tests/test_config_properties.py` prints
how many configs were tried and how many distinct messages came back.
"""

from __future__ import annotations

import copy
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# Run as a script too (see the module docstring): the project and the test helpers.
sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

from config.schema_paths import MAP_KEY_PLACEHOLDER, all_key_paths  # noqa: E402
from config.stack import StackConfig  # noqa: E402
from harness import FAKE_HF_TOKEN, ROOT, clean_refusal_problems, run_outcome, stack_file_config  # noqa: E402

STACK_FILES = sorted(ROOT.glob("Pulumi.*.yaml")) + sorted((ROOT / "examples").glob("*.yaml"))
BASES = {path.relative_to(ROOT).as_posix(): stack_file_config(path) for path in STACK_FILES}
MAX_EXAMPLES = 300
# Every key the schema has, e.g. "pools.<name>.autoscaling.mode": mutations also set
# keys the committed files leave at their defaults.
SCHEMA_KEYS = all_key_paths(StackConfig)
# Values that are valid somewhere in the schema, so that mutations also reach the
# cross-key checks (ports, names, parallelism, GPU support) and not only the types.
plausible = st.sampled_from(
    [0, 1, 2, 3, 7, 8, 16, 64, 512, 4096, 8000, 8080, 8200, 5600, 29000, 0.5, 0.95, True, False,
     "auto", "bfloat16", "float16", "fp8", "awq", "gptq_marlin", "pods", "services", "keda", "hpa",
     "ClientIP", "LoadBalancer", "8", "500m", "16Gi", "5m", "NVIDIA-L4", "Tesla-T4", "NVIDIA-A100-SXM4-80GB",
     "default", "kube-system", "llm-serving", "hf-token", "model-cache", "/dev/shm", "/var/lib/models",
     "Qwen/Qwen2.5-0.5B-Instruct", "meta-llama/Llama-3.1-70B-Instruct", ["NVIDIA-L40", "Tesla-T4"],
     ["--max-loras", "4"], ["--gpu_memory_utilization=0.5"], {"A_TOKEN": "x"}, {"HF_HOME": "/x"}]
)  # fmt: skip

_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
# Credentials as they appear in the wild; the property is that none is ever echoed.
tokens = st.one_of(
    st.text(_ALNUM, min_size=34, max_size=34).map(lambda s: "hf_" + s),
    st.text(_ALNUM, min_size=40, max_size=48).map(lambda s: "sk-" + s),
    st.text(_ALNUM, min_size=32, max_size=40).filter(lambda s: len(set(s)) > 16),
)
names = st.sampled_from(
    ["chat", "x", "hfToken", "apiKey", "password", "token", "Bad_Name", "a" * 70, "llama\n", "", "-x"]
)


def scalars(token: str) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.booleans(),
        st.sampled_from([0, -1, 1, 2**31, 2**63, 10**30, -(2**40)]),
        st.sampled_from([math.inf, -math.inf, math.nan, 0.5, 1e308, 1e-9]),
        st.just(token),
        st.just(f"--hf-token={token}"),
        st.sampled_from(["", " ", "x\n", "8\n", "/", "/../etc", "a" * 5000, "$(HF_TOKEN)", "{", "[1,"]),
        st.text(max_size=12),
        st.none(),
    )


def junk(token: str) -> st.SearchStrategy[Any]:
    leaves = scalars(token)
    return st.recursive(
        leaves,
        lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(names, inner, max_size=3)),
        max_leaves=6,
    )


def paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path into a config tree (the top-level keys included)."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths(value, (*prefix, index))
    return found


def _parent(config: dict, path: tuple) -> Any:
    node: Any = config
    for part in path[:-1]:
        node = node[part]
    return node


def _set_schema_key(config: dict, dotted: str, value: Any) -> None:
    """Set a schema key such as pools.<name>.service.port in `config` (a map entry
    named by the config if it has one, else 'chat')."""
    top, *rest = dotted.split(".")
    if not rest:
        config[f"llm-serving:{top}"] = value
        return
    node = config.setdefault(f"llm-serving:{top}", {})
    for depth, part in enumerate(rest):
        if not isinstance(node, dict):
            return
        if part == MAP_KEY_PLACEHOLDER:
            part = next(iter(node), "chat")
        if depth == len(rest) - 1:
            node[part] = value
        else:
            node = node.setdefault(part, {})


@st.composite
def mutated_configs(draw) -> tuple[dict, list[str], dict]:
    """(config, credentials it carries, run_program keyword arguments)."""
    base = draw(st.sampled_from(sorted(BASES)))
    config = copy.deepcopy(BASES[base])
    token = draw(tokens)
    for _ in range(draw(st.integers(1, 3))):
        candidates = paths(config)
        if not candidates:
            break
        path = draw(st.sampled_from(candidates))
        parent = _parent(config, path)
        key = path[-1]
        action = draw(
            st.sampled_from(["replace", "replace", "newline", "unknown-key", "delete", "namespace", "append"])
        )
        if action == "replace":
            parent[key] = draw(junk(token))
        elif action == "newline" and isinstance(parent[key], str):
            parent[key] += "\n"
        elif action == "unknown-key" and isinstance(parent[key], dict):
            parent[key][draw(names) or "extra"] = draw(st.sampled_from([token, {"value": token}, [token]]))
        elif action == "delete" and isinstance(parent, dict):
            del parent[key]
        elif action == "namespace" and len(path) == 1:
            parent[
                key.replace("llm-serving", draw(st.sampled_from(["llm-servng", "llmserving", "acme"])))
            ] = parent.pop(key)
        elif action == "append" and isinstance(parent[key], list):
            parent[key].append(draw(scalars(token)))
    token_mode = draw(st.sampled_from(["secret", "secret", "plain", "none"]))
    kwargs = {"hf_token": None} if token_mode == "none" else {"hf_token_secret": token_mode == "secret"}
    return config, [token, FAKE_HF_TOKEN], kwargs


@dataclass
class Tally:
    tried: int = 0
    accepted: int = 0
    messages: set[str] = field(default_factory=set)


TALLY = Tally()


def check_outcome(config: dict, secrets: list[str], kwargs: dict) -> None:
    outcome = run_outcome(config, **kwargs)  # anything but RunError propagates: a traceback
    TALLY.tried += 1
    if outcome.error is None:
        TALLY.accepted += 1
        return
    TALLY.messages.add(outcome.error)
    assert clean_refusal_problems(outcome, secrets) == [], outcome.error


@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated_configs())
def test_any_stack_file_succeeds_or_is_refused_cleanly(case):
    check_outcome(*case)


if __name__ == "__main__":
    test_any_stack_file_succeeds_or_is_refused_cleanly()
    longest = max(map(len, TALLY.messages), default=0)
    print(
        f"configs tried: {TALLY.tried}; accepted: {TALLY.accepted}; refused: {TALLY.tried - TALLY.accepted}; "
        f"distinct error messages: {len(TALLY.messages)}; longest: {longest} chars"
    )
