"""Helm add-ons the stack may install: the shared Helm release helper and the
LeaderWorkerSet controller.
"""

from components.addons.helm_addon import helm_addon, merge_values
from components.addons.leader_worker_set_controller import LeaderWorkerSetController

__all__ = ["LeaderWorkerSetController", "helm_addon", "merge_values"]
