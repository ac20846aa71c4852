#!/usr/bin/env python3
"""The workload family: novac against Hyperscan on many rule sets and prompt mixes.

    .venv/bin/pip install hyperscan nova-hunting
    .venv/bin/python scripts/bench/family.py [--quick] [--only base,rules_5000]

One factor at a time is swept around a base member (generator A, 1,000
rules, 30% regexes, common-word atoms, 10% case-sensitive, no Unicode
classes, English prompts of lognormal length around 1 KB), plus generator B
(`family_gen_b.py`, which shares no code with A), the public rules and a few
corner members. For each member, in a fresh process of the Rust driver
(`benches/examples/family_member.rs`): compile time, the first pass over
the prompts, warm passes, peak RSS and the bare-literal floor; then, here,
Hyperscan over the same keywords (one block-mode database, keyword pass
only, ASCII mode where a pattern compiles in it: its fastest mode).

Hyperscan compiles each member's database in a forked child; a member whose
compile takes over --hs-compile-timeout seconds (600 by default; the gen-B
corner took over 18 minutes on the loaded machine) is reported without
Hyperscan figures instead of holding up the family.

Writes `scripts/bench/results-family-<date>.md` (or --output) and prints it.
The full family takes ~15-20 minutes on a 2-core machine; `--quick` runs a
handful of small members in under two minutes.
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import family_gen_a  # noqa: E402
import family_gen_b  # noqa: E402
import family_text  # noqa: E402

BASE = dict(gen="a", n=1000, regex=0.3, rare=0.0, case=0.1, unicode=0.0, lang="en", median=1000, sigma=0.9)


def member(name, why, **changes):
    m = dict(BASE)
    m.update(changes)
    m["name"], m["why"] = name, why
    return m


FULL = [
    member("base", "base: gen A, 1,000 rules, 30% regex, common atoms, 10% case-sensitive, en ~1 KB"),
    member("rules_10", "rule count", n=10),
    member("rules_100", "rule count", n=100),
    member("rules_5000", "rule count", n=5000),
    member("regex_0", "regex share", regex=0.0),
    member("regex_10", "regex share", regex=0.1),
    member("regex_50", "regex share", regex=0.5),
    member("regex_80", "regex share", regex=0.8),
    member("rare_50", "atoms: half rare words", rare=0.5),
    member("rare_100", "atoms: all rare words", rare=1.0),
    member("case_50", "case-sensitive share", case=0.5),
    member("case_100", "case-sensitive share", case=1.0),
    member("unicode_10", "Unicode atoms and classes share", unicode=0.1),
    member("unicode_40", "Unicode atoms and classes share", unicode=0.4),
    member("len_100", "prompt length ~150 B", median=150, sigma=0.5),
    member("len_8k", "prompt length ~8 KB", median=8000),
    member("len_64k", "prompt length ~40 KB (up to 64 KB)", median=40000, sigma=0.4),
    member("lang_ru", "Russian prompts", lang="ru"),
    member("lang_zh", "Chinese prompts", lang="zh"),
    member("lang_mixed", "mixed en/ru/zh prompts", lang="mixed"),
    member("genb_100", "generator B", gen="b", n=100),
    member("genb_1000", "generator B", gen="b"),
    member("genb_300_mixed", "generator B, mined from mixed text", gen="b", n=300, lang="mixed", unicode=0.2),
    member("public_en", "public rules", gen="public", lang="en"),
    member("public_ru", "public rules", gen="public", lang="ru"),
    member("public_zh", "public rules", gen="public", lang="zh"),
    member("public_mixed", "public rules", gen="public", lang="mixed"),
    member("corner_5000_regex80_rare", "corner: 5,000 rules, 80% regex, rare atoms", n=5000, regex=0.8, rare=1.0),
    member("corner_5000_unicode_ru", "corner: 5,000 rules, 40% Unicode, Russian", n=5000, unicode=0.4, lang="ru"),
    member("corner_1000_case100_zh", "corner: 1,000 case-sensitive rules, Chinese", case=1.0, lang="zh"),
    member("corner_genb_300_regex80_mixed", "corner: gen B, 300 rules, 80% regex, mixed", gen="b", n=300,
           regex=0.8, lang="mixed", unicode=0.3),
]

QUICK = [
    member("base_100", "base with 100 rules", n=100),
    member("regex_80_100", "80% regex, 100 rules", n=100, regex=0.8),
    member("unicode_40_100", "40% Unicode, 100 rules, mixed", n=100, unicode=0.4, lang="mixed"),
    member("genb_100", "generator B", gen="b", n=100),
    member("public_en", "public rules", gen="public", lang="en"),
]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- data


def prompt_count(m, budget):
    mean = m["median"] * 2.718281828 ** (m["sigma"] ** 2 / 2)
    return int(max(60, min(10000, budget / mean)))


def write_member(m, data, rules_dir, budget):
    """Writes the member's rules and prompts; returns (rules path, prompts path, plants)."""
    d = os.path.join(data, m["name"])
    os.makedirs(d, exist_ok=True)
    seed = 7
    if m["gen"] == "public":
        rules_path, plants = rules_dir, family_text.INJECTIONS
    else:
        if m["gen"] == "a":
            src, plants = family_gen_a.generate(m["n"], m["regex"], m["rare"], m["case"], m["unicode"], seed)
        else:
            sample = " ".join(family_text.prompts(m["lang"], 150, 2000, 0.3, seed + 1000))
            src, plants = family_gen_b.generate(m["n"], sample, m["regex"], m["rare"], m["case"], m["unicode"], seed)
        rules_path = os.path.join(d, "rules.nov")
        with open(rules_path, "w", encoding="utf-8") as f:
            f.write(src)
    prompts = family_text.prompts(m["lang"], prompt_count(m, budget), m["median"], m["sigma"], seed, plants)
    prompts_path = os.path.join(d, "prompts.jsonl")
    with open(prompts_path, "w", encoding="utf-8") as f:
        for p in prompts:
            f.write(json.dumps({"prompt": p}, ensure_ascii=False) + "\n")
    return rules_path, prompts_path, prompts


def driver_path():
    return os.path.join(ROOT, "target", "release", "examples", "family_member")


def build_driver():
    cmd = ["cargo", "build", "--release", "-q", "-p", "novac-benches", "--example", "family_member"]
    log("$ " + " ".join(cmd))
    subprocess.run(cmd, cwd=ROOT, check=True)


def run_driver(rules_path, prompts_path, min_seconds, timeout):
    cmd = [driver_path(), rules_path, prompts_path, "--min-seconds", str(min_seconds)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0:
        raise RuntimeError(f"driver failed: {res.stderr.strip()[-500:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- hyperscan


def keywords_of(rules_path):
    """(pattern, is_regex, case_sensitive) of every distinct keyword, as the reference parses them."""
    os.environ.setdefault("NOVA_LOG_LEVEL", "CRITICAL")
    import contextlib
    import io
    from nova.core.rule_file import NovaRuleFileParser

    paths = []
    if os.path.isdir(rules_path):
        for dirpath, _, names in os.walk(rules_path):
            paths += [os.path.join(dirpath, n) for n in names if n.endswith(".nov")]
    else:
        paths = [rules_path]
    seen, refused = {}, 0
    for p in sorted(paths):
        text = open(p, encoding="utf-8", errors="replace").read()
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                rules = NovaRuleFileParser().parse_content(text, source_name=p)
        except Exception:
            refused += 1
            continue
        for rule in rules:
            for pat in rule.keywords.values():
                seen[(pat.pattern, pat.is_regex, pat.case_sensitive)] = None
    return list(seen), refused


def hs_literal(text):
    return "".join(ch if ch.isalnum() or ch == " " else "\\x%02x" % ord(ch) if ch.isascii() else ch for ch in text)


def hs_patterns(hs, keywords):
    """Expressions and flags for Hyperscan: ASCII mode first (its fastest), else UTF-8/UCP."""
    import re

    exprs, flags = [], []
    st = {"literals": 0, "regexes": 0, "rejected": 0, "utf8": 0}
    base = hs.HS_FLAG_SINGLEMATCH
    for pattern, is_regex, case_sensitive in keywords:
        caseless = 0 if case_sensitive else hs.HS_FLAG_CASELESS
        if not pattern:
            st["rejected"] += 1
            continue
        if not is_regex:
            st["literals"] += 1
            exprs.append(hs_literal(pattern).encode())
            flags.append(base | caseless)
            continue
        st["regexes"] += 1
        expr = re.sub(r"(?<!\\)\{,(\d+)\}", r"{0,\1}", pattern).replace("\\Z", "\\z")
        expr = re.sub(r"\(\?P<(\w+)>", r"(?<\1>", expr)
        utf8 = hs.HS_FLAG_UTF8 | hs.HS_FLAG_UCP
        non_ascii = any(ord(c) > 127 for c in expr) or "\\u" in expr
        order = [base | caseless | utf8, base | caseless] if non_ascii else [base | caseless, base | caseless | utf8]
        for f in order + [f | hs.HS_FLAG_ALLOWEMPTY for f in order]:
            try:
                hs.Database().compile(expressions=[expr.encode()], ids=[0], elements=1, flags=[f])
            except Exception:
                continue
            exprs.append(expr.encode())
            flags.append(f)
            st["utf8"] += int(bool(f & hs.HS_FLAG_UTF8))
            break
        else:
            st["rejected"] += 1
    return exprs, flags, st


def compile_hyperscan(hs, rules_path, conn):
    """Child process: the keywords' database, sent back serialized with its stats."""
    keywords, refused = keywords_of(rules_path)
    exprs, flags, st = hs_patterns(hs, keywords)
    st["refused_files"] = refused
    t = time.perf_counter()
    db = hs.Database()
    db.compile(expressions=exprs, ids=list(range(len(exprs))), elements=len(exprs), flags=flags)
    st["compile_s"] = time.perf_counter() - t
    conn.send((hs.dumpb(db), st))
    conn.close()


def time_hyperscan(hs, rules_path, prompts, min_seconds, compile_timeout):
    """Hyperscan's keyword pass; None when its compile takes over `compile_timeout` s.

    The database is compiled in a forked child (Hyperscan's compile cannot be
    interrupted in-process, and some generator-B members take tens of minutes)
    and loaded here from its serialized form.
    """
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=compile_hyperscan, args=(hs, rules_path, child))
    proc.start()
    child.close()
    if not parent.poll(compile_timeout):
        proc.kill()
        proc.join()
        log(f"Hyperscan compile over {compile_timeout:g} s: stopped (no Hyperscan figures for this member)")
        return None
    try:
        blob, st = parent.recv()
    except EOFError:
        proc.join()
        log("Hyperscan compile failed in its child process")
        return None
    proc.join()
    db = hs.loadb(blob, hs.HS_MODE_BLOCK)
    db.scratch = hs.Scratch(db)
    data = [p.encode("utf-8") for p in prompts]

    def on_match(*_):
        return None

    for d in data:
        db.scan(d, match_event_handler=on_match)
    passes, start, cpu = 0, time.perf_counter(), time.thread_time()
    while True:
        for d in data:
            db.scan(d, match_event_handler=on_match)
        passes += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            break
    st["us"] = elapsed / (passes * len(data)) * 1e6
    st["cpu_us"] = (time.thread_time() - cpu) / (passes * len(data)) * 1e6
    return st


# --------------------------------------------------------------------------- report


def f1(x, nd=1):
    return "—" if x is None else f"{x:,.{nd}f}"


def render(results, args, hs_version):
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    except OSError:
        pass
    out = ["# novac workload family vs Hyperscan", "",
           f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC · {platform.machine()} · "
           f"{os.cpu_count()} CPUs ({cpu}) · hyperscan {hs_version} · one thread each · "
           f"{'quick' if args.quick else 'full'} family, one run. **The machine is shared with other "
           "work and noisy (±30% between runs): compare ratios within this run, not absolute figures.**", "",
           "novac: a fresh `family_member` process per member (compile, first pass, then warm passes for "
           f"≥ {args.novac_seconds} s), conditions included. Hyperscan: one block-mode database over the "
           "same keywords (as the reference parses them), ASCII mode where a pattern compiles in it, keyword "
           "pass only, scanned from Python (~1 µs call overhead included). Floor: a bare Aho-Corasick DFA "
           "over the case-insensitive literals. All µs and compile seconds are **CPU time of the scanning "
           "thread** (schedstat for novac, `time.thread_time()` for Hyperscan), which the load of the machine "
           "disturbs much less than wall-clock time; the wall-clock ratio is shown beside. "
           "novac/HS = Hyperscan µs ÷ novac warm µs (above 1: novac faster).",
           "",
           "| member | varies | rules | prompts | mean B | novac warm µs | first pass µs | first/warm | "
           "Hyperscan µs | **novac/HS** | (wall-clock ratio) | floor µs | compile s | HS compile s | peak RSS MB | tiers (lit/exact lit/exact re/atom re/slow re) |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    ratios = []
    for m, r, h in results:
        if r is None:
            out.append(f"| {m['name']} | {m['why']} | — | — | — | failed: {m.get('error', '?')} ||||||||||")
            continue
        warm, first = r.get("warm_cpu_us"), r.get("first_pass_cpu_us")
        ratio = h["cpu_us"] / warm if h and warm else None
        wall_ratio = h["us"] / r["warm_us"] if h and h.get("us") and r.get("warm_us") else None
        if ratio:
            ratios.append((ratio, m["name"]))
        s = r.get("stats")
        tiers = (f"{s['folded_literals']}/{s['exact_literals']}/{s['exact_regexes']}/{s['atom_regexes']}/{s['slow_regexes']}"
                 if s else "—")
        out.append(
            f"| {m['name']} | {m['why']} | {r['rules']:,} | {r['prompts']:,} | {r['bytes'] / max(1, r['prompts']):,.0f} | "
            f"{f1(warm)} | {f1(first)} | {f1(first / warm if warm else None, 2)}× | "
            f"{f1(h and h['cpu_us'])} | **{f1(ratio, 2)}×** | {f1(wall_ratio, 2)}× | {f1(r.get('floor_cpu_us'))} | "
            f"{f1(r['compile_cpu_s'], 3)} | {f1(h and h.get('compile_s'), 3)} | {r['rss_kb'] / 1024:,.0f} | {tiers} |")
    out.append("")
    if ratios:
        ratios.sort()
        med = statistics.median(x for x, _ in ratios)
        out += ["## Summary", "",
                "| over the family | novac/Hyperscan | member |", "|---|---:|---|",
                f"| minimum (worst member) | {ratios[0][0]:.2f}× | {ratios[0][1]} |",
                f"| median | {med:.2f}× | ({len(ratios)} members) |",
                f"| maximum | {ratios[-1][0]:.2f}× | {ratios[-1][1]} |", "",
                "Worst five: " + ", ".join(f"{n} {x:.2f}×" for x, n in ratios[:5]), ""]
        first = [(r["first_pass_cpu_us"] / r["warm_cpu_us"], m["name"]) for m, r, _ in results if r and r.get("warm_cpu_us")]
        first.sort(reverse=True)
        out += ["Largest first-pass / warm: " + ", ".join(f"{n} {x:.2f}×" for x, n in first[:5]), ""]
    notes = []
    for m, r, h in results:
        if h and (h.get("rejected") or h.get("refused_files")):
            notes.append(f"- {m['name']}: Hyperscan left out {h['rejected']} pattern(s); the reference parser "
                         f"refused {h['refused_files']} file(s) (their keywords are missing on the Hyperscan side)")
        if r and r.get("refused_sources"):
            notes.append(f"- {m['name']}: novac refused {r['refused_sources']} file(s)")
    if notes:
        out += ["Notes:", ""] + notes + [""]
    out += ["Members (see `scripts/bench/family.py`): " + "; ".join(
        f"`{m['name']}` gen={m['gen']} n={m['n']} regex={m['regex']} rare={m['rare']} case={m['case']} "
        f"unicode={m['unicode']} lang={m['lang']} median={m['median']} σ={m['sigma']}" for m, _, _ in results), ""]
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a handful of small members (< 2 min)")
    ap.add_argument("--only", help="comma-separated member names")
    ap.add_argument("--data", default=os.path.join(ROOT, "target", "family-data"))
    ap.add_argument("--rules-dir", default=os.path.normpath(os.path.join(ROOT, "..", "shared", "corpus", "nova-rules")))
    ap.add_argument("--novac-seconds", type=float, default=None, help="timed seconds per novac member")
    ap.add_argument("--hs-seconds", type=float, default=None)
    ap.add_argument("--hs-compile-timeout", type=float, default=600.0,
                    help="seconds Hyperscan may spend compiling one member (then it is left out)")
    ap.add_argument("--bytes", type=float, default=None, help="prompt bytes per member")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--output")
    ap.add_argument("--raw", help="append each member's raw record here (JSONL; default "
                    "target/family-data/raw-<date>.jsonl, truncated first)")
    ap.add_argument("--render", help="render the report from raw JSONL file(s) (comma-separated) and run nothing")
    args = ap.parse_args()
    args.novac_seconds = args.novac_seconds or (0.3 if args.quick else 1.0)
    args.hs_seconds = args.hs_seconds or (0.3 if args.quick else 1.0)
    budget = args.bytes or (0.5e6 if args.quick else 4e6)
    members = QUICK if args.quick else FULL
    if args.only:
        wanted = set(args.only.split(","))
        members = [m for m in FULL + QUICK if m["name"] in wanted]
        members = list({m["name"]: m for m in members}.values())
    if not os.path.isdir(args.rules_dir):
        log(f"public rules not found at {args.rules_dir}: skipping public_*")
        members = [m for m in members if m["gen"] != "public"]
    try:
        import hyperscan as hs
        hs_version = getattr(hs, "__version__", "?")
    except ImportError:
        hs, hs_version = None, "not installed"
        log("hyperscan not installed: pip install hyperscan (the Hyperscan columns stay empty)")
    if args.render:
        results = []
        for path in args.render.split(","):
            with open(path, encoding="utf-8") as f:
                results += [(x["member"], x["novac"], x["hs"]) for x in map(json.loads, f) if x]
        report = render(results, args, hs_version)
        print(report)
        if args.output:
            with open(args.output, "w", encoding="utf-8") as f:
                f.write(report)
        return
    if not args.no_build:
        build_driver()
    raw_path = args.raw or os.path.join(args.data, f"raw-{datetime.date.today()}.jsonl")
    os.makedirs(os.path.dirname(os.path.abspath(raw_path)), exist_ok=True)
    open(raw_path, "w").close()
    results = []
    started = time.time()
    for m in members:
        t = time.time()
        rules_path, prompts_path, prompts = write_member(m, args.data, args.rules_dir, budget)
        try:
            r = run_driver(rules_path, prompts_path, args.novac_seconds, timeout=900)
        except Exception as exc:  # a member that fails is reported, the family goes on
            m["error"] = str(exc)[:200]
            log(f"{m['name']}: {exc}")
            results.append((m, None, None))
            continue
        h = time_hyperscan(hs, rules_path, prompts, args.hs_seconds, args.hs_compile_timeout) if hs else None
        results.append((m, r, h))
        with open(raw_path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"member": m, "novac": r, "hs": h}, ensure_ascii=False) + "\n")
        log(f"{m['name']}: novac warm {r['warm_cpu_us']:.1f} µs cpu, first {r['first_pass_cpu_us']:.1f} µs, "
            f"compile {r['compile_s']:.2f} s, rss {r['rss_kb'] / 1024:.0f} MB; "
            f"HS {h['cpu_us'] if h else float('nan'):.1f} µs cpu  ({time.time() - t:.0f} s, total {time.time() - started:.0f} s)")
    report = render(results, args, hs_version)
    print(report)
    output = args.output or os.path.join(HERE, f"results-family-{datetime.date.today()}{'-quick' if args.quick else ''}.md")
    with open(output, "w", encoding="utf-8") as f:
        f.write(report)
    log(f"wrote {output}")


if __name__ == "__main__":
    main()
