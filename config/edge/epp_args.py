"""The endpoint picker's arguments and plugin configuration, rendered once.

Flags are those of the pinned release's parser (sigs.k8s.io/gateway-api-inference-extension
v1.5.0, pkg/epp/server/options.go and pkg/common/observability/logging/options.go);
tests/test_inference_gateway.py runs that parser on them when the tool is built.
The plugin configuration follows upstream's default for vLLM
(config/charts/epplib/templates/_config.yaml at v1.5.0) with the scorer weights
from config. Pure: no Pulumi imports.
"""

from __future__ import annotations

import yaml

from config.edge.sections import EndpointPickerConfig

EXT_PROC_PORT = 9002
HEALTH_PORT = 9003
METRICS_PORT = 9090
POOL_GROUP = "inference.networking.k8s.io"
CONFIG_DIR = "/config"
CONFIG_FILE = "plugins.yaml"


def render_epp_args(picker: EndpointPickerConfig, pool_name: str, namespace: str) -> list[str]:
    """The picker serves one InferencePool; leader election only with several replicas."""
    args = [
        "--pool-name",
        pool_name,
        "--pool-namespace",
        namespace,
        "--pool-group",
        POOL_GROUP,
        "--grpc-port",
        str(EXT_PROC_PORT),
        "--grpc-health-port",
        str(HEALTH_PORT),
        "--metrics-port",
        str(METRICS_PORT),
        "--config-file",
        f"{CONFIG_DIR}/{CONFIG_FILE}",
        "--zap-encoder",
        "json",
        "--v",
        str(picker.log_verbosity),
        "--tracing=false",
        # Metrics auth would need cluster-wide TokenReview/SubjectAccessReview rights;
        # the metrics port is reachable only where network policy allows instead.
        "--metrics-endpoint-auth=false",
        # pprof handlers are on by default; nothing here needs them.
        "--enable-pprof=false",
    ]
    if picker.replicas > 1:
        args.append("--ha-enable-leader-election")
    return args


# Weight of the LoRA-affinity scorer for a pool with adapters when `scorers` is left at
# upstream's default (which has none): as much as queue depth and KV-cache use, so a
# request goes to a pod that already holds its adapter unless that pod is busier.
LORA_AFFINITY_SCORER = "lora-affinity-scorer"
LORA_AFFINITY_WEIGHT = 2


def scorer_weights(picker: EndpointPickerConfig, serves_adapters: bool) -> dict[str, int]:
    """The scorers of one pool's picker: the config's, plus LoRA affinity for a pool
    with adapters unless `scorers` was set explicitly."""
    weights = dict(picker.scorers)
    if serves_adapters and "scorers" not in picker.model_fields_set:
        weights.setdefault(LORA_AFFINITY_SCORER, LORA_AFFINITY_WEIGHT)
    return weights


def render_plugins_config(
    picker: EndpointPickerConfig, metrics_path: str = "/metrics", serves_adapters: bool = False
) -> str:
    """EndpointPickerConfig: the scorers with their weights in the default profile,
    and the data source that scrapes each pod's vLLM metrics."""
    weights = scorer_weights(picker, serves_adapters)
    scorers = [name for name, weight in weights.items() if weight > 0]
    document = {
        "apiVersion": "inference.networking.x-k8s.io/v1alpha1",
        "kind": "EndpointPickerConfig",
        "plugins": [
            *({"type": name} for name in scorers),
            {
                "type": "metrics-data-source",
                "parameters": {"scheme": "http", "path": metrics_path, "insecureSkipVerify": True},
            },
            {"type": "core-metrics-extractor"},
        ],
        "schedulingProfiles": [
            {
                "name": "default",
                "plugins": [{"pluginRef": name, "weight": weights[name]} for name in scorers],
            }
        ],
    }
    return yaml.safe_dump(document, sort_keys=False)
