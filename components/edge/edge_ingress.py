"""EdgeIngress: the stack's HTTP(S) entry, as seed 002 has it.

One Kubernetes Ingress (class `ingress.className`, Traefik by default as on k3s):
`/v1/...` goes to the default model, `/models/<name>/v1/...` to each pool or P/D
stack (its router), with `/models/<name>` stripped before the request reaches vLLM.
TLS from an existing Secret or one cert-manager issues. With Traefik, rate limiting
and the prefix strip are Traefik `Middleware`s (traefik.io/v1alpha1) the Ingress
names in its `router.middlewares` annotation.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.edge.inference_gateway import RouteTarget
from components.shared import workload_labels
from config.edge.sections import IngressConfig

MODEL_PATH_PREFIX = "/models"
TRAEFIK_MIDDLEWARES = "traefik.ingress.kubernetes.io/router.middlewares"
TRAEFIK_ENTRYPOINTS = "traefik.ingress.kubernetes.io/router.entrypoints"


def model_path(name: str) -> str:
    return f"{MODEL_PATH_PREFIX}/{name}/v1"


class EdgeIngress(pulumi.ComponentResource):
    """Owns the Ingress and its Traefik middlewares; exposes the public URLs."""

    urls: dict[str, str]

    def __init__(
        self,
        name: str,
        spec: IngressConfig,
        namespace: pulumi.Input[str],
        targets: dict[str, RouteTarget],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("llm-serving:edge:EdgeIngress", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = workload_labels(name, "edge", name="llm-serving-edge")
        default = spec.default_model or next(iter(targets))

        middlewares = []
        if spec.traefik and spec.rate_limit is not None:
            limit = spec.rate_limit
            middlewares.append(
                self._middleware(
                    f"{name}-rate-limit",
                    namespace,
                    labels,
                    {"rateLimit": {"average": limit.average, "burst": limit.burst, "period": limit.period}},
                    child,
                )
            )
        if spec.traefik:
            # `/models/<name>/v1/x` reaches vLLM as `/v1/x`; `/v1/x` is left alone.
            middlewares.append(
                self._middleware(
                    f"{name}-strip-model-prefix",
                    namespace,
                    labels,
                    {"stripPrefixRegex": {"regex": [f"^{MODEL_PATH_PREFIX}/[a-z0-9-]+"]}},
                    child,
                )
            )

        annotations: dict[str, pulumi.Input[str]] = dict(spec.annotations)
        if middlewares:
            # Traefik names a Middleware of the kubernetescrd provider <namespace>-<name>.
            names = [m.pulumi_resource_name for m in middlewares]
            annotations[TRAEFIK_MIDDLEWARES] = pulumi.Output.from_input(namespace).apply(
                lambda ns: ",".join(f"{ns}-{name}@kubernetescrd" for name in names)
            )
        tls = None
        if spec.tls is not None:
            if spec.tls.issuer:
                issuer_key = "cluster-issuer" if spec.tls.issuer_kind == "ClusterIssuer" else "issuer"
                annotations[f"cert-manager.io/{issuer_key}"] = spec.tls.issuer
            if spec.traefik:
                # HTTPS only: plain HTTP never carries prompts or API keys.
                annotations[TRAEFIK_ENTRYPOINTS] = "websecure"
            tls = [
                k8s.networking.v1.IngressTLSArgs(
                    hosts=[spec.host] if spec.host else None, secret_name=spec.tls.secret_name
                )
            ]

        def path(prefix: str, target: RouteTarget) -> k8s.networking.v1.HTTPIngressPathArgs:
            return k8s.networking.v1.HTTPIngressPathArgs(
                path=prefix,
                path_type="Prefix",
                backend=k8s.networking.v1.IngressBackendArgs(
                    service=k8s.networking.v1.IngressServiceBackendArgs(
                        name=target.service_name,
                        port=k8s.networking.v1.ServiceBackendPortArgs(number=target.port),
                    )
                ),
            )

        paths = [path("/v1", targets[default])]
        paths += [path(model_path(model), target) for model, target in targets.items()]
        ingress = k8s.networking.v1.Ingress(
            f"{name}-ingress",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=name, namespace=namespace, labels=labels, annotations=annotations
            ),
            spec=k8s.networking.v1.IngressSpecArgs(
                ingress_class_name=spec.class_name,
                tls=tls,
                rules=[
                    k8s.networking.v1.IngressRuleArgs(
                        host=spec.host, http=k8s.networking.v1.HTTPIngressRuleValueArgs(paths=paths)
                    )
                ],
            ),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=middlewares)),
        )
        scheme = "https" if spec.tls is not None else "http"
        base = f"{scheme}://{spec.host or '<ingress address>'}"
        self.urls = {model: f"{base}{model_path(model)}" for model in targets}
        self.urls["default"] = f"{base}/v1"
        self.ingress_name = ingress.metadata.name
        self.register_outputs({"urls": self.urls})

    @staticmethod
    def _middleware(
        name: str,
        namespace: pulumi.Input[str],
        labels: dict[str, str],
        spec: dict,
        child: pulumi.ResourceOptions,
    ) -> k8s.apiextensions.CustomResource:
        return k8s.apiextensions.CustomResource(
            name,
            api_version="traefik.io/v1alpha1",
            kind="Middleware",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, labels=labels),
            spec=spec,
            opts=child,
        )
