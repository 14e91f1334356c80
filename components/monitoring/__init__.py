"""What is watched: MonitoringStack (kube-prometheus-stack, ServiceMonitors, alert
rules, Grafana dashboards) and the metric names and PromQL they share.
"""

from components.monitoring.monitoring_stack import MonitoringStack
from components.monitoring.promql import label_matcher

__all__ = ["MonitoringStack", "label_matcher"]
