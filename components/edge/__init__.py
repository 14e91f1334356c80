"""How clients get in: EdgeIngress (an Ingress with rate limiting) and
InferenceGateway (Gateway API, InferencePool and its endpoint picker).
"""

from components.edge.edge_ingress import EdgeIngress
from components.edge.inference_gateway import InferenceGateway, RouteTarget

__all__ = ["EdgeIngress", "InferenceGateway", "RouteTarget"]
