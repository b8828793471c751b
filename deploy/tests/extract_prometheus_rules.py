#!/usr/bin/env python3
"""Write the rule groups of a PrometheusRule manifest as a plain Prometheus rules file.

The PrometheusRule is the single source of truth; promtool only understands the plain
format, so CI extracts `spec` before `promtool check rules` / `promtool test rules`.

usage: extract_prometheus_rules.py PROMETHEUSRULE.yaml OUT.rules.yaml
"""
import sys

import yaml


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d and d.get("kind") == "PrometheusRule"]
    if len(docs) != 1:
        print(f"expected exactly one PrometheusRule in {sys.argv[1]}", file=sys.stderr)
        return 1
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        yaml.safe_dump({"groups": docs[0]["spec"]["groups"]}, f, sort_keys=False, width=1000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
