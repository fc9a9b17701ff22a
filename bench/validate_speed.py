"""How fast `obsgen validate` checks PromQL, against `promtool check rules` on the same input.

10,000 valid, realistic expressions (vLLM, DCGM and node-exporter metrics from the catalog:
latency quantiles, rates with by-clauses, ratios, comparisons), generated from a fixed seed,
become one rule file of recording rules. Timed, each the median of 5 runs after a warm-up:

- obsgen in-process: generator.checks.runner.validate_documents over the parsed documents
  (parsing and every offline check), the figure the 20,000 expressions/s target is about;
- the same with Python's cyclic GC paused (informational: what the runner could gain);
- obsgen as a process: `python -m generator validate FILE` (start-up, reading, report);
- promtool: `promtool check rules FILE` (Prometheus' own parser, as a process).

Run: `python bench/validate_speed.py` (add --json for machine-readable results).
"""

from __future__ import annotations

import gc
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.catalog import Metric, load_catalog  # noqa: E402
from generator.checks.documents import read_paths  # noqa: E402
from generator.checks.registry import ALL_CHECKS  # noqa: E402
from generator.checks.runner import validate_documents  # noqa: E402
from generator.settings import load_settings  # noqa: E402

EXPRESSIONS = 10_000
RUNS = 5
SEED = 20_240_611
TARGET_PER_SECOND = 20_000
EXPORTERS = ("vllm", "dcgm-exporter", "node-exporter")
GENERIC_LABELS = ("instance", "job", "namespace")
VALUES = ("llama-3-8b", "mistral-7b", "trainer-0", "ml", "gpu-node-1:9400", "0", "1")
WINDOWS = ("2m", "5m", "10m", "15m", "30m", "1h")


def _usable(metric: Metric) -> bool:
    """Current metrics only, so the expressions are clean as well as valid."""
    return metric.exporter in EXPORTERS and not (
        metric.removed_in
        or metric.deprecated_in
        or metric.renamed_to
        or metric.added_in
        or metric.uncertain
    )


class _Generator:
    """Realistic expressions from the catalog, deterministic for a seed."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        metrics = [m for m in load_catalog().metrics if _usable(m)]
        self.counters = [m for m in metrics if m.type == "counter"]
        self.gauges = [m for m in metrics if m.type == "gauge"]
        self.histograms = [m for m in metrics if m.type == "histogram"]

    def labels(self, metric: Metric, count: int) -> list[str]:
        pool = sorted(set(metric.labels) | set(GENERIC_LABELS))
        return self.random.sample(pool, min(count, len(pool)))

    def selector(self, metric: Metric, name: str = "") -> str:
        matchers = []
        for label in self.labels(metric, self.random.choice((0, 0, 1, 2))):
            op = self.random.choice(("=", "=", "=~", "!="))
            value = self.random.choice(VALUES)
            matchers.append(f'{label}{op}"{value}.*"' if op == "=~" else f'{label}{op}"{value}"')
        inner = ", ".join(matchers)
        return f"{name or metric.name}{{{inner}}}" if inner else name or metric.name

    def by(self, metric: Metric, extra: tuple[str, ...] = ()) -> str:
        labels = [*extra, *self.labels(metric, self.random.choice((1, 1, 2, 3)))]
        return "by (" + ", ".join(dict.fromkeys(labels)) + ")"

    def window(self) -> str:
        return self.random.choice(WINDOWS)

    def counter_rate(self, metric: Metric | None = None) -> str:
        metric = metric or self.random.choice(self.counters)
        function = self.random.choice(("rate", "rate", "irate", "increase"))
        return f"sum {self.by(metric)} ({function}({self.selector(metric)}[{self.window()}]))"

    def quantile(self) -> str:
        metric = self.random.choice(self.histograms)
        q = self.random.choice(("0.5", "0.9", "0.95", "0.99"))
        bucket = self.selector(metric, metric.name + "_bucket")
        return (
            f"histogram_quantile({q}, sum {self.by(metric, ('le',))} "
            f"(rate({bucket}[{self.window()}])))"
        )

    def histogram_mean(self) -> str:
        metric = self.random.choice(self.histograms)
        by, window = self.by(metric), self.window()
        return (
            f"sum {by} (rate({metric.name}_sum[{window}])) / "
            f"sum {by} (rate({metric.name}_count[{window}]))"
        )

    def gauge(self) -> str:
        metric = self.random.choice(self.gauges)
        aggregation = self.random.choice(("avg", "max", "min", "sum"))
        if self.random.random() < 0.3:
            function = self.random.choice(("avg_over_time", "max_over_time", "min_over_time"))
            inner = f"{function}({self.selector(metric)}[{self.window()}])"
        else:
            inner = self.selector(metric)
        return f"{aggregation} {self.by(metric)} ({inner})"

    def ratio(self) -> str:
        left, right = self.random.sample(self.counters, 2)
        window = self.window()
        on = self.random.choice(("instance", "job"))
        return (
            f"sum by ({on}) (rate({self.selector(left)}[{window}])) / "
            f"sum by ({on}) (rate({self.selector(right)}[{window}]))"
        )

    def comparison(self) -> str:
        threshold = self.random.choice(("0", "0.8", "0.95", "50", "85", "1e3"))
        operator = self.random.choice((">", ">=", "<", "=="))
        return f"{self.gauge()} {operator} {threshold}"

    def top(self) -> str:
        return f"topk({self.random.randint(1, 10)}, {self.counter_rate()})"

    def expression(self) -> str:
        kind: Callable[[], str] = self.random.choice(
            (
                self.counter_rate,
                self.counter_rate,
                self.quantile,
                self.quantile,
                self.histogram_mean,
                self.gauge,
                self.gauge,
                self.ratio,
                self.comparison,
                self.top,
            )
        )
        return kind()


def expressions(count: int = EXPRESSIONS, seed: int = SEED) -> list[str]:
    """`count` distinct valid expressions, the same for the same seed."""
    generator = _Generator(seed)
    found: dict[str, None] = {}
    while len(found) < count:
        found.setdefault(generator.expression())
    return list(found)


def rule_file(exprs: list[str], path: Path) -> Path:
    """One group of recording rules; JSON is YAML, and JSON escaping is safe."""
    rules = [{"record": f"bench:expression_{i}:value", "expr": e} for i, e in enumerate(exprs)]
    path.write_text(json.dumps({"groups": [{"name": "bench", "rules": rules}]}), encoding="utf-8")
    return path


def _timed(function: Callable[[], Any], runs: int = RUNS) -> list[float]:
    """Wall-clock seconds of each of `runs` calls, after one warm-up call."""
    function()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return samples


def _rate(name: str, count: int, samples: list[float], **parameters: Any) -> dict[str, Any]:
    rates = sorted(count / s for s in samples)
    return {
        "name": name,
        "parameters": {"expressions": count, "runs": len(samples), **parameters},
        "median": statistics.median(rates),
        "min": rates[0],
        "max": rates[-1],
        "unit": "expressions/s",
    }


def _without_gc(function: Callable[[], Any]) -> Any:
    """Calls `function` with the cyclic garbage collector paused (it is a third of the time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return function()
    finally:
        if enabled:
            gc.enable()


def _process(command: list[str], ok: tuple[int, ...]) -> Callable[[], None]:
    def run() -> None:
        completed = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
        if completed.returncode not in ok:
            raise RuntimeError(f"{command[0]} exited {completed.returncode}: {completed.stderr}")

    return run


def run(count: int = EXPRESSIONS) -> list[dict[str, Any]]:
    """Every figure of this benchmark, one result object each."""
    settings = load_settings(ROOT / "obsgen.yaml")
    exprs = expressions(count)
    offline = [check.id for check in ALL_CHECKS if not check.live]
    results = []
    with tempfile.TemporaryDirectory(prefix="obsgen-bench-validate-") as scratch:
        path = rule_file(exprs, Path(scratch) / "bench.rules.yaml")
        documents, unreadable = read_paths([path])
        assert not unreadable, unreadable
        problems = validate_documents(documents, settings)
        found = Counter(p.check for p in problems)
        assert "promql/syntax" not in found, "the benchmark's expressions must all be valid"
        in_process = _rate(
            "obsgen validate_documents (in-process)",
            count,
            _timed(lambda: validate_documents(documents, settings)),
            checks=len(offline),
            check_ids=offline,
            problems=dict(found),
            target=TARGET_PER_SECOND,
        )
        paused = _rate(
            "obsgen validate_documents (in-process, gc paused)",
            count,
            _timed(lambda: _without_gc(lambda: validate_documents(documents, settings))),
            note="informational: Python's cyclic GC paused during the call",
        )
        command = [sys.executable, "-m", "generator", "validate", "--config"]
        process = _rate(
            "obsgen validate FILE (process)",
            count,
            _timed(_process([*command, str(ROOT / "obsgen.yaml"), str(path)], (0, 1))),
        )
        results += [in_process, paused, process]
        promtool = shutil.which("promtool")
        if promtool:
            reference = _rate(
                "promtool check rules FILE (process)",
                count,
                _timed(_process([promtool, "check", "rules", str(path)], (0,))),
            )
            for result in results:
                result["ratio"] = result["median"] / reference["median"]
                result["compared_to"] = reference["name"]
            results.append(reference)
    return results


def table(results: list[dict[str, Any]]) -> str:
    lines = [f"{'benchmark':50} {'median':>10} {'min':>10} {'max':>10}  unit           ratio"]
    for result in results:
        ratio = f"{result['ratio']:.2f}x" if "ratio" in result else ""
        lines.append(
            f"{result['name']:50} {result['median']:10,.0f} {result['min']:10,.0f} "
            f"{result['max']:10,.0f}  {result['unit']:14} {ratio}"
        )
    head = results[0]
    lines.append(
        f"\n{head['parameters']['expressions']:,} expressions, {head['parameters']['checks']} "
        f"offline checks; target {TARGET_PER_SECOND:,} expressions/s: "
        + ("met" if head["median"] >= TARGET_PER_SECOND else "NOT met")
    )
    if head["parameters"]["problems"]:
        lines.append(f"problems found in the generated rules: {head['parameters']['problems']}")
    return "\n".join(lines)


if __name__ == "__main__":
    figures = run()
    print(json.dumps(figures, indent=2) if "--json" in sys.argv[1:] else table(figures))
