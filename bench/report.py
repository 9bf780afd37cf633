"""Assembles out/results/*.json into one table: printed, and written to out/results.md."""
import json
import sys
import time

import common as c


def main():
    parts = []
    for letter in "abcdefghijklmnopqrstuvwxyz":
        path = c.RESULTS / f"{letter}.json"
        if path.exists():
            parts.append(json.loads(path.read_text()))
    if not parts:
        sys.exit("no results under bench/out/results: run bench/run.sh first")
    versions = c.tool_versions()
    m = c.machine()
    lines = [
        f"# Kleber benchmark results ({time.strftime('%Y-%m-%d %H:%M')})",
        "",
        "- rows in the records table: "
        + ", ".join(sorted({format(p["rows_setting"], ",") for p in parts}))
        + "; repeats: " + ", ".join(sorted({str(p["repeats"]) for p in parts})),
        f"- machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Linux {m['kernel']}",
        "- load average (1, 5, 15 min) before -> after each scenario: " + "; ".join(
            f"{p['scenario']} {p['load_before'][0]} -> {p['load_after'][0]}" for p in parts),
        "- versions: " + ", ".join(f"{k} {v}" for k, v in versions.items() if k != "commit"),
        "- Kleber binary: " + "; ".join(sorted({
            f"{p.get('kleber_binary', '?')} ({', '.join(q['scenario'] for q in parts if q.get('kleber_binary') == p.get('kleber_binary'))})"
            for p in parts})),
        "- every tool loads the data its default way, no index made by hand; Kleber and its "
        "peers run one after the other in the same run, never at the same time",
        "",
        "| | measure | Kleber | peers | ratio | target | |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in parts:
        for r in p["rows"]:
            verdict = {True: "met", False: "**missed**", None: ""}[r["met"]]
            cells = [r["scenario"], r["measure"], r["kleber"], r["peers"], r["ratio"],
                     r["target"], verdict]
            lines.append("| " + " | ".join(str(x).replace("|", "/") for x in cells) + " |")
    lines.append("")
    for p in parts:
        lines.append(f"**{p['scenario']}. {p['title']}** (finished {p['finished']}, "
                     f"{p['seconds']} s)")
        for note in p["notes"]:
            lines.append(f"- {note}")
        lines.append("")
    met = [r for p in parts for r in p["rows"] if r["met"] is True]
    missed = [r for p in parts for r in p["rows"] if r["met"] is False]
    lines.append(f"Targets: {len(met)} met, {len(missed)} missed"
                 + (": " + "; ".join(f"{r['scenario']} {r['target']}" for r in missed)
                    if missed else "") + ".")
    lines += issue17(parts)
    text = "\n".join(lines) + "\n"
    (c.OUT / "results.md").write_text(text)
    print(text)


def issue17(parts):
    """The table of issue 17 (the uncached path): every line whose measure says so."""
    rows = [r for p in parts for r in p["rows"] if r["measure"].startswith("issue 17")]
    if not rows:
        return []
    out = ["", "## Issue 17: the uncached path (every request differs; Kleber's cache off)", "",
           "| | measure | Kleber | peers | ratio | target | |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        verdict = {True: "met", False: "**missed**", None: ""}[r["met"]]
        measure = r["measure"].removeprefix("issue 17: ")
        cells = [r["scenario"], measure, r["kleber"], r["peers"], r["ratio"], r["target"], verdict]
        out.append("| " + " | ".join(str(x).replace("|", "/") for x in cells) + " |")
    missed = [r for r in rows if r["met"] is False]
    out.append("")
    out.append(f"Issue 17 targets: {len(rows) - len(missed)} met, {len(missed)} missed.")
    return out


if __name__ == "__main__":
    main()
