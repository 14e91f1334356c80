"""Every cross-key check of a stack, run before any resource is registered.

The checks live beside the sections they check (config/<concern>/checks.py); this module
runs them all. `check_stack` either returns the capacity report or raises one `ConfigError` listing
every problem found. Pure: no Pulumi imports.
"""

from __future__ import annotations

from config.capacity import CapacityReport, PoolCapacity
from config.edge.checks import edge_problems, inference_gateway_problems
from config.errors import ConfigError, Problem
from config.inventory import check_object_names, check_ports, check_reserved_namespaces, check_role_replicas
from config.release import release_warnings
from config.security.checks import pod_security_problems, secret_problems, security_warnings
from config.serving.checks import PoolChecker, pd_stack_problems, serves_something_problems
from config.serving.startup_budget import prefetch_warnings
from config.stack import StackConfig
from config.storage.checks import mount_path_problems, read_write_once_problems


def check_stack(stack: StackConfig, *, has_hf_token: bool) -> CapacityReport:
    """Every cross-key rule; raises ConfigError with all problems, or returns the report."""
    problems: list[Problem] = []
    capacities: dict[str, PoolCapacity] = {}
    warnings: list[str] = []
    cache_users = []
    for name, pool, key in stack.serving_pool_entries():
        checker = PoolChecker(stack, name, pool, key)
        capacity = checker.check()
        problems += checker.problems
        if capacity is not None:
            capacities[name] = capacity
        warnings += checker.warnings
        user = checker.cache_user()
        if user is not None:
            cache_users.append(user)
    claim_problems, claim_warnings = read_write_once_problems(stack, cache_users)
    problems += claim_problems
    warnings += claim_warnings
    problems += serves_something_problems(stack)
    problems += pd_stack_problems(stack)
    problems += inference_gateway_problems(stack)
    problems += secret_problems(stack, has_hf_token)
    problems += check_object_names(stack, has_hf_token=has_hf_token)
    problems += check_reserved_namespaces(stack)
    problems += check_ports(stack)
    problems += check_role_replicas(stack)
    problems += mount_path_problems(stack)
    problems += edge_problems(stack)
    problems += pod_security_problems(stack)
    warnings += security_warnings(stack)
    warnings += release_warnings(stack)
    if problems:
        raise ConfigError(problems)
    report = CapacityReport(pools=capacities, warnings=warnings)
    downloading = {
        key: report.weights_gib(name)
        for name, pool, key in stack.serving_pool_entries()
        if pool.source.kind == "huggingFace" and not stack.model_cache.prefetch.enabled
    }
    warnings += prefetch_warnings(downloading)
    return report
