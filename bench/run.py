"""`make bench`: every benchmark of the project in one run, then one table.

Each row: the measure, the bound it is compared with, the ratio (or value) and pass/fail.
Both sides of each ratio are measured in this same run, side by side.
"""

from __future__ import annotations

import sys

from bench.bench_preflight import format_measures, run_benchmark
from bench.bench_reality import run_reality_benchmarks
from bench.bench_render import run_render_benchmark
from bench.bench_workflow import run_help_benchmark, run_noop_apply_benchmark, run_status_benchmark


def main() -> int:
    rows = []
    preflight = run_benchmark(runs=5)  # the best of 5, as timeit reports: other processes only ever add time
    print(format_measures(preflight), flush=True)
    rows += [
        ("preflight 100k users wall time", f"{preflight['seconds']:.2f} s",
         f"{preflight['lower_bound_seconds']:.2f} s × {preflight['ratio_target']}",
         f"{preflight['ratio']:.2f}", preflight["ratio"] <= preflight["ratio_target"]),
        ("preflight peak memory", f"{preflight['peak_memory_mb']:.0f} MB", f"{preflight['memory_target_mb']:g} MB",
         f"{preflight['peak_memory_mb'] / preflight['memory_target_mb']:.2f}",
         preflight["peak_memory_mb"] < preflight["memory_target_mb"]),
        ("preflight per-user requests", str(preflight["per_user_requests"]), "0", "-",
         preflight["per_user_requests"] == 0),
    ]
    for measures in (run_noop_apply_benchmark(latency_ms=20.0), run_status_benchmark(latency_ms=20.0),
                     run_help_benchmark()):
        print(f"{measures['measure']}: {measures['value_s']:.3f} s vs {measures['bound_s']:.3f} s", flush=True)
        rows.append((measures["measure"], f"{measures['value_s']:.3f} s",
                     f"{measures['bound_s']:.3f} s × {measures['target']}", f"{measures['ratio']:.2f}", measures["ok"]))
    render = run_render_benchmark()
    print(f"{render['measure']}: first {render['first_s']:.3f} s ({render['first_cpu_s']:.3f} s CPU), again "
          f"{render['again_s']:.3f} s ({render['again_cpu_s']:.3f} s CPU)", flush=True)
    rows.append((render["measure"], f"{render['value_s']:.3f} s", f"{render['bound_s']:.3f} s",
                 f"{render['ratio']:.2f}", render["ok"]))
    # The reality profile's figures are reported, not judged: the lag is the profile's (bench_reality.py).
    for measures in run_reality_benchmarks(rounds=3):
        print(f"{measures['measure']}: {measures['value_s']:.1f} s vs {measures['bound_s']:.1f} s", flush=True)
        bound = f"{measures['bound_s']:.1f} s"
        if "bare_runs" in measures:  # a bare apply that never got there gives a lower bound only
            bound += (f" ({measures['bare_runs']} runs)" if measures["bare_converged"]
                      else f" (at least: not done in {measures['bare_runs']} runs)")
        rows.append((measures["measure"], f"{measures['value_s']:.1f} s", bound, f"{measures['ratio']:.2f}", True))
    headers = ("measure", "measured", "bound", "ratio", "result")
    table = [headers, *[(m, v, b, r, ("reported" if m.startswith("reality") else "pass") if ok else "FAIL")
                        for m, v, b, r, ok in rows]]
    widths = [max(len(row[i]) for row in table) for i in range(len(headers))]
    print()
    for index, row in enumerate(table):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        if index == 0:
            print("  ".join("-" * width for width in widths))
    return 0 if all(ok for *_, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
