"""Markdown tables from the results: one table per section, systems as columns, then the ratio of
Myelin to the best other system and the issue's target for that row."""

from __future__ import annotations

MYELIN = "Myelin"


def _cell(value, fmt: str) -> str:
    if value is None:
        return "n/a"
    return format(value, fmt)


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _get(results: dict, system: str, section: str, key: str):
    return results[system].get(section, {}).get(key)


def _ratio_row(results: dict, systems: list[str], section: str, key: str, fmt: str, lower_better: bool,
               label: str, target: str = "", target_vs: list[str] | None = None, target_x: float = 0,
               words: tuple[str, str] = ("faster", "slower")) -> list[str]:
    values = {s: _get(results, s, section, key) for s in systems}
    myelin = next((s for s in systems if s.startswith(MYELIN)), None)
    others = [s for s in systems if s != myelin and values[s] is not None]
    ratio, verdict = "n/a", ""
    if myelin and values[myelin] and others:
        best = min(values[s] for s in others) if lower_better else max(values[s] for s in others)
        x = best / values[myelin] if lower_better else values[myelin] / best
        ratio = f"{x:.1f}× {words[0] if x >= 1 else words[1]}"
        vs = [s for s in others if target_vs is None or any(s.startswith(t) for t in target_vs)]
        if target and vs:
            ref = min(values[s] for s in vs) if lower_better else max(values[s] for s in vs)
            tx = ref / values[myelin] if lower_better else values[myelin] / ref
            verdict = f"{target}: {'met' if tx >= target_x else 'NOT met'} ({tx:.1f}×)"
    return [label] + [_cell(values[s], fmt) for s in systems] + [ratio, verdict]


def render(results: dict, systems: list[str], params: dict) -> str:
    out = []
    head = ["", *systems, "Myelin vs best other", "issue target"]

    out.append(f"### CreateRun ({params['creates']} creates, ms)\n")
    out.append(_table(head, [
        _ratio_row(results, systems, "create", "p50_ms", ".2f", True, "p50", "≤ 1/5 of the faster of MLflow, haupt",
                   ["MLflow", "haupt"], 5),
        _ratio_row(results, systems, "create", "p99_ms", ".2f", True, "p99"),
    ]))

    out.append(f"\n### Ingestion ({params['points']:,} points of one metric into one run, "
               f"{params['batch']}-point batches where the API has batches)\n")
    rows = [_ratio_row(results, systems, "ingest", "points_per_s", ",.0f", False, "points/s", "≥ 20× MLflow",
                       ["MLflow"], 20),
            _ratio_row(results, systems, "ingest", "seconds", ".1f", True, "seconds")]
    rows.append(["how"] + [results[s].get("ingest", {}).get("how", "n/a") for s in systems] + ["", ""])
    out.append(_table(head, rows))
    for s in systems:
        extra = results[s].get("ingest", {}).get("extra")
        if extra:
            out.append(f"\n{s}: client logging {extra['client_log_s']:.1f} s + end() {extra['client_end_s']:.1f} s; "
                       f"server side alone (one upload of the finished {params['points']:,}-point .plx file): "
                       f"{extra['upload_once_s']:.2f} s = {extra['upload_once_points_per_s']:,.0f} points/s.")

    out.append(f"\n### History read ({params['history']:,}-point series, {params['reads']} reads, ms)\n")
    out.append(_table(head, [
        _ratio_row(results, systems, "history", "p50_ms", ".1f", True, "p50", "≤ 1/20", None, 20),
        _ratio_row(results, systems, "history", "p99_ms", ".1f", True, "p99"),
    ]))

    out.append(f"\n### Search ({params['runs']:,} runs × 10 metrics; `metrics.m0 < 0.5`, sort `metrics.m1` "
               f"desc, limit 100; {params['queries']} queries, ms)\n")
    out.append(_table(head, [
        _ratio_row(results, systems, "search", "p50_ms", ".1f", True, "p50", "≤ 1/10", None, 10),
        _ratio_row(results, systems, "search", "p99_ms", ".1f", True, "p99"),
        _ratio_row(results, systems, "search", "seed_s", ".0f", True, "seeding (s, not a target)"),
    ]))

    out.append("\n### Server memory (MiB, whole process tree)\n")
    out.append(_table(head, [
        _ratio_row(results, systems, "mem", "start_rss", ".0f", True, "RSS at start (sum of VmRSS)", words=("less", "more")),
        _ratio_row(results, systems, "mem", "idle_rss", ".0f", True, "RSS idle after the workload", words=("less", "more")),
        _ratio_row(results, systems, "mem", "idle_pss", ".0f", True, "PSS idle after the workload", words=("less", "more")),
        ["processes"] + [str(results[s].get("mem", {}).get("procs", "n/a")) for s in systems] + ["", ""],
        ["ready in (s)"] + [_cell(results[s].get("ready_s"), ".2f") for s in systems] + ["", ""],
        ["machine load (1-min average) before / after this system"]
        + [f"{results[s]['load_start']:.1f} / {_cell(results[s].get('load_end'), '.1f')}" for s in systems] + ["", ""],
    ]))

    notes = [f"- {s}: {n}" for s in systems for n in results[s].get("notes", [])]
    if notes:
        out.append("\nNotes:\n")
        out.extend(notes)
    errors = [f"- {s}, {section}: {msg}" for s in systems for section, msg in results[s].get("errors", {}).items()]
    if errors:
        out.append("\n### Not measured\n")
        out.extend(errors)
    return "\n".join(out) + "\n"
