#!/usr/bin/env python3
"""Record what the reference NOVA parser says about every tests/data/parse/*.nov.

For each file the reference's file-mode parser
(`NovaRuleFileParser().parse_content(text, source_name=<file name>)`) is run on
the file's bytes decoded as UTF-8 (no newline translation, a BOM is kept).
The result goes to tests/data/parse/reference.json:

    {"<file>.nov": {"accepted": bool,
                    "rules": [rule names in file order] | null,
                    "error": "<reference error message>" | null,
                    "always_false": bool}}

`always_false` is true when the file is accepted but at least one of its rules
can never match: the reference's own `evaluate_condition` is run over every
assignment of the variables the matcher would feed it (exhaustive up to 12
variables, otherwise all-false, all-true and 4096 seeded random assignments)
and none gives True.

Usage:  <python of a venv with nova-hunting 0.3.1> scripts/reference/parse_expectations.py
"""

import contextlib
import io
import itertools
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _nova_env import import_reference, repo_root  # noqa: E402

EXHAUSTIVE_LIMIT = 12
RANDOM_SAMPLES = 4096


def evaluated_variables(rule, matcher):
    """Variables the matcher evaluates for this rule, per section."""
    needed = matcher._cached_needed_patterns
    out = {}
    for section, patterns in (("keywords", rule.keywords), ("semantics", rule.semantics),
                              ("llm", rule.llms)):
        out[section] = [name for name in patterns
                        if name in needed[section] or section in needed["section_wildcards"]]
    return out


def can_ever_match(rule, nova_matcher, evaluate_condition):
    matcher = nova_matcher.NovaMatcher(rule, create_llm_evaluator=False)
    variables = evaluated_variables(rule, matcher)
    flat = [(section, name) for section, names in variables.items() for name in names]

    def check(values):
        dicts = {"keywords": {}, "semantics": {}, "llm": {}}
        for (section, name), value in zip(flat, values):
            dicts[section][name] = value
        return bool(evaluate_condition(rule.condition, dicts["keywords"],
                                       dicts["semantics"], dicts["llm"]))

    if len(flat) <= EXHAUSTIVE_LIMIT:
        assignments = itertools.product((False, True), repeat=len(flat))
    else:
        rng = random.Random(0x4E4F5641)
        assignments = itertools.chain(
            [(False,) * len(flat), (True,) * len(flat)],
            (tuple(rng.random() < 0.5 for _ in flat) for _ in range(RANDOM_SAMPLES)))
    return any(check(values) for values in assignments)


def main():
    import_reference()
    from nova.core.rule_file import NovaRuleFileParser
    from nova.core.parser import NovaParserError
    from nova.evaluators.condition import evaluate_condition
    import nova.core.matcher as nova_matcher

    parse_dir = os.path.join(repo_root(), "tests", "data", "parse")
    names = sorted(n for n in os.listdir(parse_dir) if n.endswith(".nov"))
    if not names:
        sys.exit(f"error: no .nov files in {parse_dir}")

    results = {}
    for name in names:
        with open(os.path.join(parse_dir, name), "rb") as fh:
            text = fh.read().decode("utf-8")
        entry = {"accepted": False, "rules": None, "error": None, "always_false": False}
        try:
            # The parser prints unused-variable warnings on stdout; drop them.
            with contextlib.redirect_stdout(io.StringIO()):
                rules = NovaRuleFileParser().parse_content(text, source_name=name)
        except NovaParserError as exc:
            entry["error"] = str(exc)
        else:
            entry["accepted"] = True
            entry["rules"] = [rule.name for rule in rules]
            entry["always_false"] = not all(
                can_ever_match(rule, nova_matcher, evaluate_condition) for rule in rules)
        results[name] = entry

    out_path = os.path.join(parse_dir, "reference.json")
    with open(out_path, "w", encoding="utf-8", newline="\n") as fh:
        json.dump(results, fh, ensure_ascii=False, indent=2, sort_keys=True)
        fh.write("\n")
    accepted = sum(1 for e in results.values() if e["accepted"])
    always_false = sum(1 for e in results.values() if e["always_false"])
    print(f"{len(results)} files: {accepted} accepted ({always_false} always false), "
          f"{len(results) - accepted} rejected -> {os.path.relpath(out_path, repo_root())}")


if __name__ == "__main__":
    main()
