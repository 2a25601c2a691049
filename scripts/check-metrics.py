#!/usr/bin/env python3
"""Parses Prometheus text exposition with prometheus_client's own parser (the reference Python
client), and checks what dashboards and alert rules use against it.

    check-metrics.py parse FILE...            # prints JSON: {"families": {name: {"type", "samples"}}}
    check-metrics.py uses FILE...             # prints JSON: the podio_mirror_* names FILEs use
                                              # (Grafana JSON: every "expr"; rules YAML: every expr,
                                              # after checking the file's structure)

Exit 0 on success, 1 when a file does not parse, 3 when prometheus_client (or PyYAML) is
missing and cannot be installed (the caller skips, saying so). Installs prometheus-client with
pip when it is missing.
"""
import json
import re
import subprocess
import sys

NAME = re.compile(r"\bpodio_mirror_[a-z0-9_]+\b")


def need(module, package):
    try:
        return __import__(module)
    except ImportError:
        pass
    try:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", package], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        return __import__(module)
    except Exception as error:  # no pip, no network, no permission
        print(f"skip: {package} is not installed and could not be installed ({error})", file=sys.stderr)
        sys.exit(3)


def parse(paths):
    need("prometheus_client", "prometheus-client")
    from prometheus_client.parser import text_string_to_metric_families
    families = {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        try:
            for family in text_string_to_metric_families(text):
                entry = families.setdefault(family.name, {"type": family.type, "samples": []})
                for sample in family.samples:
                    entry["samples"].append([sample.name, sample.labels, sample.value])
        except Exception as error:
            print(f"{path}: does not parse: {error}", file=sys.stderr)
            sys.exit(1)
    print(json.dumps({"families": families}, sort_keys=True))


def exprs_of_dashboard(document):
    found = []
    if isinstance(document, dict):
        for key, value in document.items():
            if key == "expr" and isinstance(value, str):
                found.append(value)
            else:
                found += exprs_of_dashboard(value)
    elif isinstance(document, list):
        for value in document:
            found += exprs_of_dashboard(value)
    return found


def exprs_of_rules(path, document):
    groups = document.get("groups") if isinstance(document, dict) else None
    if not isinstance(groups, list) or not groups:
        raise ValueError("no groups")
    found = []
    for group in groups:
        if not isinstance(group.get("name"), str) or not isinstance(group.get("rules"), list):
            raise ValueError("a group lacks its name or rules")
        for rule in group["rules"]:
            if not (isinstance(rule.get("alert"), str) or isinstance(rule.get("record"), str)):
                raise ValueError(f"a rule of {group['name']} is neither an alert nor a record")
            if not isinstance(rule.get("expr"), str):
                raise ValueError(f"rule {rule.get('alert') or rule.get('record')} has no expr")
            found.append(rule["expr"])
    return found


def uses(paths):
    names = set()
    for path in paths:
        try:
            if path.endswith(".json"):
                with open(path, encoding="utf-8") as f:
                    exprs = exprs_of_dashboard(json.load(f))
            else:
                yaml = need("yaml", "pyyaml")
                with open(path, encoding="utf-8") as f:
                    exprs = exprs_of_rules(path, yaml.safe_load(f))
        except SystemExit:
            raise
        except Exception as error:
            print(f"{path}: does not parse: {error}", file=sys.stderr)
            sys.exit(1)
        if not exprs:
            print(f"{path}: no expressions", file=sys.stderr)
            sys.exit(1)
        for expr in exprs:
            names.update(NAME.findall(expr))
    print(json.dumps(sorted(names)))


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("parse", "uses"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    (parse if sys.argv[1] == "parse" else uses)(sys.argv[2:])
