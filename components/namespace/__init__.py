"""The stack's namespace: the Namespace itself, its quota and limit range, and the
ownership guard that keeps stacks from taking over each other's objects.
"""

from components.namespace.namespace import stack_namespace
from components.namespace.namespace_quota import NamespaceQuota
from components.namespace.stack_ownership import guard_stack_ownership

__all__ = ["stack_namespace", "NamespaceQuota", "guard_stack_ownership"]
