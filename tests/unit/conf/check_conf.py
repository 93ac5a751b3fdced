#!/usr/bin/python3
"""conf/grafana/dpdk-twamp.json and conf/prometheus/twamp-alerts.yml, checked offline:

- the dashboard is valid JSON; every panel target and template query is PromQL that
  `promtool check rules` accepts (each written as a recording rule, its Grafana variables
  replaced by values);
- the alert rules pass `promtool check rules`, and `promtool test rules` runs their unit tests
  (conf/prometheus/twamp-alerts.test.yml), in which every alert is tested;
- every twamp_reflector_* name the two files use is a family src/metrics/prometheus.cpp
  exports (the live scrape is checked by ops_tests.py's dashboard_names_in_scrape);
- every panel target is shown in a unit of its kind (data, time, date, count) and a timestamp
  that is 0 before its first event is mapped or filtered; TwampDropsRising leaves out every
  drop reason include/twamp/proto/drop_reason.hpp documents as "not an error"; the panel
  expressions of PANEL_TESTS give the samples they should (promtool test rules).

Exit 0: all good; 1: a finding (printed); promtool missing is a finding (scripts/setup.sh
installs Debian's `prometheus`)."""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

DASHBOARD = "conf/grafana/dpdk-twamp.json"
ALERTS = "conf/prometheus/twamp-alerts.yml"
ALERT_TESTS = "conf/prometheus/twamp-alerts.test.yml"
PREFIX = "twamp_reflector_"
# Grafana's variables, replaced so that promtool can parse the expression.
VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h",
             "$instance": ".*", "$reflector": ".*"}
NAME_RE = re.compile(r"\b(" + PREFIX + r"[a-zA-Z0-9_]+)")
HIST_SUFFIXES = ("_bucket", "_sum", "_count")


def dashboard_exprs(dash):
    """(where, expr) of every panel target (rows' nested panels too) and template query."""
    out = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                if t.get("expr"):
                    out.append((f"panel {p.get('title')!r} {t.get('refId')}", t["expr"]))
            walk(p.get("panels", []))
    walk(dash.get("panels", []))
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        m = re.fullmatch(r"\s*label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\)\s*", q or "")
        if m:
            out.append((f"variable {v['name']}", m[1]))
        elif v.get("type") == "query":
            out.append((f"variable {v['name']}", q))
    return out


PANEL_TYPES = {"row", "timeseries", "stat", "table", "gauge", "bargauge", "state-timeline"}


def layout_problems(dash):
    """What Grafana would import wrongly: unknown panel types, panels off the 24-column grid
    or on top of each other, a target without its refId or not on the dashboard's data source
    variable, a variable the targets use that the dashboard does not define."""
    out = []
    cells = {}
    names = {v["name"] for v in dash.get("templating", {}).get("list", [])}
    if "datasource" not in names:
        out.append(f"{DASHBOARD}: no datasource variable")
    for p in dash["panels"]:
        where = f"{DASHBOARD}: panel {p.get('title')!r}"
        if p.get("type") not in PANEL_TYPES:
            out.append(f"{where}: type {p.get('type')!r}")
        g = p.get("gridPos", {})
        if not all(isinstance(g.get(k), int) for k in "xywh") or g["x"] < 0 or \
                g["x"] + g["w"] > 24 or g["w"] <= 0 or g["h"] <= 0:
            out.append(f"{where}: gridPos {g}")
            continue
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                if (x, y) in cells:
                    out.append(f"{where}: overlaps panel {cells[(x, y)]!r} at {x},{y}")
                    break
                cells[(x, y)] = p.get("title")
            else:
                continue
            break
        if p.get("type") == "row":
            continue
        refs = [t.get("refId") for t in p.get("targets", [])]
        if not refs or None in refs or len(refs) != len(set(refs)):
            out.append(f"{where}: targets' refIds {refs}")
        for t in [p] + p.get("targets", []):
            if t.get("datasource", {}).get("uid") != "${datasource}":
                out.append(f"{where}: data source {t.get('datasource')} is not ${{datasource}}")
        for t in p.get("targets", []):
            for v in re.findall(r"\$([A-Za-z_]+)", t.get("expr", "")):
                if not v.startswith("__") and v not in names:
                    out.append(f"{where}: ${v} is no variable of the dashboard")
    return out


# What a panel's unit may be for what its expression shows: a family with bytes or octets in its
# name is data, one in seconds is time (a *_timestamp_seconds one a date), anything else counts
# or rates of counts. Review of issue 19: link changes were plotted on a bit/s axis.
UNIT_CLASSES = {
    "data": {"bps", "Bps", "bits", "bytes", "decbits", "decbytes", "binBps", "binbps"},
    "time": {"s", "ms", "us", "ns", "dtdurations", "dtdurationms"},
    "date": {"dateTimeAsIso", "dateTimeAsLocal", "dateTimeAsUS", "dateTimeFromNow"},
    "count": {None, "none", "short", "pps", "ops", "cps", "reqps", "percentunit"},
}


def unit_class(expr):
    names = NAME_RE.findall(expr)
    if any("_bytes" in n or "_octets" in n for n in names):
        return "data"
    if any(n.endswith("_timestamp_seconds") for n in names):
        return "date"
    if any(re.search(r"_seconds(_bucket|_sum|_count)?$", n) for n in names):
        return "time"
    return "count"


def target_config(panel, ref_id):
    """The unit and value mappings Grafana applies to a target's fields: the panel's defaults,
    then every override that matches the target's refId (byFrameRefID)."""
    d = panel.get("fieldConfig", {}).get("defaults", {})
    unit, mappings = d.get("unit"), list(d.get("mappings", []))
    for o in panel.get("fieldConfig", {}).get("overrides", []):
        if o.get("matcher") != {"id": "byFrameRefID", "options": ref_id}:
            continue
        for prop in o.get("properties", []):
            if prop.get("id") == "unit":
                unit = prop.get("value")
            elif prop.get("id") == "mappings":
                mappings = list(prop.get("value", []))
    return unit, mappings


def unit_problems(dash):
    """Each target shown in a unit of its kind (no count on a bit/s axis), and a timestamp that
    is 0 before its first event (config_last_reload_timestamp_seconds) shown as a date with 0
    mapped to a word or filtered out (not 1970-01-01)."""
    out = []

    def walk(panels):
        for p in panels:
            walk(p.get("panels", []))
            if p.get("type") == "row":
                continue
            for t in p.get("targets", []):
                expr, ref = t.get("expr", ""), t.get("refId")
                where = f"{DASHBOARD}: panel {p.get('title')!r} {ref}"
                unit, mappings = target_config(p, ref)
                kind = unit_class(expr)
                if unit not in UNIT_CLASSES[kind]:
                    out.append(f"{where}: unit {unit!r} for a {kind} expression: {expr}")
                if kind == "date":
                    zero = any(m.get("type") == "value" and "0" in m.get("options", {})
                               for m in mappings)
                    if not zero and not re.search(r">\s*0\s*$", expr):
                        out.append(f"{where}: a timestamp that is 0 before its first event "
                                   "shows 1970-01-01: map 0 or filter > 0")
    walk(dash.get("panels", []))
    return out


# Dashboard expressions evaluated by `promtool test rules` (promql_expr_test) on made-up
# series: (panel title, refId) -> (input series, expected samples at 2m).
_RELOAD = "twamp_reflector_config_last_reload_"
_BOX = 'job="dpdk-twamp",instance="box{}:9862"'
PANEL_TESTS = {
    # The last reload per box, one row: its result and when, 0 (shown "never") before any.
    ("Last reload", "A"): (
        [(f"{_RELOAD}timestamp_seconds{{{_BOX.format(1)}}}", "0x3"),
         (f'{_RELOAD}result{{{_BOX.format(1)},result="none"}}', "1x3"),
         (f'{_RELOAD}result{{{_BOX.format(1)},result="applied"}}', "0x3"),
         (f"{_RELOAD}timestamp_seconds{{{_BOX.format(2)}}}", "1700000100.25x3"),
         (f'{_RELOAD}result{{{_BOX.format(2)},result="none"}}', "0x3"),
         (f'{_RELOAD}result{{{_BOX.format(2)},result="rejected"}}', "1x3")],
        [(f'{{{_BOX.format(1)},result="none"}}', 0),
         (f'{{{_BOX.format(2)},result="rejected"}}', 1700000100250)]),
}


def panel_tests(dash):
    """promtool's unit-test document for PANEL_TESTS, or a problem."""
    targets = {}

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                targets[(p.get("title"), t.get("refId"))] = t.get("expr", "")
            walk(p.get("panels", []))
    walk(dash.get("panels", []))
    tests, problems = [], []
    for key, (series, samples) in PANEL_TESTS.items():
        if key not in targets:
            problems.append(f"{DASHBOARD}: no panel {key[0]!r} with a target {key[1]}")
            continue
        tests.append({
            "interval": "1m",
            "input_series": [{"series": n, "values": v} for n, v in series],
            "promql_expr_test": [{
                "expr": substitute(targets[key])[0], "eval_time": "2m",
                "exp_samples": [{"labels": lb, "value": v} for lb, v in samples]}]})
    return {"rule_files": [], "evaluation_interval": "1m", "tests": tests}, problems


def not_an_error_reasons(root):
    """Drop reasons include/twamp/proto/drop_reason.hpp documents as "not an error"."""
    with open(os.path.join(root, "include/twamp/proto/drop_reason.hpp")) as f:
        text = f.read()
    return re.findall(r"^\s*([a-z0-9_]+),\s*//\s*not an error", text, re.M)


def drops_alert_problems(root, rules):
    """TwampDropsRising leaves out every drop reason that is not an error (review of issue 19:
    it fired on no_reply_requested, STAMP one-way measurement)."""
    out = []
    reasons = not_an_error_reasons(root)
    if "no_reply_requested" not in reasons:
        out.append("include/twamp/proto/drop_reason.hpp: no reason documented as not an error "
                   "(no_reply_requested is)")
    for r in rules:
        if r["alert"] != "TwampDropsRising":
            continue
        m = re.search(r'reason!~"([^"]*)"', r["expr"])
        left_out = set(m[1].split("|")) if m else set()
        for reason in reasons:
            if reason not in left_out:
                out.append(f"{ALERTS}: TwampDropsRising counts {reason}, which is not an error")
        break
    else:
        out.append(f"{ALERTS}: no alert TwampDropsRising")
    return out


def alert_rules(path):
    with open(path) as f:
        doc = yaml.safe_load(f)
    return [r for g in doc["groups"] for r in g["rules"]]


def substitute(expr):
    for k, v in sorted(VARIABLES.items(), key=lambda kv: -len(kv[0])):
        expr = expr.replace(k, v)
    left = re.findall(r"\$\{?[A-Za-z_]+", expr)
    return expr, left


def used_names(root):
    """{twamp_reflector_* name: where} over the dashboard and the alert rules."""
    with open(os.path.join(root, DASHBOARD)) as f:
        dash = json.load(f)
    names = {}
    for where, expr in dashboard_exprs(dash):
        for n in NAME_RE.findall(expr):
            names.setdefault(n, where)
    for r in alert_rules(os.path.join(root, ALERTS)):
        for n in NAME_RE.findall(r["expr"]):
            names.setdefault(n, f"alert {r['alert']}")
    return names


def exported_families(root):
    """The family names src/metrics (and the tables of include/twamp/metrics) declare: every
    quoted snake_case string of theirs, prefixed (histograms: with their suffixes)."""
    text = ""
    for p in ("src/metrics/prometheus.cpp", "include/twamp/metrics/stats.hpp"):
        with open(os.path.join(root, p)) as f:
            text += f.read()
    out = set()
    for s in re.findall(r'"([a-z][a-z0-9_]*)"', text):
        out.add(PREFIX + s)
    for m in re.finditer(r'family\(\s*"([a-z0-9_]+)",[^;]*?MetricType::Histogram', text, re.S):
        out.update(PREFIX + m[1] + s for s in HIST_SUFFIXES)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source-root", default=os.path.join(os.path.dirname(__file__), "../../.."))
    ap.add_argument("--promtool", default=shutil.which("promtool") or "/usr/bin/promtool")
    a = ap.parse_args()
    root = os.path.abspath(a.source_root)
    problems = []
    if not os.access(a.promtool, os.X_OK):
        print(f"promtool not found ({a.promtool}): apt-get install prometheus "
              "(scripts/setup.sh)", file=sys.stderr)
        return 1

    # The dashboard.
    with open(os.path.join(root, DASHBOARD)) as f:
        try:
            dash = json.load(f)
        except ValueError as e:
            print(f"{DASHBOARD}: not valid JSON: {e}", file=sys.stderr)
            return 1
    exprs = dashboard_exprs(dash)
    panels = [p for p in dash["panels"] if p.get("type") != "row"]
    if len(exprs) < 10 or len(panels) < 10:
        problems.append(f"{DASHBOARD}: {len(panels)} panels, {len(exprs)} expressions")
    ids = [p["id"] for p in dash["panels"]]
    if len(ids) != len(set(ids)):
        problems.append(f"{DASHBOARD}: panel ids repeat: {ids}")
    problems += layout_problems(dash)
    problems += unit_problems(dash)
    rules = []
    for i, (where, expr) in enumerate(exprs):
        e, left = substitute(expr)
        if left:
            problems.append(f"{DASHBOARD}: {where}: variables not known here: {left}")
        rules.append({"record": f"twamp_dashboard:expr_{i}", "expr": e})
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "dashboard-rules.yml")
        with open(path, "w") as f:
            yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)
        p = subprocess.run([a.promtool, "check", "rules", path], capture_output=True, text=True,
                           timeout=60)
        if p.returncode != 0:
            problems.append(f"{DASHBOARD}: promtool check rules on its {len(rules)} "
                            f"expressions:\n{p.stdout}{p.stderr}")
        else:
            print(f"{DASHBOARD}: {len(rules)} expressions pass promtool check rules")
        doc, found = panel_tests(dash)
        problems += found
        path = os.path.join(tmp, "dashboard-tests.yml")
        with open(path, "w") as f:
            yaml.safe_dump(doc, f)
        p = subprocess.run([a.promtool, "test", "rules", path], capture_output=True, text=True,
                           timeout=60)
        if p.returncode != 0:
            problems.append(f"{DASHBOARD}: promtool test rules on panel expressions:\n"
                            f"{p.stdout}{p.stderr}")
        else:
            print(f"{DASHBOARD}: {len(doc['tests'])} panel expressions pass promtool test rules")

    # The alert rules and their unit tests.
    for cmd in (["check", "rules", os.path.join(root, ALERTS)],
                ["test", "rules", os.path.join(root, ALERT_TESTS)]):
        p = subprocess.run([a.promtool] + cmd, capture_output=True, text=True, timeout=120,
                           cwd=os.path.dirname(os.path.join(root, ALERTS)))
        out = (p.stdout + p.stderr).strip()
        if p.returncode != 0:
            problems.append(f"promtool {' '.join(cmd[:2])} {os.path.basename(cmd[2])}:\n{out}")
        else:
            print(f"promtool {' '.join(cmd[:2])} {os.path.basename(cmd[2])}: "
                  + " ".join(out.split()[-3:]))
    with open(os.path.join(root, ALERT_TESTS)) as f:
        tested = {t["alertname"] for case in yaml.safe_load(f)["tests"]
                  for t in case.get("alert_rule_test", [])}
    for r in alert_rules(os.path.join(root, ALERTS)):
        if r["alert"] not in tested:
            problems.append(f"{ALERTS}: alert {r['alert']} has no unit test in {ALERT_TESTS}")
    problems += drops_alert_problems(root, alert_rules(os.path.join(root, ALERTS)))

    # Names.
    exported = exported_families(root)
    for n, where in sorted(used_names(root).items()):
        if n not in exported:
            problems.append(f"{where}: {n} is not a family src/metrics exports")

    for pr in problems:
        print("FAIL: " + pr, file=sys.stderr)
    print(f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
