"""Who reaches whom: the traffic declarations of every workload the stack runs.

Clients reach each pool and router; through the gateway, its proxy (and a pool's
endpoint picker) does too. The NetworkPolicies component turns the result into
policies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from components.security.traffic import CLIENTS, Workload


class _PoolTraffic(Protocol):
    def traffic(self, callers: frozenset[str]) -> Workload: ...


class _RouterStackTraffic(Protocol):
    def traffic(self, callers: frozenset[str]) -> list[Workload]: ...


class _GatewayTraffic(Protocol):
    def callers_of(self) -> dict[str, frozenset[str]]: ...

    def traffic(self) -> list[Workload]: ...


def stack_traffic(
    cache_traffic: Iterable[Workload],
    pools: Mapping[str, _PoolTraffic],
    pd_stacks: Mapping[str, _RouterStackTraffic],
    gateway: _GatewayTraffic | None,
) -> list[Workload]:
    """Every workload's declared callers and destinations, in registration order."""
    via_gateway = gateway.callers_of() if gateway else {}
    traffic = list(cache_traffic)
    for name, pool in pools.items():
        traffic.append(pool.traffic(frozenset({CLIENTS}) | via_gateway.get(name, frozenset())))
    for name, pd_stack in pd_stacks.items():
        traffic += pd_stack.traffic(via_gateway.get(name, frozenset()))
    if gateway:
        traffic += gateway.traffic()
    return traffic
