"""Run the real `__main__.py` under Pulumi's official mocks and record what it registers.

`run_program(config)` returns every registered resource with its inputs as the
program sent them, in two forms: plain values (what the provider would get) and
the wire form with Pulumi's secret wrappers still in place, so tests can check that
credentials only ever travel as secrets.
"""

from __future__ import annotations

import json
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings
from pulumi.runtime.settings import SETTINGS, get_root_resource
from pulumi.runtime.sync_await import _sync_await

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = ROOT / "__main__.py"
NAMESPACE = "llm-serving"
# The stack the mocks run as, and the namespace its objects get by default.
MOCK_STACK = "test"
STACK_NAMESPACE = "llm-serving-test"
# The test-only stand-in for a Hugging Face token. Not a credential: the tests check
# that this exact string is never visible outside a secret.
FAKE_HF_TOKEN = "hf_FAKE_test_token_not_a_credential_0123456789"
MOCK_RANDOM_PASSWORD = "mock-random-password-0123456789abcdefghijklmnop"


@dataclass
class Registered:
    type: str
    name: str
    inputs: dict
    wire: dict  # inputs as sent, secrets still wrapped
    urn: str = ""
    parent: str = ""
    dependencies: list[str] = field(default_factory=list)
    retain_on_delete: bool = False
    ignore_changes: list[str] = field(default_factory=list)

    @property
    def is_kubernetes_object(self) -> bool:
        return self.type.startswith("kubernetes:") and "helm.sh" not in self.type

    @property
    def kind(self) -> str:
        return self.type.rsplit(":", 1)[-1]

    @property
    def manifest(self) -> dict:
        """The Kubernetes object as it would reach the API server."""
        return {k: v for k, v in self.inputs.items() if not k.startswith("__")}


@dataclass
class ProgramRun:
    resources: list[Registered] = field(default_factory=list)
    outputs: dict = field(default_factory=dict)
    outputs_wire: dict = field(default_factory=dict)

    def of_kind(self, kind: str) -> list[Registered]:
        return [r for r in self.resources if r.kind == kind]

    def by_urn(self, urn: str) -> Registered:
        return next(r for r in self.resources if r.urn == urn)

    def one(self, kind: str, name: str) -> Registered:
        matches = [r for r in self.of_kind(kind) if r.inputs.get("metadata", {}).get("name") == name]
        assert len(matches) == 1, f"expected one {kind} named {name}, found {len(matches)}"
        return matches[0]

    def manifests(self) -> list[dict]:
        """Every Kubernetes object as it would reach the API server (no Helm releases)."""
        return [r.manifest for r in self.resources if r.is_kubernetes_object]

    def manifests_of_kind(self, kind: str) -> list[dict]:
        return [r.manifest for r in self.of_kind(kind)]

    def kinds(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for resource in self.resources:
            counts[resource.type] = counts.get(resource.type, 0) + 1
        return counts


SECRET_SIGNATURE_KEY = rpc._special_sig_key
SECRET_SIGNATURE = rpc._special_secret_sig


def is_secret_wrapper(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIGNATURE_KEY) == SECRET_SIGNATURE


def _plain(value: Any) -> Any:
    """What the provider would see: secret wrappers removed, and integral doubles
    (protobuf Struct has no ints) turned back into ints."""
    if is_secret_wrapper(value):
        return _plain(value["value"])
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class _Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        state = dict(args.inputs)
        if args.typ == "random:index/randomPassword:RandomPassword":
            state["result"] = MOCK_RANDOM_PASSWORD
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: _Mocks, run: ProgramRun):
        super().__init__(mocks)
        self.run = run

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.run.resources.append(
                Registered(
                    type=request.type,
                    name=request.name,
                    inputs=_plain(rpc.deserialize_properties(request.object)),
                    wire=json_format.MessageToDict(request.object),
                    urn=response.urn,
                    parent=request.parent,
                    dependencies=list(request.dependencies),
                    retain_on_delete=request.retainOnDelete,
                    ignore_changes=list(request.ignoreChanges),
                )
            )
        return response


def stack_file_config(stack_file: Path) -> dict[str, Any]:
    """The `config:` block of a Pulumi.<stack>.yaml, as structured values."""
    return yaml.safe_load(stack_file.read_text()).get("config", {})


def engine_config(structured: dict[str, Any]) -> dict[str, str]:
    """Structured config as the engine hands it to the program: objects as JSON."""
    return {
        key: json.dumps(value) if isinstance(value, (dict, list)) else str(value)
        for key, value in structured.items()
    }


def run_program(
    structured_config: dict[str, Any],
    *,
    hf_token: str | None = FAKE_HF_TOKEN,
    hf_token_secret: bool = True,
    preview: bool = True,
    run: ProgramRun | None = None,
    stack: str = MOCK_STACK,
    program: Path | None = None,
) -> ProgramRun:
    """Run __main__.py once under mocks; raises whatever the program raises.

    Pass `run` to inspect what was registered even when the program fails, `stack`
    to run as a named stack (its default namespace is llm-serving-<stack>), and
    `program` to run another program under the same mocks (bench/evaluation_floor.py).
    """
    config = engine_config(structured_config)
    secret_keys = []
    if hf_token is not None:
        config[f"{NAMESPACE}:hfToken"] = hf_token
        if hf_token_secret:
            secret_keys.append(f"{NAMESPACE}:hfToken")
    run = run if run is not None else ProgramRun()
    mocks = _Mocks()
    # set_mocks reuses an existing root Stack, whose exports would then leak from one
    # run into the next; start each run with a fresh one.
    settings.ROOT.set(None)
    pulumi.runtime.set_mocks(
        mocks,
        project=NAMESPACE,
        stack=stack,
        preview=preview,
        monitor=_RecordingMonitor(mocks, run),
    )
    pulumi.runtime.set_all_config(config, secret_keys)
    SETTINGS.rpc_manager.clear()
    SETTINGS.outputs.clear()
    _sync_await(
        pulumi.runtime.stack.run_pulumi_func(
            lambda: runpy.run_path(str(program or PROGRAM), run_name="__main__")
        )
    )
    # set_mocks' root Stack is finished before the program runs, so exports never
    # reach the monitor; serialize them the way the engine would receive them.
    exports = get_root_resource().outputs  # type: ignore[union-attr]
    wire = _sync_await(rpc.serialize_properties(exports, {}))
    run.outputs = _plain(rpc.deserialize_properties(wire))
    run.outputs_wire = json_format.MessageToDict(wire)
    return run


# Larger than any message the program should print; the limit the issue sets is 2 kB.
MAX_MESSAGE_BYTES = 2048


@dataclass
class Outcome:
    """How one run of the program ended: `error` is the RunError's message, or None."""

    run: ProgramRun
    error: str | None


def run_outcome(structured_config: dict[str, Any], **kwargs: Any) -> Outcome:
    """Run the program; a `pulumi.RunError` is an outcome, anything else propagates
    (a traceback is a failure of the test)."""
    run = ProgramRun()
    try:
        run_program(structured_config, run=run, **kwargs)
    except pulumi.RunError as error:
        return Outcome(run, str(error))
    return Outcome(run, None)


def clean_refusal_problems(outcome: Outcome, secrets: list[str]) -> list[str]:
    """What is wrong with a refusal: it must register nothing, stay under 2 kB, name a
    key under a config namespace, and contain none of `secrets`."""
    message = outcome.error or ""
    found = []
    if outcome.run.resources:
        found.append(f"registered {len(outcome.run.resources)} resources before failing")
    if len(message.encode()) > MAX_MESSAGE_BYTES:
        found.append(f"message of {len(message.encode())} bytes")
    if not message.startswith("invalid stack config") or ":" not in message.split(": ", 1)[-1]:
        found.append("message names no key")
    found += [f"echoes a secret ({secret[:6]}...)" for secret in secrets if secret and secret in message]
    return found
