"""PromQL for one scrape target, built from the metric catalog in one place.

Every expression is scoped to a namespace and the target's Service (the `service`
label prometheus-operator adds to scraped series), so two stacks in one cluster never
mix. Pure functions; both alert rules and dashboards use them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from components.monitoring import metric_names as m

RATE_WINDOW = "5m"


def string_literal(value: str) -> str:
    """`value` as a PromQL string literal. Every label value enters a query through
    here, so a value with `"` or `\\` (a served model name, say) cannot end the
    literal and splice its own PromQL in. PromQL strings take Go's escapes, of which
    JSON's are a subset."""
    return json.dumps(value, ensure_ascii=False)


def regex_alternatives(values: list[str]) -> str:
    """A PromQL regex (RE2) matching exactly one of `values`, metacharacters escaped."""
    return "|".join(re.sub(r"([^A-Za-z0-9_-])", r"\\\1", value) for value in values)


def label_matcher(label: str, value: str) -> str:
    """`label="value"`, the value escaped."""
    return f"{label}={string_literal(value)}"


@dataclass(frozen=True)
class Scope:
    """The series of one namespace's Services: `service` is a name or a regex."""

    namespace: str
    service: str

    @property
    def matchers(self) -> str:
        return f"{label_matcher('namespace', self.namespace)},service=~{string_literal(self.service)}"

    def select(self, metric: str, extra: str = "") -> str:
        labels = self.matchers + (f",{extra}" if extra else "")
        return f"{metric}{{{labels}}}"


def rate(scope: Scope, metric: str, by: str = "") -> str:
    grouping = f" by ({by})" if by else ""
    return f"sum{grouping} (rate({scope.select(metric)}[{RATE_WINDOW}]))"


def quantile(scope: Scope, histogram: str, q: float, by: str = "") -> str:
    grouping = ", ".join(part for part in (by, "le") if part)
    return (
        f"histogram_quantile({q}, sum by ({grouping}) "
        f"(rate({scope.select(histogram + '_bucket')}[{RATE_WINDOW}])))"
    )


def ratio(numerator: str, denominator: str) -> str:
    """numerator / denominator, empty (not NaN or +Inf) when the denominator is 0."""
    return f"({numerator}) / ({denominator} > 0)"


def prefix_cache_hit_rate(scope: Scope, by: str = "") -> str:
    return ratio(rate(scope, m.PREFIX_CACHE_HITS, by), rate(scope, m.PREFIX_CACHE_QUERIES, by))


def router_errors(scope: Scope, by: str = "") -> str:
    """Failed requests per second, from the router's three error counters. Joined with
    `or`, not `+`: a counter never incremented has no series (a `+` would then be
    empty), and the counters' series never share a label set (error_type on one,
    distinct worker URLs, prefill's and decode's, on the others)."""
    grouping = f" by ({by})" if by else ""
    rates = " or ".join(f"rate({scope.select(metric)}[{RATE_WINDOW}])" for metric in m.ROUTER_ERRORS)
    return f"sum{grouping} ({rates})"


def router_error_ratio(scope: Scope, by: str = "") -> str:
    return ratio(router_errors(scope, by), rate(scope, m.ROUTER_REQUESTS, by))
