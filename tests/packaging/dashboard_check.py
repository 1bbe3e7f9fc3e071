#!/usr/bin/env python3
"""Checks a Grafana dashboard's PromQL against real /metrics scrapes.

usage: dashboard_check.py DASHBOARD.json SCRAPE.txt...

For every panel target's expression:
  - every ntsd_* metric it selects is exposed by one of the scrapes;
  - every label it matches on ({reason=~"a|b"}) exists on that metric, and
    every alternative of a plain =~ / = value is a value the binaries expose
    (so a renamed reason cannot rot a panel into an empty line);
  - every label it aggregates by ("sum by (worker)") exists on one of the
    metrics the expression selects (le counts for histograms).
Prints one line per problem and exits 1 if there is any.
"""
import json
import re
import sys

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+\S+')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
SELECTOR = re.compile(r'\b(ntsd_[a-z0-9_]+)\s*(\{[^}]*\})?')
MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"')
BY = re.compile(r'\bby\s*\(([^)]*)\)')
# Labels Prometheus attaches to every series it scrapes (the target's).
TARGET_LABELS = {"instance", "job"}


def load_scrapes(paths):
    series = {}  # metric -> {label -> set(values)}
    for p in paths:
        for line in open(p, encoding="utf-8"):
            if line.startswith("#") or not line.strip():
                continue
            m = SAMPLE.match(line)
            if not m:
                continue
            labels = series.setdefault(m.group(1), {})
            for k, v in LABEL.findall(m.group(2) or ""):
                labels.setdefault(k, set()).add(v)
    return series


def targets(dash):
    for p in dash.get("panels", []):
        for sub in [p] + p.get("panels", []):
            for t in sub.get("targets", []):
                yield sub.get("title", "?"), t["expr"]


def main():
    dash = json.load(open(sys.argv[1], encoding="utf-8"))
    series = load_scrapes(sys.argv[2:])
    problems, checked, metrics = [], 0, set()
    for title, expr in targets(dash):
        checked += 1
        selected = []
        for name, sel in SELECTOR.findall(expr):
            metrics.add(name)
            if name not in series:
                problems.append(f"{title}: {name} is not exposed by any binary")
                continue
            selected.append(name)
            for label, op, value in MATCHER.findall(sel or ""):
                if label in TARGET_LABELS:
                    continue
                have = series[name].get(label)
                if have is None:
                    problems.append(f"{title}: {name} has no label {label}")
                    continue
                if op in ("=", "=~") and re.fullmatch(r"[A-Za-z0-9_|.-]+", value) and ".*" not in value:
                    for alt in value.split("|"):
                        if alt not in have:
                            problems.append(f"{title}: {name}{{{label}=\"{alt}\"}} is never exposed "
                                            f"(values: {', '.join(sorted(have))})")
        for group in BY.findall(expr):
            for label in [x.strip() for x in group.split(",") if x.strip()]:
                if label not in TARGET_LABELS and label != "le" and not any(label in series[n] for n in selected):
                    problems.append(f"{title}: no metric of `{expr}` has the label {label} it aggregates by")
    for p in problems:
        print("FAIL:", p)
    print(f"{checked} expressions, {len(metrics)} metrics checked against {len(series)} exposed: "
          f"{len(problems)} problem(s)")
    return 1 if problems or checked == 0 else 0


sys.exit(main())
