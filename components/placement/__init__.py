"""How pods reach a GPU: GpuNodeSelector (RuntimeClass, optional GPU Operator) and
the node-label terms it builds on.
"""

from components.placement.gpu_node_selector import GPU_RESOURCE, GpuNodeSelector, GpuScheduling
from components.placement.node_selectors import node_label_in

__all__ = ["GPU_RESOURCE", "GpuNodeSelector", "GpuScheduling", "node_label_in"]
