#!/usr/bin/env python3
"""Record the reference NOVA matcher's verdicts for the scan corpus.

Part 1, own corpus: for every tests/data/scan/cases/<name>.nov with its
<name>.prompts.json, each rule of the file is checked against each prompt with
`NovaMatcher(rule, create_llm_evaluator=False).check_prompt(prompt)`, and the
verdicts go to tests/data/scan/expected/<name>.json.

Part 2, public rules (only when ../shared/corpus/nova-rules exists next to the
repository, or NOVA_RULES_DIR points elsewhere): every rule of every *.nov
there (top level and incidents/) is checked against every prompt of the two
YAML test files in its tests/ folder and every prompt of the own corpus.
Results go to tests/data/scan/expected/public/<path with / as __>.json and
name prompts only by source and sha256, never by text.

The harness has no semantic model and no LLM: the semantic evaluator class is
forced to None and no LLM evaluator is created, so rules whose verdict needs
either stage fail closed (matched=False plus a warning), as the reference does.

Usage:  <python of a venv with nova-hunting 0.3.1 and pyyaml> scripts/reference/scan_expectations.py
        [--skip-public] [--only NAME ...] [--jobs N]
"""

import argparse
import contextlib
import hashlib
import io
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _nova_env import import_reference, repo_root  # noqa: E402

MAX_PROMPT_BYTES = 1024 * 1024


def expand_prompts(items, where):
    """Turn the prompts.json array into a list of str."""
    prompts = []
    for index, item in enumerate(items):
        if isinstance(item, str):
            prompt = item
        elif isinstance(item, dict) and isinstance(item.get("repeat"), str) \
                and isinstance(item.get("count"), int) and item["count"] >= 0 \
                and set(item) <= {"repeat", "count", "prefix", "suffix"}:
            prompt = item.get("prefix", "") + item["repeat"] * item["count"] + item.get("suffix", "")
        else:
            sys.exit(f"error: {where}[{index}]: a prompt must be a string or "
                     '{"repeat": str, "count": int, "prefix"?: str, "suffix"?: str}')
        if len(prompt.encode("utf-8")) > MAX_PROMPT_BYTES:
            sys.exit(f"error: {where}[{index}] is larger than 1 MiB")
        prompts.append(prompt)
    return prompts


def sha256(prompt):
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()


def parse_rules(text, source_name):
    from nova.core.rule_file import NovaRuleFileParser
    # The parser prints unused-variable warnings on stdout; keep them out.
    with contextlib.redirect_stdout(io.StringIO()):
        return NovaRuleFileParser().parse_content(text, source_name=source_name)


def verdict(matcher, prompt):
    result = matcher.check_prompt(prompt)
    condition_result = result["debug"]["condition_result"]
    return {
        "matched": bool(result["matched"]),
        "keywords": sorted(result["matching_keywords"]),
        "warnings": list(result["debug"]["evaluation_warnings"]),
        "condition_result": None if condition_result is None else bool(condition_result),
    }


def run_rules(rules, prompts):
    """Evaluate every rule on every prompt."""
    from nova.core.matcher import NovaMatcher
    with contextlib.redirect_stdout(io.StringIO()):
        matchers = [(rule.name, NovaMatcher(rule, create_llm_evaluator=False)) for rule in rules]
    results = []
    for index, prompt in enumerate(prompts):
        results.append({"prompt": index,
                        "rules": {name: verdict(matcher, prompt) for name, matcher in matchers}})
    return results


def write_json(path, head_key, head_items, results, prefix_fields=None):
    """One prompt per line so diffs stay readable."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    dump = lambda obj: json.dumps(obj, ensure_ascii=False, sort_keys=False)  # noqa: E731
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("{\n")
        for key, value in (prefix_fields or {}).items():
            fh.write(f" {dump(key)}: {dump(value)},\n")
        fh.write(f" {dump(head_key)}: [\n")
        fh.write(",\n".join("  " + dump(item) for item in head_items))
        fh.write("\n ],\n \"results\": [\n")
        fh.write(",\n".join("  " + dump(item) for item in results))
        fh.write("\n ]\n}\n")


class Stats:
    def __init__(self):
        self.files = 0
        self.prompts = 0
        self.pairs = 0
        self.matched = 0
        self.fail_closed = 0

    def add(self, results, n_prompts):
        self.files += 1
        self.prompts += n_prompts
        for item in results:
            for entry in item["rules"].values():
                self.pairs += 1
                self.matched += entry["matched"]
                self.fail_closed += bool(entry["warnings"])

    def line(self, label):
        return (f"{label}: {self.files} files, {self.prompts} prompts, {self.pairs} (rule, prompt) pairs, "
                f"{self.matched} matched, {self.fail_closed} failed closed")


def load_cases(cases_dir, only=None):
    cases = []
    for fname in sorted(os.listdir(cases_dir)):
        if not fname.endswith(".nov"):
            continue
        name = fname[:-len(".nov")]
        if only and name not in only:
            continue
        prompts_path = os.path.join(cases_dir, name + ".prompts.json")
        if not os.path.exists(prompts_path):
            sys.exit(f"error: {prompts_path} is missing")
        with open(os.path.join(cases_dir, fname), "rb") as fh:
            rules_text = fh.read().decode("utf-8")
        with open(prompts_path, encoding="utf-8") as fh:
            prompts = expand_prompts(json.load(fh), name + ".prompts.json")
        cases.append((name, fname, rules_text, prompts))
    return cases


def own_corpus(cases, expected_dir):
    stats = Stats()
    for name, fname, rules_text, prompts in cases:
        started = time.monotonic()
        rules = parse_rules(rules_text, fname)
        results = run_rules(rules, prompts)
        write_json(os.path.join(expected_dir, name + ".json"), "prompts_sha256",
                   [sha256(p) for p in prompts], results)
        stats.add(results, len(prompts))
        print(f"  {name}: {len(rules)} rules x {len(prompts)} prompts "
              f"({time.monotonic() - started:.1f}s)", file=sys.stderr)
    return stats


def yaml_prompts(rules_dir):
    """[(source, prompt, rule_file, rule_name, expected_match)] from tests/*.yaml."""
    try:
        import yaml
    except ImportError:
        sys.exit(f"error: pyyaml is not importable with {sys.executable}; "
                 "pip install -r scripts/reference/requirements.txt")
    out = []
    tests_dir = os.path.join(rules_dir, "tests")
    for fname in sorted(os.listdir(tests_dir)):
        if not fname.endswith((".yaml", ".yml")):
            continue
        with open(os.path.join(tests_dir, fname), encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
        rule_file = doc.get("rule_file")
        for ti, test in enumerate(doc.get("tests") or []):
            if "prompts" in test:
                items = test["prompts"]
            else:
                items = [test.get("prompt")]
            for pi, prompt in enumerate(items):
                if not isinstance(prompt, str):
                    continue
                out.append((f"yaml:{fname}#{ti}.{pi}", prompt, rule_file,
                            test.get("rule_name"), test.get("expected_match")))
    return out


_WORKER_PROMPTS = None
_WORKER_RULES = {}


def _worker_init(prompts):
    global _WORKER_PROMPTS
    import_reference()
    _WORKER_PROMPTS = prompts


def _evaluate_rule(task):
    """Worker: one rule of one file over every shared prompt."""
    source_name, text, rule_index = task
    if source_name not in _WORKER_RULES:
        _WORKER_RULES[source_name] = parse_rules(text, source_name)
    rule = _WORKER_RULES[source_name][rule_index]
    from nova.core.matcher import NovaMatcher
    with contextlib.redirect_stdout(io.StringIO()):
        matcher = NovaMatcher(rule, create_llm_evaluator=False)
    return [verdict(matcher, prompt) for prompt in _WORKER_PROMPTS]


def public_corpus(rules_dir, cases, expected_dir, jobs):
    import multiprocessing

    stats = Stats()
    prompts, sources, expectations = [], [], []
    for source, prompt, rule_file, rule_name, expected in yaml_prompts(rules_dir):
        prompts.append(prompt)
        sources.append(source)
        expectations.append((rule_file, rule_name, expected))
    for name, _fname, _text, case_prompts in cases:
        for index, prompt in enumerate(case_prompts):
            prompts.append(prompt)
            sources.append(f"case:{name}#{index}")
            expectations.append(None)
    head = [{"source": s, "sha256": sha256(p)} for s, p in zip(sources, prompts)]

    rule_files = []
    for sub in ("", "incidents"):
        folder = os.path.join(rules_dir, sub)
        if os.path.isdir(folder):
            rule_files += [sub + "/" + f if sub else f
                           for f in sorted(os.listdir(folder)) if f.endswith(".nov")]

    # Parse every file first; a file the reference rejects is recorded as such.
    parsed, tasks = {}, []
    for rel in rule_files:
        with open(os.path.join(rules_dir, *rel.split("/")), "rb") as fh:
            text = fh.read().decode("utf-8")
        try:
            rules = parse_rules(text, rel)
        except Exception as exc:  # recorded, not fatal: the public rules may change
            parsed[rel] = exc
            continue
        parsed[rel] = rules
        tasks += [(rel, text, index) for index in range(len(rules))]

    started = time.monotonic()
    print(f"  public: {len(tasks)} rules x {len(prompts)} prompts on {jobs} processes",
          file=sys.stderr)
    if jobs > 1:
        with multiprocessing.Pool(jobs, initializer=_worker_init, initargs=(prompts,)) as pool:
            verdicts = pool.map(_evaluate_rule, tasks, chunksize=1)
    else:
        _worker_init(prompts)
        verdicts = [_evaluate_rule(task) for task in tasks]
    by_rule = {(rel, index): v for (rel, _text, index), v in zip(tasks, verdicts)}
    print(f"  public: evaluated in {time.monotonic() - started:.0f}s", file=sys.stderr)

    out_dir = os.path.join(expected_dir, "public")
    for rel in rule_files:
        out_path = os.path.join(out_dir, rel.replace("/", "__") + ".json")
        rules = parsed[rel]
        if isinstance(rules, Exception):
            write_json(out_path, "prompts", head, [], {"rule_file": rel, "parse_error": str(rules)})
            print(f"  {rel}: parse error: {rules}", file=sys.stderr)
            continue
        results = []
        for p_index in range(len(prompts)):
            per_rule = {}
            exp = expectations[p_index]
            for r_index, rule in enumerate(rules):
                entry = dict(by_rule[(rel, r_index)][p_index])
                if exp and exp[0] == rel and exp[1] == rule.name and exp[2] is not None:
                    entry["yaml_expected_match"] = bool(exp[2])
                per_rule[rule.name] = entry
            results.append({"prompt": p_index, "rules": per_rule})
        write_json(out_path, "prompts", head, results, {"rule_file": rel})
        stats.add(results, 0)
    stats.prompts = len(prompts)  # the same prompts for every file
    return stats


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-public", action="store_true",
                        help="do not evaluate the public nova-rules corpus")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="processes for the public corpus (default: all CPUs)")
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help="only these case names (implies --skip-public)")
    args = parser.parse_args()

    import_reference()
    root = repo_root()
    scan_dir = os.path.join(root, "tests", "data", "scan")
    expected_dir = os.path.join(scan_dir, "expected")
    cases = load_cases(os.path.join(scan_dir, "cases"), set(args.only or []))
    if not cases:
        sys.exit("error: no scan cases found")

    stats = own_corpus(cases, expected_dir)
    print(stats.line("own corpus"))

    if args.skip_public or args.only:
        return
    rules_dir = os.environ.get("NOVA_RULES_DIR") or os.path.join(
        os.path.dirname(root), "shared", "corpus", "nova-rules")
    if not os.path.isdir(rules_dir):
        print(f"public rules not found at {rules_dir}; skipped (set NOVA_RULES_DIR)")
        return
    print(public_corpus(rules_dir, cases, expected_dir, max(1, args.jobs)).line("public rules"))


if __name__ == "__main__":
    main()
