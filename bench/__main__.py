"""Run the benchmarks: ``.venv/bin/python -m bench [--runs N] [--only NAME ...]``.

Prints each figure beside its target and writes every run's numbers to
``var/bench/results-<time>.json``. docs/benchmarks.md describes the method.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import statistics
import sys
from typing import Any

from bench import ingest, pipeline
from bench.common import ROOT

NAMES = ("ingest", "pipeline", "calls", "rate_limit", "latency")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--runs", type=int, default=3, help="runs per figure; medians are reported"
    )
    parser.add_argument(
        "--only", nargs="+", choices=NAMES, help="run only these benchmarks"
    )
    parser.add_argument(
        "--pipeline-orders",
        type=int,
        default=120,
        help="orders per pipeline run with one worker (four workers get four times)",
    )
    parser.add_argument(
        "--ingest-seconds", type=float, default=10.0, help="seconds per wrk run"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    selected = args.only or NAMES
    results: dict[str, Any] = {"started": dt.datetime.now(dt.UTC).isoformat()}

    if "ingest" in selected:
        results["ingest"] = ingest.run(runs=args.runs, duration=args.ingest_seconds)
        report_ingest(results["ingest"])
    if "pipeline" in selected:
        results["pipeline"] = {
            str(workers): [
                pipeline.pipeline(workers, args.pipeline_orders * workers)
                for _ in range(args.runs)
            ]
            for workers in (1, 4)
        }
        report_pipeline(results["pipeline"])
    if "calls" in selected:
        results["calls"] = pipeline.calls_per_order()
        print(f"calls per order: {json.dumps(results['calls'])}")
    if "rate_limit" in selected:
        results["rate_limit"] = [pipeline.rate_limit_use() for _ in range(args.runs)]
        report_rate_limit(results["rate_limit"])
    if "latency" in selected:
        results["latency"] = [pipeline.end_to_end_latency() for _ in range(args.runs)]
        report_latency(results["latency"])

    folder = ROOT / "var" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    target = folder / f"results-{stamp}.json"
    target.write_text(json.dumps(results, indent=2))
    print(f"results written to {target.relative_to(ROOT)}")
    return 0


def median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(run[key] for run in runs))


def report_ingest(result: dict[str, Any]) -> None:
    service, bare = result["runs"]["service"], result["runs"]["bare"]
    rate = median(service, "requests_per_second")
    bare_rate = median(bare, "requests_per_second")
    p99 = median(service, "p99_ms")
    bare_p99 = median(bare, "p99_ms")
    p50 = median(service, "p50_ms")
    bare_p50 = median(bare, "p50_ms")
    print(
        f"ingest: {rate:.0f} webhooks/s (bare {bare_rate:.0f}), ratio "
        f"{rate / bare_rate:.2f} (target >= 0.6); p50 {p50:.1f} ms "
        f"(bare {bare_p50:.1f}); p99 {p99:.1f} ms (bare {bare_p99:.1f}), "
        f"ratio {p99 / bare_p99:.2f} (target <= 2); web peak RSS "
        f"{result['web_peak_rss_mb']:.0f} MB"
    )


def report_pipeline(result: dict[str, list[dict[str, Any]]]) -> None:
    one_worker = median(result["1"], "orders_per_second")
    four_workers = median(result["4"], "orders_per_second")
    ideal = result["1"][0]["ideal_orders_per_second"]
    measured = median(result["1"], "measured_ideal_orders_per_second")
    print(
        f"pipeline: 1 worker {one_worker:.2f} orders/s, ideal {ideal:.2f} from the "
        f"latencies (ratio {one_worker / ideal:.2f}), {measured:.2f} measured with "
        f"a bare client (ratio {one_worker / measured:.2f}; target >= 0.8); "
        f"4 workers {four_workers:.2f} orders/s, "
        f"{four_workers / one_worker:.2f} x one (target >= 3.2); worker peak RSS "
        f"{max(r['worker_peak_rss_mb'] for r in result['4']):.0f} MB"
    )


def report_rate_limit(runs: list[dict[str, Any]]) -> None:
    per_window = median(runs, "imported_per_30s")
    ceiling = runs[0]["ceiling_per_30s"]
    print(
        f"rate limit: {per_window:.1f} orders per 30 s, ceiling {ceiling:.0f}, ratio "
        f"{per_window / ceiling:.2f} (target >= 0.9); 429s "
        f"{[r['answered_429'] for r in runs]}"
    )


def report_latency(runs: list[dict[str, Any]]) -> None:
    print(
        f"end-to-end at 20 orders/s: p50 {median(runs, 'p50_ms'):.0f} ms, p99 "
        f"{median(runs, 'p99_ms'):.0f} ms; worker peak RSS "
        f"{max(r['worker_peak_rss_mb'] for r in runs):.0f} MB, web "
        f"{max(r['web_peak_rss_mb'] for r in runs):.0f} MB"
    )


if __name__ == "__main__":
    sys.exit(main())
