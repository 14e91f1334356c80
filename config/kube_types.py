"""The vocabulary of validated config values, each named for what Kubernetes (or OCI,
or Prometheus) calls it.

Every string the schema puts into a manifest, a vLLM flag or a PromQL query has one
of these types; sections never repeat a pattern. Rules:
- every pattern matches the whole string (`re.fullmatch`): `$` would also match
  before a final newline, so `"chat\\n"` would pass as a name;
- numbers are strict (sections set pydantic's strict mode: `true` is not 1, `"8"` is
  not 8, except that StackConfig first reads the unambiguous strings `pulumi config set`
  leaves, see cli_scalars.py) and bounded where Kubernetes bounds them (int32, int64,
  ports);
- a number where Kubernetes accepts one (`cpu: 8`) is accepted and normalized;
- quantities are computed exactly (fractions, never floats) and refused where Kubernetes
  would change them: beyond 2^63-1, between 0 and 1n, finer than 1n; CPU in whole
  millicores up to 65536 cores, sizes in whole bytes up to 1Ei.

Messages say what the value must be, never what it is: the error renderer decides
whether the value may be shown (see errors.py). Pure: no Pulumi imports.

Sources: Kubernetes apimachinery `validation.go` (IsDNS1123Label/Subdomain,
IsDNS1035Label, IsQualifiedName, IsValidLabelValue, IsCIdentifier) and
`resource/quantity.go`, distribution/reference `regexp.go`, Prometheus
`model/time.go` (ParseDuration); all as of Kubernetes 1.34.
"""

from __future__ import annotations

import math
import posixpath
import re
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, Strict

# --- numbers -------------------------------------------------------------------

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1


def _int32(value: int) -> int:
    if not -(2**31) <= value <= INT32_MAX:
        raise ValueError(f"must fit in Kubernetes' 32-bit integer (at most {INT32_MAX})")
    return value


def _int64(value: int) -> int:
    if not -(2**63) <= value <= INT64_MAX:
        raise ValueError(f"must fit in Kubernetes' 64-bit integer (at most {INT64_MAX})")
    return value


# Kubernetes' int32 fields (replicas, ports, most *Seconds) and int64 fields
# (terminationGracePeriodSeconds, activeDeadlineSeconds). The bound is a validator,
# not Field(ge/le): a field's own Field(ge=...) would replace an annotated one.
Int32 = Annotated[int, Strict(), AfterValidator(_int32)]
Int64 = Annotated[int, Strict(), AfterValidator(_int64)]
Port = Annotated[int, Strict(), Field(ge=1, le=65535)]
# Floats are finite (no inf/nan) and never booleans; an integer is a valid float.
FiniteFloat = Annotated[float, Strict(), Field(allow_inf_nan=False)]


# --- strings ---------------------------------------------------------------------


def matching(pattern: re.Pattern[str], max_length: int, requirement: str) -> Callable[[str], str]:
    """A validator: the whole string matches `pattern` and is at most `max_length`
    characters long; otherwise the error says `requirement` ("must be ...")."""

    def validate(value: str) -> str:
        if len(value) > max_length or not pattern.fullmatch(value):
            raise ValueError(requirement)
        return value

    return validate


# --- names -----------------------------------------------------------------------

_DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_1123_LABEL = re.compile(_DNS_LABEL)
_DNS_1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_DNS_1123_SUBDOMAIN = re.compile(rf"{_DNS_LABEL}(\.{_DNS_LABEL})*")
_QUALIFIED_NAME_PART = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_C_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SECRET_DATA_KEY = re.compile(r"[-._a-zA-Z0-9]+")

DNS_LABEL_MAX = 63
DNS_SUBDOMAIN_MAX = 253


dns_1123_label = matching(
    _DNS_1123_LABEL,
    DNS_LABEL_MAX,
    "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a "
    "letter or digit, at most 63 characters",
)


dns_1035_label = matching(
    _DNS_1035_LABEL,
    DNS_LABEL_MAX,
    "must be a DNS-1035 label (it names a Service): lowercase letters, digits and '-', starting "
    "with a letter, ending with a letter or digit, at most 63 characters",
)


dns_1123_subdomain = matching(
    _DNS_1123_SUBDOMAIN,
    DNS_SUBDOMAIN_MAX,
    "must be a DNS-1123 subdomain: dot-separated DNS-1123 labels (lowercase letters, digits, '-'), "
    "at most 253 characters",
)


def _qualified_name(value: str, what: str) -> str:
    prefix, slash, name = value.rpartition("/")
    valid_prefix = not slash or (
        len(prefix) <= DNS_SUBDOMAIN_MAX and _DNS_1123_SUBDOMAIN.fullmatch(prefix) is not None
    )
    if not valid_prefix or len(name) > DNS_LABEL_MAX or not _QUALIFIED_NAME_PART.fullmatch(name):
        raise ValueError(
            f"must be a {what}: an optional DNS subdomain prefix and '/', then at most 63 letters, "
            "digits, '-', '_' or '.', starting and ending with a letter or digit"
        )
    return value


def label_key(value: str) -> str:
    return _qualified_name(value, "Kubernetes label key")


def taint_key(value: str) -> str:
    return _qualified_name(value, "Kubernetes taint key")


def label_value(value: str) -> str:
    if value and (len(value) > DNS_LABEL_MAX or not _QUALIFIED_NAME_PART.fullmatch(value)):
        raise ValueError(
            "must be a Kubernetes label value: empty, or at most 63 letters, digits, '-', '_' "
            "or '.', starting and ending with a letter or digit"
        )
    return value


env_var_name = matching(
    _C_IDENTIFIER,
    1024,
    "must be an environment variable name: letters, digits and '_', not starting with a digit",
)


secret_data_key = matching(
    _SECRET_DATA_KEY, DNS_SUBDOMAIN_MAX, "must be a key of a Secret: letters, digits, '-', '_' or '.'"
)


# --- quantities --------------------------------------------------------------------

# <number><suffix>: a decimal number, then a binary-SI, decimal-SI or exponent suffix
# (quantity.go's grammar, without a negative sign).
_QUANTITY = re.compile(
    r"\+?(?P<number>[0-9]+(\.[0-9]*)?|\.[0-9]+)"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][-+]?[0-9]+)?"
)
_QUANTITY_MAX_LENGTH = 40
_QUANTITY_SUFFIXES = {
    "": Fraction(1), "n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 10**3),
    "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12),
    "P": Fraction(10**15), "E": Fraction(10**18),
    "Ki": Fraction(2**10), "Mi": Fraction(2**20), "Gi": Fraction(2**30), "Ti": Fraction(2**40),
    "Pi": Fraction(2**50), "Ei": Fraction(2**60),
}  # fmt: skip
# What Kubernetes represents (apimachinery resource/quantity.go, ParseQuantity): values
# are kept to 1n (a finer non-zero value is rounded up to it, so 1e-400 becomes 1n),
# binary-SI values are capped, silently, at 2^63-1 (8Ei becomes 2^63-1), and every
# int64 accessor (Value, MilliValue) overflows beyond it. So a quantity lies in
# [1n, 2^63-1] or is 0, in steps of 1n.
QUANTITY_RESOLUTION = Fraction(1, 10**9)
QUANTITY_MAX = Fraction(INT64_MAX)
# CPUs above this are no node's (the largest servers have a few thousand).
CPU_MAX = 65536
# Sizes (memory, volumes, emptyDirs) above 1Ei are no machine's.
BYTES_MAX = Fraction(2**60)
MILLI = Fraction(1, 1000)
# A quantity of at most 40 characters with a decimal exponent beyond +-64 lies beyond
# every bound above (its number part is between 1e-40 and 1e40); the exponent is
# clamped there, so that 10**exponent stays cheap to compute.
_QUANTITY_EXPONENT_LIMIT = 64
_QUANTITY_FIX = "Fix: write it like 32Gi, 500m or 8"


def _number_to_quantity(value: object) -> object:
    """`cpu: 8` and `cpu: 0.5` are YAML numbers; Kubernetes takes them as quantities.
    Booleans are not numbers here, and inf/nan are no quantity."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("must be a finite number or a Kubernetes quantity such as '8', '500m', '32Gi'")
        return str(int(value)) if value.is_integer() else repr(value)
    return value


def quantity_value(text: str) -> Fraction:
    """The exact value of a quantity ('1.5Gi' -> 1610612736, '500m' -> 1/2), computed
    without floats; exact for every quantity the schema accepts (a decimal exponent
    beyond +-64 is clamped, see above). Raises ValueError for anything else."""
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise ValueError("must be a non-negative Kubernetes quantity such as '8', '500m', '32Gi'")
    number = Fraction(Decimal(match["number"]))
    suffix = match["suffix"] or ""
    if suffix in _QUANTITY_SUFFIXES:
        return number * _QUANTITY_SUFFIXES[suffix]
    exponent = max(-_QUANTITY_EXPONENT_LIMIT, min(_QUANTITY_EXPONENT_LIMIT, int(suffix[1:])))
    return number * Fraction(10) ** exponent


def quantity(value: str) -> str:
    """A quantity Kubernetes represents exactly: 0, or between 1n and 2^63-1 in steps of 1n."""
    if len(value) > _QUANTITY_MAX_LENGTH:
        raise ValueError("must be a non-negative Kubernetes quantity such as '8', '500m', '32Gi'")
    amount = quantity_value(value)
    if amount > QUANTITY_MAX:
        raise ValueError(
            "is larger than a Kubernetes quantity can be (2^63-1, just under 8Ei: beyond it Kubernetes "
            f"caps the value silently or its 64-bit readers overflow). {_QUANTITY_FIX}"
        )
    if 0 < amount < QUANTITY_RESOLUTION:
        raise ValueError(
            "is not zero but smaller than 1n (10^-9), the smallest quantity Kubernetes represents "
            f"(it would round it up to 1n). {_QUANTITY_FIX}"
        )
    if amount % QUANTITY_RESOLUTION:
        raise ValueError(
            "is more precise than Kubernetes keeps a quantity (in steps of 1n = 10^-9; it would round "
            f"it up). {_QUANTITY_FIX}"
        )
    return value


def positive_quantity(value: str) -> str:
    if quantity_value(quantity(value)) == 0:
        raise ValueError("must be a Kubernetes quantity greater than zero, such as '8', '500m', '32Gi'")
    return value


def cpu_quantity(value: str) -> str:
    """CPU, which Kubernetes counts in millicores (MilliValue, an int64)."""
    amount = quantity_value(positive_quantity(value))
    if amount % MILLI:
        raise ValueError(
            "is finer than 1m, the millicore Kubernetes counts CPU in (it would round it up). "
            "Fix: write it like 500m or 8"
        )
    if amount / MILLI > INT64_MAX:
        raise ValueError(
            f"is more CPU than Kubernetes can count (millicores in 64 bits: at most {INT64_MAX}m). "
            "Fix: write it like 500m or 8"
        )
    if amount > CPU_MAX:
        raise ValueError(
            f"is more than {CPU_MAX} cores, more than any node has (the largest servers have a few "
            "thousand), so the pod could never be scheduled. Fix: write it like 500m or 8"
        )
    return value


def byte_size(value: str) -> str:
    """Memory or a volume's size: whole bytes, at most 1Ei."""
    amount = quantity_value(positive_quantity(value))
    if amount.denominator != 1:
        raise ValueError(
            "is not a whole number of bytes ('500m' is half a byte, which Kubernetes calls an invalid "
            "fractional byte value). Fix: write it like 512Mi or 32Gi"
        )
    if amount > BYTES_MAX:
        raise ValueError(
            "is more than 1Ei (2^60 bytes), larger than any memory or volume. Fix: write it like 32Gi"
        )
    return value


# --- paths -------------------------------------------------------------------------

_PATH_MAX = 4096


def absolute_path(value: str) -> str:
    """An absolute, normalized path other than `/`: no `..`, `.`, `//` or control
    characters (a mount on `/` or a hostPath of `/` exposes the whole filesystem)."""
    if (
        not value.startswith("/")
        or len(value) > _PATH_MAX
        or any(ord(c) < 32 or ord(c) == 127 for c in value)
        or posixpath.normpath(value) != value
        or "//" in value
        or value == "/"
    ):
        raise ValueError(
            "must be an absolute, normalized path other than '/': starting with '/', without "
            "'..', '.', '//', a trailing '/' or control characters"
        )
    return value


# --- images ------------------------------------------------------------------------

# distribution/reference: domain (host[:port]), path components, then :tag and/or
# @algorithm:hex. Only sha256 digests (64 hex digits) pin an image.
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[_.]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"sha256:[a-f0-9]{64}"
_IMAGE_REFERENCE = re.compile(
    rf"(?P<name>(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?"
)
_IMAGE_NAME_MAX = 255


def _has_valid_first_component(name: str) -> bool:
    """As the container runtimes read a name: the first component is a registry only
    when it has a '.' or ':' or is 'localhost'; otherwise it is a (lowercase) path
    component, so 'VLLM/vllm-openai' is no valid reference."""
    first, slash, _ = name.partition("/")
    if not slash or "." in first or ":" in first or first == "localhost" or first.startswith("["):
        return True
    return re.fullmatch(_PATH_COMPONENT, first) is not None


def pinned_image(value: str) -> str:
    """An OCI image reference pinned to a version tag or a full sha256 digest."""
    match = _IMAGE_REFERENCE.fullmatch(value)
    if match is not None and not _has_valid_first_component(match["name"]):
        match = None
    if match is None or len(match["name"]) > _IMAGE_NAME_MAX:
        raise ValueError(
            "must be an image reference such as 'registry.example.com/team/image:v1.2' or "
            "'image@sha256:<64 hex digits>' (no whitespace, empty tag or truncated digest)"
        )
    if match["digest"] is None and match["tag"] in (None, "latest"):
        raise ValueError("must be pinned to a version tag or digest, never ':latest' or untagged")
    return value


# --- Prometheus ----------------------------------------------------------------------

_PROMETHEUS_DURATION = re.compile(
    r"(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?"
)


def prometheus_duration(value: str) -> str:
    if not value or not _PROMETHEUS_DURATION.fullmatch(value):
        raise ValueError("must be a Prometheus duration such as '30s', '5m' or '1h30m' (units largest first)")
    return value


_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


metric_name = matching(_METRIC_NAME, 200, "must be a Prometheus metric name: letters, digits, '_' and ':'")


# --- URLs, versions, model ids ----------------------------------------------------------

_HTTP_URL = re.compile(r"https?://[A-Za-z0-9._~:/?#@!$&'()*+,;=%\[\]-]+")
_CHART_REPOSITORY = re.compile(r"(https?|oci)://[A-Za-z0-9._~:/?#@!$&'()*+,;=%\[\]-]+")
_URL_MAX = 2048


_url_syntax = matching(
    _HTTP_URL, _URL_MAX, "must be an http:// or https:// URL without spaces or control characters"
)


def http_url(value: str) -> str:
    """An http(s) URL without user info: a password in it would be written into the
    manifest in plain text."""
    _url_syntax(value)
    if "@" in value.split("://", 1)[1].split("/", 1)[0]:
        raise ValueError(
            "carries user info (user:password@) that would be stored in plain text. "
            "Fix: remove it and give the credentials to the consumer from a Secret"
        )
    return value


chart_repository = matching(
    _CHART_REPOSITORY, _URL_MAX, "must be an https://, http:// or oci:// chart repository URL"
)


_VERSION = re.compile(r"v?[0-9]+(\.[0-9]+){0,2}([-+][0-9A-Za-z.+-]+)?")


chart_version = matching(_VERSION, 128, "must be a pinned chart version such as '1.9.1' or 'v25.3.4'")


# A Hugging Face repository id ('org/name') or a bare name; it lands in vLLM's args,
# a prefetch Job's command and an annotation.
_MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?")
_REVISION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")
# What clients put in requests' "model" field; it lands in PromQL label matchers
# (escaped there) and vLLM's --served-model-name.
_SERVED_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]*")


def model_id(value: str) -> str:
    if len(value) > 200 or not _MODEL_ID.fullmatch(value) or ".." in value:
        raise ValueError("must be a Hugging Face model id such as 'meta-llama/Llama-3.1-8B-Instruct'")
    return value


def git_revision(value: str) -> str:
    if len(value) > 255 or not _REVISION.fullmatch(value) or ".." in value or value.endswith((".lock", "/")):
        raise ValueError("must be a branch, tag or commit hash of the model repository")
    return value


served_model_name = matching(
    _SERVED_NAME,
    256,
    "must be a model name clients send: letters, digits and '._:/@+-', starting with a letter or digit",
)


# NCCL_SOCKET_IFNAME / GLOO_SOCKET_IFNAME: interface names or prefixes, comma-separated,
# optionally led by '^' (exclude) or '=' (exact).
_NETWORK_INTERFACES = re.compile(r"[=^]?[A-Za-z0-9_.:-]+(,[A-Za-z0-9_.:-]+)*")
network_interfaces = matching(
    _NETWORK_INTERFACES, 256, "must be network interface names such as 'eth0', 'ib0,ib1' or '^lo,docker'"
)


# Gateway API: a listener hostname (a DNS name, optionally led by a '*.' wildcard) and
# an HTTPRoute path prefix (RFC 3986 path characters, as the Gateway API CRD's pattern).
_HOSTNAME = re.compile(rf"(\*\.)?{_DNS_LABEL}(\.{_DNS_LABEL})*")
hostname = matching(
    _HOSTNAME, DNS_SUBDOMAIN_MAX, "must be a lowercase DNS name, optionally starting with '*.'"
)
_HTTP_PATH = re.compile(r"(/([-A-Za-z0-9._~!$&'()*+,;=:@]|%[0-9a-fA-F]{2})+)+")
_http_path_syntax = matching(
    _HTTP_PATH, 1024, "must be an HTTP path such as '/chat': '/' then URL path characters"
)


def http_path_prefix(value: str) -> str:
    absolute_path(value)
    return _http_path_syntax(value)


# --- the types the schema uses --------------------------------------------------------

DnsLabel = Annotated[str, AfterValidator(dns_1123_label)]
Dns1035Label = Annotated[str, AfterValidator(dns_1035_label)]
DnsSubdomain = Annotated[str, AfterValidator(dns_1123_subdomain)]
LabelKey = Annotated[str, AfterValidator(label_key)]
LabelValue = Annotated[str, AfterValidator(label_value)]
TaintKey = Annotated[str, AfterValidator(taint_key)]
EnvVarName = Annotated[str, AfterValidator(env_var_name)]
SecretDataKey = Annotated[str, AfterValidator(secret_data_key)]
Quantity = Annotated[str, BeforeValidator(_number_to_quantity), AfterValidator(quantity)]
PositiveQuantity = Annotated[str, BeforeValidator(_number_to_quantity), AfterValidator(positive_quantity)]
CpuQuantity = Annotated[str, BeforeValidator(_number_to_quantity), AfterValidator(cpu_quantity)]
ByteSize = Annotated[str, BeforeValidator(_number_to_quantity), AfterValidator(byte_size)]
AbsolutePath = Annotated[str, AfterValidator(absolute_path)]
PinnedImage = Annotated[str, AfterValidator(pinned_image)]
Duration = Annotated[str, AfterValidator(prometheus_duration)]
MetricName = Annotated[str, AfterValidator(metric_name)]
HttpUrl = Annotated[str, AfterValidator(http_url)]
ChartRepository = Annotated[str, AfterValidator(chart_repository)]
ChartVersion = Annotated[str, AfterValidator(chart_version)]
ModelId = Annotated[str, AfterValidator(model_id)]
GitRevision = Annotated[str, AfterValidator(git_revision)]
ServedModelName = Annotated[str, AfterValidator(served_model_name)]
NetworkInterfaces = Annotated[str, AfterValidator(network_interfaces)]
Hostname = Annotated[str, AfterValidator(hostname)]
HttpPathPrefix = Annotated[str, AfterValidator(http_path_prefix)]
