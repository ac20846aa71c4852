#!/usr/bin/env python3
"""Compare novac with the reference NOVA engine (nova-hunting) and Hyperscan.

Run from the workspace root with a Python that has `nova-hunting` (and,
optionally, `hyperscan`) installed:

    python3 -m venv /tmp/benchvenv
    /tmp/benchvenv/bin/pip install nova-hunting hyperscan
    /tmp/benchvenv/bin/python scripts/bench/compare.py

In one run it:

1. writes the generated workloads with the `export` example (rules_{10,100,1000}.nov,
   prompts.jsonl, prompts_{en,ru,zh}.jsonl) to --data (default target/bench-data);
2. times novac with the `timing` example (single thread, after a warm-up pass),
   then once more on gen_1000 alone for its peak RSS;
3. times the reference, `NovaMatcher(rule, create_llm_evaluator=False).check_prompt(p)`
   for every rule x prompt, on the first prompts of each workload until
   --ref-seconds have passed (the reference costs ~1 ms per rule per prompt),
   and checks that its verdicts equal novac's on those prompts;
4. if `hyperscan` imports, compiles the same keywords into one database per
   workload (literals escaped and HS_FLAG_CASELESS; regexes with
   HS_FLAG_SINGLEMATCH|HS_FLAG_UTF8|HS_FLAG_UCP where accepted) and times
   scanning the same prompts (keyword matching only: no conditions);
5. prints a Markdown table and writes it, with details, to bench-results.md
   (or --output) in the current directory.

Semantic and LLM stages are disabled on both sides (no model, no network):
rules that need them fail closed in both engines.
"""

import argparse
import contextlib
import datetime
import io
import json
import os
import platform
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
from cargo_target import target_path  # noqa: E402

WORKLOADS = [
    ("public_en", "public rules x 2 KB en"),
    ("public_ru", "public rules x 2 KB ru"),
    ("public_zh", "public rules x 2 KB zh"),
    ("gen_10", "10 generated rules x ~1.3 KB en"),
    ("gen_100", "100 generated rules x ~1.3 KB en"),
    ("gen_1000", "1,000 generated rules x ~1.3 KB en"),
]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- data


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["prompt"] for line in f if line.strip()]


def rule_files(rules_dir):
    out = []
    for dirpath, _, names in os.walk(rules_dir):
        out += [os.path.join(dirpath, n) for n in names if n.endswith(".nov")]
    return sorted(out)


def workload_inputs(name, data, rules_dir):
    """(list of (source name, text), prompts) for a workload."""
    if name.startswith("public_"):
        files = rule_files(rules_dir)
        sources = [(p, open(p, encoding="utf-8", errors="replace").read()) for p in files]
        prompts = read_jsonl(os.path.join(data, f"prompts_{name[7:]}.jsonl"))
    else:
        n = name[4:]
        path = os.path.join(data, f"rules_{n}.nov")
        sources = [(path, open(path, encoding="utf-8").read())]
        prompts = read_jsonl(os.path.join(data, "prompts.jsonl"))
    return sources, prompts


# --------------------------------------------------------------------------- novac


def cargo(args, capture=False):
    cmd = ["cargo"] + args
    log("$ " + " ".join(cmd))
    res = subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.PIPE if capture else None)
    return res.stdout.decode() if capture else None


def run_novac(data, rules_dir, min_seconds, only=None):
    args = ["run", "--release", "-q", "-p", "novac-benches", "--example", "timing", "--",
            data, "--rules-dir", rules_dir, "--min-seconds", str(min_seconds), "--verdicts", "100000"]
    if only:
        args += ["--only", only]
    out = json.loads(cargo(args, capture=True))
    return {w["name"]: w for w in out["workloads"]}, out


def read_novac_verdicts(data, name):
    path = os.path.join(data, f"novac_verdicts_{name}.jsonl")
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                v = json.loads(line)
                out[v["id"]] = sorted(v["matched"])
    return out


# --------------------------------------------------------------------------- reference


def import_reference():
    os.environ.setdefault("NOVA_LOG_LEVEL", "CRITICAL")
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AZURE_OPENAI_API_KEY",
                "GROQ_API_KEY", "OPENROUTER_API_KEY", "OLLAMA_HOST"):
        os.environ.pop(key, None)
    sys.modules["sentence_transformers"] = None  # fail fast: no semantic model
    sys.modules["torch"] = None
    try:
        import nova.core.matcher as matcher_mod
        from nova.core.rule_file import NovaRuleFileParser
        from nova import _version
    except ImportError as exc:
        sys.exit(f"error: cannot import nova-hunting with {sys.executable}: {exc}\n"
                 "  python3 -m venv /tmp/benchvenv && /tmp/benchvenv/bin/pip install nova-hunting hyperscan")
    matcher_mod._get_semantic_evaluator_class = lambda: None
    version = getattr(_version, "__version__", "?")
    return matcher_mod.NovaMatcher, NovaRuleFileParser, version


def parse_reference(parser_cls, sources):
    rules, refused = [], []
    for name, text in sources:
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # it prints lint warnings
                rules += parser_cls().parse_content(text, source_name=name)
        except Exception as exc:  # the reference refuses the whole file
            refused.append(f"{os.path.basename(name)}: {exc}")
    return rules, refused


def time_reference(matcher_cls, rules, prompts, budget):
    """Checks every rule on prompts[0..k] until `budget` seconds pass; returns (k, seconds, verdicts)."""
    matchers = [matcher_cls(r, create_llm_evaluator=False) for r in rules]
    for m in matchers:  # warm-up (regex caches, lazy imports), untimed
        m.check_prompt(prompts[0])
    verdicts = {}
    start = time.perf_counter()
    elapsed = 0.0
    for i, p in enumerate(prompts):
        verdicts[i] = sorted(m.rule.name for m in matchers if m.check_prompt(p)["matched"])
        elapsed = time.perf_counter() - start
        if elapsed >= budget:
            break
    return len(verdicts), elapsed, verdicts


# --------------------------------------------------------------------------- hyperscan


def hs_literal(text):
    out = []
    for ch in text:
        if ch.isascii() and (ch.isalnum() or ch == " "):
            out.append(ch)
        elif ch.isascii():
            out.append("\\x%02x" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


def hs_regex(pattern):
    """Python `re` syntax to PCRE-ish syntax Hyperscan accepts (best effort)."""
    p = re.sub(r"(?<!\\)\{,(\d+)\}", r"{0,\1}", pattern)
    p = p.replace("\\Z", "\\z")
    p = re.sub(r"\(\?P<(\w+)>", r"(?<\1>", p)
    return p


def hs_patterns(hyperscan, rules):
    """(expressions, flags, stats) for every distinct keyword of `rules`."""
    seen = {}
    stats = {"literals": 0, "regexes": 0, "rejected": 0, "ascii_only": 0, "rejected_examples": []}
    base = hyperscan.HS_FLAG_SINGLEMATCH
    for rule in rules:
        for pat in rule.keywords.values():
            key = (pat.pattern, pat.is_regex, pat.case_sensitive)
            if key in seen:
                continue
            seen[key] = None
            caseless = 0 if pat.case_sensitive else hyperscan.HS_FLAG_CASELESS
            if not pat.is_regex:
                stats["literals"] += 1
                if pat.pattern == "":
                    stats["rejected"] += 1
                    stats["rejected_examples"].append('"" (empty literal)')
                    continue
                flags = base | caseless | hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_UCP
                seen[key] = (hs_literal(pat.pattern), flags)
                continue
            stats["regexes"] += 1
            expr = hs_regex(pat.pattern)
            full = base | caseless | hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_UCP
            attempts = [(full, False), (full | hyperscan.HS_FLAG_ALLOWEMPTY, False),
                        (base | caseless, True), (base | caseless | hyperscan.HS_FLAG_ALLOWEMPTY, True)]
            for flags, ascii_only in attempts:
                try:
                    hyperscan.Database().compile(expressions=[expr.encode()], ids=[0], elements=1, flags=[flags])
                except Exception:
                    continue
                seen[key] = (expr, flags)
                stats["ascii_only"] += int(ascii_only)
                break
            else:
                stats["rejected"] += 1
                if len(stats["rejected_examples"]) < 5:
                    stats["rejected_examples"].append("/" + pat.pattern[:60] + "/")
    accepted = [v for v in seen.values() if v is not None]
    return [e.encode() for e, _ in accepted], [f for _, f in accepted], stats


def time_hyperscan(hyperscan, rules, prompts, min_seconds):
    exprs, flags, stats = hs_patterns(hyperscan, rules)
    t = time.perf_counter()
    db = hyperscan.Database()
    db.compile(expressions=exprs, ids=list(range(len(exprs))), elements=len(exprs), flags=flags)
    stats["compile_s"] = time.perf_counter() - t
    data = [p.encode("utf-8") for p in prompts]

    def on_match(_id, _from, _to, _flags, _ctx):
        return None

    for d in data:  # warm-up
        db.scan(d, match_event_handler=on_match)
    passes, start = 0, time.perf_counter()
    while True:
        for d in data:
            db.scan(d, match_event_handler=on_match)
        passes += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            break
    stats["prompts_per_s"] = passes * len(data) / elapsed
    return stats


# --------------------------------------------------------------------------- report


def fmt_rate(x):
    if x is None:
        return "—"
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def fmt_ratio(a, b):
    if not a or not b:
        return "—"
    r = a / b
    return f"{r:,.0f}×" if r >= 100 else f"{r:.3g}×"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=target_path("bench-data"), help="where workloads are written")
    ap.add_argument("--rules-dir", default=os.path.normpath(os.path.join(ROOT, "..", "shared", "corpus", "nova-rules")))
    ap.add_argument("--ref-seconds", type=float, default=30.0, help="time budget of the reference per workload (≤ 60 s)")
    ap.add_argument("--novac-seconds", type=float, default=2.0, help="minimum timed seconds per novac workload")
    ap.add_argument("--hs-seconds", type=float, default=2.0, help="minimum timed seconds per Hyperscan workload")
    ap.add_argument("--only", help="comma-separated workloads (default: all)")
    ap.add_argument("--no-export", action="store_true", help="reuse the workloads already in --data")
    ap.add_argument("--output", default="bench-results.md")
    args = ap.parse_args()
    data = os.path.abspath(args.data)
    rules_dir = os.path.abspath(args.rules_dir)
    only = set(args.only.split(",")) if args.only else None
    have_public = os.path.isdir(rules_dir) and bool(rule_files(rules_dir))
    workloads = [(n, d) for n, d in WORKLOADS
                 if (only is None or n in only) and (have_public or not n.startswith("public_"))]
    if not have_public:
        log(f"public rules not found at {rules_dir}: skipping public_*")

    matcher_cls, parser_cls, ref_version = import_reference()
    try:
        import hyperscan
        hs_version = getattr(hyperscan, "__version__", "?")
    except ImportError:
        hyperscan, hs_version = None, None
        log("hyperscan not installed: the Hyperscan columns stay empty (pip install hyperscan)")

    if not args.no_export:
        cargo(["run", "--release", "-q", "-p", "novac-benches", "--example", "export", "--", data])
    log("timing novac ...")
    want_compile = only is None or "compile_1000" in only
    novac, _ = run_novac(data, rules_dir, args.novac_seconds,
                         only=",".join([n for n, _ in workloads] + (["compile_1000"] if want_compile else [])))
    rss_1000 = None
    if only is None or "gen_1000" in only:
        _, solo = run_novac(data, rules_dir, args.novac_seconds, only="gen_1000")
        rss_1000 = solo["peak_rss_kb"]

    rows, details = [], []
    for name, desc in workloads:
        sources, prompts = workload_inputs(name, data, rules_dir)
        rules, refused = parse_reference(parser_cls, sources)
        log(f"{name}: reference, {len(rules)} rules, budget {args.ref_seconds:.0f} s ...")
        k, secs, ref_verdicts = time_reference(matcher_cls, rules, prompts, args.ref_seconds)
        ref_rate = k / secs if secs > 0 else None
        nv = read_novac_verdicts(data, name)
        agree = sum(1 for i, v in ref_verdicts.items() if nv.get(i) == v)
        diffs = [(i, v, nv.get(i)) for i, v in ref_verdicts.items() if nv.get(i) != v][:3]
        hs = time_hyperscan(hyperscan, rules, prompts, args.hs_seconds) if hyperscan else None
        n = novac.get(name, {})
        rows.append((desc, ref_rate, n.get("prompts_per_s"), hs and hs["prompts_per_s"], n.get("floor_prompts_per_s")))
        details.append((name, len(rules), refused, k, agree, diffs, n, hs,
                        sum(len(p.encode('utf-8')) for p in prompts) / len(prompts)))
        log(f"  reference {fmt_rate(ref_rate)} prompts/s on {k} prompts; novac {fmt_rate(n.get('prompts_per_s'))}; "
            f"verdicts equal on {agree}/{k}")

    # Compile 1,000 rules.
    compile_row = None
    if want_compile:
        text = open(os.path.join(data, "rules_1000.nov"), encoding="utf-8").read()
        ref_s = min(_timed(lambda: parser_cls().parse_content(text)) for _ in range(3))
        nc = novac.get("compile_1000", {})
        hs_s = None
        if hyperscan:
            rules = parser_cls().parse_content(text)
            exprs, flags, _ = hs_patterns(hyperscan, rules)
            hs_s = min(_timed(lambda: hyperscan.Database().compile(
                expressions=exprs, ids=list(range(len(exprs))), elements=len(exprs), flags=flags)) for _ in range(3))
        compile_row = (ref_s, nc.get("check_s"), nc.get("build_s"), nc.get("total_s"), hs_s)

    report = render(rows, details, compile_row, rss_1000, ref_version, hs_version, args)
    print(report)
    with open(args.output, "w", encoding="utf-8") as f:
        f.write(report)
    log(f"wrote {args.output}")


def _timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def render(rows, details, compile_row, rss_1000, ref_version, hs_version, args):
    out = ["# novac benchmark results", ""]
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
    except OSError:
        pass
    out += [f"{datetime.date.today()} · {platform.machine()} · {os.cpu_count()} CPUs ({cpu}) · "
            f"Python {platform.python_version()} · nova-hunting {ref_version} · hyperscan {hs_version or 'not installed'} · "
            "one thread each; one run (noisy shared machine: compare ratios, not absolute figures).", ""]
    out += ["| workload | reference prompts/s | novac prompts/s | ratio | Hyperscan prompts/s | novac/Hyperscan | floor (bare automaton) prompts/s |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for desc, ref, nv, hs, floor in rows:
        out.append(f"| {desc} | {fmt_rate(ref)} | {fmt_rate(nv)} | {fmt_ratio(nv, ref)} | {fmt_rate(hs)} | "
                   f"{fmt_ratio(nv, hs)} | {fmt_rate(floor)} |")
    if compile_row:
        ref_s, check_s, build_s, total_s, hs_s = compile_row
        ratio = fmt_ratio(ref_s, total_s)  # speed ratio: novac speed / reference speed
        hs_ratio = fmt_ratio(hs_s, total_s)
        out.append(f"| compile 1,000 rules (seconds) | {ref_s:.3f} s (parse_content) | {total_s:.3f} s (check {check_s:.3f} + build {build_s:.3f}) | "
                   f"{ratio} | {hs_s:.3f} s (keywords only) | {hs_ratio} | — |" if hs_s else
                   f"| compile 1,000 rules (seconds) | {ref_s:.3f} s (parse_content) | {total_s:.3f} s (check {check_s:.3f} + build {build_s:.3f}) | {ratio} | — | — | — |")
    out.append("")
    if rss_1000:
        out += [f"Peak RSS of the novac timing process with the 1,000 generated rules (compile + 10,000 prompts, VmHWM): "
                f"**{rss_1000 / 1024:.1f} MiB**.", ""]
    out += ["## Details", "",
            "| workload | rules (ref / novac) | mean prompt bytes | ref prompts timed | verdicts equal | novac µs/prompt | novac MB/s | novac matched prompts | novac tiers | Hyperscan patterns (rejected, ASCII-only) |",
            "|---|---|---:|---:|---:|---:|---:|---:|---|---|"]
    for name, nrules, refused, k, agree, diffs, n, hs, mean in details:
        st = n.get("stats", {})
        tiers = (f"{st.get('folded_literals', 0)} lit, {st.get('exact_literals', 0)} exact lit, {st.get('exact_regexes', 0)} exact re, "
                 f"{st.get('atom_regexes', 0)} atom re, {st.get('slow_regexes', 0)} slow re") if st else "—"
        hs_txt = (f"{hs['literals']} lit + {hs['regexes']} re ({hs['rejected']} rejected, {hs['ascii_only']} ASCII-only)"
                  if hs else "—")
        out.append(f"| {name} | {nrules} / {n.get('rules', '—')} | {mean:,.0f} | {k} | {agree}/{k} | "
                   f"{n.get('us_per_prompt', 0):.1f} | {n.get('mb_per_s', 0):.1f} | {n.get('matched_prompts', '—')}/{n.get('prompts', '—')} | {tiers} | {hs_txt} |")
    notes = []
    for name, nrules, refused, k, agree, diffs, n, hs, mean in details:
        if refused:
            notes.append(f"- {name}: the reference refused {len(refused)} file(s): " + "; ".join(refused[:3]))
        if n.get("refused_sources"):
            notes.append(f"- {name}: novac refused " + "; ".join(n["refused_sources"][:3]))
        for i, ref_v, nv in diffs:
            notes.append(f"- {name}: prompt {i}: reference matched {ref_v}, novac matched {nv}")
        if hs and hs["rejected_examples"]:
            notes.append(f"- {name}: Hyperscan rejected e.g. " + ", ".join(f"`{e}`" for e in hs["rejected_examples"]))
    if notes:
        out += ["", "Notes:", ""] + notes
    out += ["", "How: `scripts/bench/compare.py` (see scripts/bench/README.md). The reference checks every rule on the "
            f"first prompts of each workload for about {args.ref_seconds:.0f} s; novac and the floor scan every prompt "
            f"repeatedly for ≥ {args.novac_seconds:.0f} s after a warm-up pass; Hyperscan and the floor match keywords only "
            "(no conditions; the floor has no regexes at all). Semantic and LLM stages are off on both sides.", ""]
    return "\n".join(out)


if __name__ == "__main__":
    main()
