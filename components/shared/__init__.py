"""What every workload uses: labels and selectors, Service, PodDisruptionBudget and
service-account helpers, pod fragments, the Secrets pods read, scrape targets.
"""

from components.shared.labels import GROUP_ROLE_LABEL, PART_OF, selector_labels, workload_labels
from components.shared.pod_fragment import PodFragment
from components.shared.pod_secrets import PodSecrets, SecretRef, env_var, hf_token_file
from components.shared.scrape_target import ScrapeTarget
from components.shared.stack_secrets import stack_secrets
from components.shared.workload import (
    disruption_budget,
    in_cluster_url,
    ingress_affinity,
    service_account_with_role,
    service_readiness,
    service_spec,
    service_url,
)

__all__ = [
    "stack_secrets",
    "GROUP_ROLE_LABEL",
    "PART_OF",
    "PodFragment",
    "PodSecrets",
    "ScrapeTarget",
    "SecretRef",
    "disruption_budget",
    "env_var",
    "hf_token_file",
    "in_cluster_url",
    "selector_labels",
    "service_account_with_role",
    "ingress_affinity",
    "service_readiness",
    "service_spec",
    "service_url",
    "workload_labels",
]
