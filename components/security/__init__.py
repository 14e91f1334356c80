"""Pure builders for pod hardening and network reachability (no resources registered)."""
