"""How close config/sizing.py comes to vLLM's own start-up accounting.

For every row of ../shared/data/vllm-kv-calibration.csv (vLLM 0.19 start-up logs on
H100, llm-d-planner PR #205) the row's engine arguments go through the same sizing the
preview-time fit check uses (`sizing.pod_shape` + `sizing.pod_capacity`, catalog model,
catalog GPU, vLLM's default scheduler limits, no user margin), and the estimated KV
tokens are compared with the logged "GPU KV cache size: N tokens". Per row: estimated
and logged KV tokens, signed and absolute error, and each memory term estimated vs
logged (GiB per GPU). Then the median and maximum absolute error and the largest
over-estimate (the unsafe direction: an over-estimate accepts configs vLLM refuses).

Usage: .venv/bin/python bench/sizing_accuracy.py [CSV]
"""

from __future__ import annotations

import csv
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config import sizing  # noqa: E402
from config.catalog import BUILTIN_GPUS, BUILTIN_MODELS  # noqa: E402

CALIBRATION_CSV = ROOT.parent / "shared" / "data" / "vllm-kv-calibration.csv"
# Every calibration row ran on one H100 80GB HBM3 per rank.
GPU = "NVIDIA-H100-80GB-HBM3"


@dataclass(frozen=True)
class RowResult:
    model: str
    tensor_parallel_size: int
    estimated_tokens: int
    logged_tokens: int
    capacity: sizing.PodCapacity
    row: dict[str, str]

    @property
    def error(self) -> float:
        """Signed relative error of the KV token estimate (positive: over-estimate)."""
        return (self.estimated_tokens - self.logged_tokens) / self.logged_tokens


@dataclass(frozen=True)
class Summary:
    median_abs_error: float
    max_abs_error: float
    max_over_estimate: float


def load_rows(path: Path = CALIBRATION_CSV) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def estimate(row: dict[str, str]) -> RowResult:
    """Size one calibration row exactly as a pool with the same arguments is sized."""
    quantization = None if row["quantization"] == "None" else row["quantization"]
    shape = sizing.pod_shape(
        BUILTIN_MODELS[row["model_id"]],
        BUILTIN_GPUS[GPU],
        max_model_len=int(row["max_model_len"]),
        gpu_memory_utilization=float(row["gpu_memory_utilization"]),
        tensor_parallel_size=int(row["tensor_parallel_size"]),
        pipeline_parallel_size=int(row["pipeline_parallel_size"]),
        dtype=row["dtype"].removeprefix("torch."),
        quantization=quantization,
        kv_cache_dtype=row["kv_cache_dtype"],
    )
    capacity = sizing.pod_capacity(shape)
    return RowResult(
        model=row["model_id"],
        tensor_parallel_size=shape.tensor_parallel_size,
        estimated_tokens=capacity.kv_cache_tokens,
        logged_tokens=int(row["kv_tokens"]),
        capacity=capacity,
        row=row,
    )


def summarize(results: list[RowResult]) -> Summary:
    errors = [r.error for r in results]
    return Summary(
        median_abs_error=statistics.median(abs(e) for e in errors),
        max_abs_error=max(abs(e) for e in errors),
        max_over_estimate=max(errors),
    )


def _terms(result: RowResult) -> str:
    """Estimated/logged GiB per GPU of weights, activation, non-torch and KV."""
    capacity, row = result.capacity, result.row
    pairs = [
        (capacity.weight_bytes_per_gpu, row["model_loading_gib_per_gpu"]),
        (capacity.activation_bytes, row["activation_gib"]),
        (capacity.non_torch_bytes, row["non_torch_gib"]),
        (capacity.kv_cache_bytes_per_gpu, row["available_kv_cache_gib_per_gpu"]),
    ]
    return "  ".join(f"{est / sizing.GIB:5.2f}/{float(logged):5.2f}" for est, logged in pairs)


def main(argv: list[str]) -> None:
    results = [estimate(row) for row in load_rows(Path(argv[0]) if argv else CALIBRATION_CSV)]
    print(f"vLLM {sizing.PINNED_VLLM_RELEASE} KV cache: estimated vs logged, {len(results)} rows, GPU {GPU}")
    print(
        f"{'model':<60} {'TP':>2} {'estimated':>10} {'logged':>10} {'error':>7} {'|error|':>7}  "
        "GiB/GPU est/log: weights      activation   non-torch    KV"
    )
    for r in results:
        print(
            f"{r.model:<60} {r.tensor_parallel_size:>2} {r.estimated_tokens:>10,} {r.logged_tokens:>10,} "
            f"{r.error:>+7.2%} {abs(r.error):>7.2%}  {_terms(r)}"
        )
    summary = summarize(results)
    print(
        f"median |error| {summary.median_abs_error:.2%}   max |error| {summary.max_abs_error:.2%}   "
        f"max over-estimate {summary.max_over_estimate:+.2%}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
