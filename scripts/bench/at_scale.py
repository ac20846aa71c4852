#!/usr/bin/env python3
"""Rows per second at scale: novac's Arrow API, Spark and Ray, beside the
Rust library and (extrapolated from a sample) nova-hunting in a pandas UDF.

Run from the workspace root with the test venv (novac built with
`maturin develop --release`, plus pyarrow, pyspark, ray[data], nova-hunting):

    .venv/bin/python scripts/bench/at_scale.py              # N = 1,000,000
    .venv/bin/python scripts/bench/at_scale.py --n 200000 --skip ray

Two rule sets: the public NOVA rules (`../shared/corpus/nova-rules`, read
from there) and 1,000 rules from generator A (`family_gen_a.py`). N prompts
(1-30 filler words, English/French/Russian/Chinese, with the rules' own
literals and generator A's plants mixed in, so a share of rows match). For
each rule set it times, single pass, best of `--repeat`:

* `Rules.scan_arrow` on a pyarrow column, threads=1 and threads=2;
* the Rust library (`cargo run --release -p novac-benches --example rows`:
  one `Scanner` per thread over a contiguous share) with 1 and 2 threads;
* `novac.spark.scan` in Spark `local[2]` over a Parquet file (read, scan,
  count the matches: the whole job, warm session);
* `novac.ray.Scanner` with `map_batches` (2 actors, pyarrow batches);
* nova-hunting's `NovaMatcher` per rule inside a Spark pandas UDF on
  `--ref-sample` rows, extrapolated to N (marked "extrapolated").

Semantic and LLM stages are off everywhere (no model, no network): rules
that need them fail closed on every engine. Prints a Markdown table and
writes it to `--output` (default target/at_scale.md).
Cost: ~10 min at N = 1,000,000 on 2 cores, most of it Spark and Ray start-up
and the reference sample.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import family_gen_a  # noqa: E402

FILLER = {
    "en": "the please you now data mode and then write a short story about my system account help".split(),
    "fr": "le système la donnée vous maintenant écrire une histoire courte à propos de mon compte".split(),
    "ru": "пароль система данные вы теперь напишите короткий рассказ о моём аккаунте".split(),
    "zh": "忽略 以前 系统 数据 你 现在 写 一个 短 故事 关于 我的 账户".split(),
}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def make_prompts(n: int, plants: list, seed: int = 1) -> list:
    rng = random.Random(seed)
    langs = list(FILLER)
    out = []
    for _ in range(n):
        words = FILLER[rng.choice(langs)]
        parts = [rng.choice(words) for _ in range(rng.randint(1, 30))]
        if rng.random() < 0.3 and plants:
            parts.insert(rng.randint(0, len(parts)), rng.choice(plants))
        out.append(" ".join(parts))
    return out


def best_of(repeat: int, fn) -> tuple:
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def cargo_target() -> str:
    meta = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"], capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(meta.stdout)["target_directory"]


def rust_rows(bundle: str, prompts_file: str, threads: int, repeat: int) -> dict:
    exe = os.path.join(cargo_target(), "release", "examples", "rows")
    if not os.path.exists(exe):
        subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "novac-benches", "--example", "rows"], check=True, cwd=ROOT)
    run = subprocess.run([exe, bundle, prompts_file, str(threads), str(repeat)], capture_output=True, text=True, check=True)
    return json.loads(run.stdout)


def spark_session():
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master("local[2]")
        .appName("novac-at-scale")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.memory", "2g")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "10000")
        .getOrCreate()
    )


def time_spark(spark, parquet: str, rules, repeat: int) -> tuple:
    import novac.spark

    def job():
        df = spark.read.parquet(parquet)
        return novac.spark.scan(df, column="prompt", rules=rules).filter("matched").count()

    job()  # warm-up: worker processes start, the bundle is broadcast and loaded
    return best_of(repeat, job)


def time_reference_udf(spark, parquet: str, sources: list, sample: int) -> tuple:
    """nova-hunting in a pandas UDF over `sample` rows: (seconds, matched)."""
    from pyspark.sql.functions import col, pandas_udf

    @pandas_udf("boolean")
    def nova_udf(prompts):
        import nova.core.matcher as matcher_mod
        from nova.core.rule_file import NovaRuleFileParser

        cache = getattr(matcher_mod, "_at_scale_matchers", None)
        if cache is None:
            matcher_mod._get_semantic_evaluator_class = lambda: None
            rules = []
            for name, text in sources:
                try:
                    with contextlib.redirect_stdout(io.StringIO()):
                        rules += NovaRuleFileParser().parse_content(text, source_name=name)
                except Exception:  # noqa: BLE001 - the reference refuses whole files
                    pass
            cache = [matcher_mod.NovaMatcher(r, create_llm_evaluator=False) for r in rules]
            matcher_mod._at_scale_matchers = cache
        with contextlib.redirect_stdout(io.StringIO()):
            return prompts.map(lambda p: any(m.check_prompt(p)["matched"] for m in cache))

    df = spark.read.parquet(parquet).limit(sample).repartition(2).cache()
    df.count()
    df.select(nova_udf(col("prompt")).alias("m")).filter("m").count()  # warm-up: matchers built per worker
    start = time.perf_counter()
    matched = df.select(nova_udf(col("prompt")).alias("m")).filter("m").count()
    return time.perf_counter() - start, matched


def time_ray(parquet: str, rules, repeat: int) -> tuple:
    import ray

    import novac.ray

    def job():
        ds = ray.data.read_parquet(parquet)
        out = ds.map_batches(
            novac.ray.Scanner,
            fn_constructor_args=(rules,),
            batch_format="pyarrow",
            batch_size=10000,
            concurrency=2,
        )
        return int(out.sum("matched"))

    job()
    return best_of(repeat, job)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000, help="prompts (default 1,000,000)")
    ap.add_argument("--rules-dir", default=os.path.normpath(os.path.join(ROOT, "..", "shared", "corpus", "nova-rules")))
    ap.add_argument("--gen-rules", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--ref-sample", type=int, default=2000, help="rows nova-hunting scans (public rules; a tenth for the generated set)")
    ap.add_argument("--skip", default="", help="comma-separated: rust,spark,ray,reference")
    ap.add_argument("--output", default=os.path.join(ROOT, "target", "at_scale.md"))
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))

    import pyarrow as pa
    import pyarrow.parquet as pq

    import novac
    from novac import _novac

    public_sources = []
    for dirpath, _, files in os.walk(args.rules_dir):
        for f in sorted(files):
            if f.endswith(".nov"):
                with open(os.path.join(dirpath, f), encoding="utf-8") as fh:
                    public_sources.append((os.path.join(dirpath, f), fh.read()))
    gen_source, plants = family_gen_a.generate(args.gen_rules)
    sets = {
        "public rules": (_novac.compile(paths=args.rules_dir), public_sources),
        f"{args.gen_rules} generated rules": (_novac.compile(gen_source, source_name="gen.nov"), [("gen.nov", gen_source)]),
    }
    literals = [
        v["pattern"]
        for r in sets["public rules"][0]._describe()
        for v in r["vars"]
        if v["kind"] == "literal" and v["pattern"].isprintable()
    ]
    log(f"generating {args.n:,} prompts")
    prompts = make_prompts(args.n, literals + [p for p in plants if p])
    column = pa.array(prompts, type=pa.string())
    work = tempfile.mkdtemp(prefix="novac-at-scale-")
    parquet = os.path.join(work, "prompts.parquet")
    pq.write_table(pa.table({"prompt": column}), parquet, row_group_size=100_000)
    prompts_file = os.path.join(work, "prompts.jsonl")
    with open(prompts_file, "w", encoding="utf-8") as f:
        for p in prompts:
            f.write(json.dumps(p, ensure_ascii=False) + "\n")
    mb = sum(len(p.encode()) for p in prompts) / 1e6
    del prompts

    spark = None
    if not {"spark", "reference"} <= skip:
        spark = spark_session()
    if "ray" not in skip:
        import ray

        ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False)

    rows = []
    for name, (rules, sources) in sets.items():
        res = {}
        for threads in (1, 2):
            log(f"{name}: scan_arrow threads={threads}")
            sec, table = best_of(args.repeat, lambda: rules.scan_arrow(column, threads))
            res[f"arrow{threads}"] = args.n / sec
            matched = table.column("matched").to_pylist().count(True)
        res["matched"] = matched
        if "rust" not in skip:
            bundle = os.path.join(work, "rules.bundle")
            with open(bundle, "wb") as f:
                f.write(rules.to_bytes())
            for threads in (1, 2):
                log(f"{name}: Rust library threads={threads}")
                r = rust_rows(bundle, prompts_file, threads, args.repeat)
                assert r["matched"] == matched, (r, matched)
                res[f"rust{threads}"] = r["rows_per_s"]
        if "spark" not in skip:
            log(f"{name}: Spark local[2]")
            sec, m = time_spark(spark, parquet, rules, args.repeat)
            assert m == matched, (m, matched)
            res["spark"] = args.n / sec
        if "ray" not in skip:
            log(f"{name}: Ray map_batches, 2 actors")
            sec, m = time_ray(parquet, rules, args.repeat)
            assert m == matched, (m, matched)
            res["ray"] = args.n / sec
        if "reference" not in skip:
            sample = args.ref_sample if name == "public rules" else max(20, args.ref_sample // 10)
            log(f"{name}: nova-hunting pandas UDF on {sample} rows")
            sec, _ = time_reference_udf(spark, parquet, sources, sample)
            res["reference"] = sample / sec
            res["reference_sample"] = sample
        rows.append((name, res))
        log(f"{name}: {res}")

    if spark is not None:
        spark.stop()
    render(rows, args, mb)


def render(rows, args, mb) -> None:
    def rate(x):
        return "—" if x is None else f"{x:,.0f}"

    def ratio(x, base):
        return "—" if x is None or not base else f"{x / base:.2f}×"

    lines = [
        f"N = {args.n:,} prompts ({mb:.0f} MB of text), {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}. Rows/s (higher is better); × = rows/s relative to `scan_arrow` with 2 threads.",
        "",
        "| rule set | path | rows/s | × scan_arrow (2 threads) |",
        "|---|---|---:|---:|",
    ]
    for name, r in rows:
        base = r.get("arrow2")
        entries = [
            ("Rust library, 1 thread", r.get("rust1")),
            ("Rust library, 2 threads", r.get("rust2")),
            ("`scan_arrow`, threads=1", r.get("arrow1")),
            ("`scan_arrow`, threads=2", r.get("arrow2")),
            ("Spark `local[2]`, `novac.spark.scan`", r.get("spark")),
            ("Ray, `novac.ray.Scanner`, 2 actors", r.get("ray")),
            (f"nova-hunting in a pandas UDF (Spark `local[2]`), **extrapolated** from {r.get('reference_sample', 0):,} rows", r.get("reference")),
        ]
        for label, x in entries:
            if x is not None:
                lines.append(f"| {name} | {label} | {rate(x)} | {ratio(x, base)} |")
        if r.get("rust1"):
            lines.append(
                f"| {name} | `scan_arrow` / Rust (1 thread; 2 threads) | {r['arrow1'] / r['rust1']:.2f}; "
                f"{r['arrow2'] / r.get('rust2', r['rust1']):.2f} | |"
            )
        lines.append(f"| {name} | prompts matched | {r['matched']:,} | |")
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
