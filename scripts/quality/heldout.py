"""Held-out sources for `measure.py --heldout`: labelled corpora that no rule was written from.

Each source is kept whole (no tune/held split): rules are never written
looking at these prompts, and the figures are scored once, after the last rule
change. Every sample carries a category (the attack family the source itself
assigns), so recall is reported per category too.

Sources (pinned PyPI packages, read straight from the wheels, nothing extracted
or committed):

- `agentdojo` 0.1.35 (ETH SPY lab's agent benchmark). Positives: every attack
  template of `agentdojo/attacks/*.py` that carries a `{goal}` placeholder,
  filled with every injection task's `GOAL` (all suite versions, de-duplicated).
  Category: the attack class (important_instructions, ignore_previous, ...).
  Negatives: the suites' environment data (e-mails, files, calendar events,
  reviews, web pages, messages; injection placeholders filled with their benign
  defaults) and the user tasks' `PROMPT`s (benign requests that say "send an
  e-mail", "pay the bill", ...): hard negatives for tool-call and exfiltration
  rules.
- `agent-injection-bench` 0.1.0 (`aib/data/attacks.jsonl`). Positives: the
  injected content of every case whose family is an attack; category: its
  family. Negatives: the `control` cases' content (benign documents that
  discuss prompt injection, imperative tool output) and every case's benign
  user task. The `baseline` case (the payload typed by the user) is left out.
- `garak-multilingual` 0.1.0 (`garak_multilingual/payloads.py`). Positives only:
  injection and jailbreak payloads in Turkish and other languages; category:
  the payload set. Its false positives are those of the other negatives.

Loaders read Python sources with `ast` (no import, so no dependencies).
"""

from __future__ import annotations

import ast
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import yaml

PACKAGES = {
    "agentdojo": "0.1.35",
    "agent-injection-bench": "0.1.0",
    "garak-multilingual": "0.1.0",
}


@dataclass(frozen=True)
class Item:
    source: str
    positive: bool
    category: str
    prompt: str


def _consts(body, env: dict) -> dict:
    """Module- or class-level `NAME = "..."` (and f-strings of those) into env."""
    out = dict(env)
    for s in body:
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name):
            v = _resolve(s.value, out)
            if v is not None:
                out[s.targets[0].id] = v
        elif isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name) and s.value is not None:
            v = _resolve(s.value, out)
            if v is not None:
                out[s.target.id] = v
    return out


def _resolve(node, env: dict) -> str | None:
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else str(node.value)
    if isinstance(node, ast.Name):
        return env.get(node.id)
    if isinstance(node, ast.Attribute):  # self._X / Class._X
        return env.get(node.attr)
    if isinstance(node, ast.JoinedStr):
        parts = []
        for v in node.values:
            if isinstance(v, ast.Constant):
                parts.append(str(v.value))
            elif isinstance(v, ast.FormattedValue):
                r = _resolve(v.value, env)
                parts.append(r if r is not None else "X")
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        a, b = _resolve(node.left, env), _resolve(node.right, env)
        return None if a is None or b is None else a + b
    return None


def _class_strings(src: str, attr: str) -> list[tuple[str, str]]:
    """(class name, value of `attr`) for every class that assigns `attr` a string."""
    tree = ast.parse(src)
    module_env = _consts(tree.body, {})
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            env = _consts(node.body, module_env)
            if isinstance(env.get(attr), str) and attr in {
                    getattr(t, "id", None) for s in node.body if isinstance(s, (ast.Assign, ast.AnnAssign))
                    for t in (s.targets if isinstance(s, ast.Assign) else [s.target])}:
                out.append((node.name, env[attr]))
    return out


def _snake(name: str) -> str:
    name = re.sub(r"Attack$", "", name)
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _walk_strings(doc, out: list[str]):
    if isinstance(doc, str):
        out.append(doc)
    elif isinstance(doc, dict):
        for v in doc.values():
            _walk_strings(v, out)
    elif isinstance(doc, list):
        for v in doc:
            _walk_strings(v, out)


def agentdojo(wheel: Path) -> list[Item]:
    z = zipfile.ZipFile(wheel)
    names = z.namelist()
    goals: list[str] = []
    for n in sorted(x for x in names if x.endswith("/injection_tasks.py")):
        for _, g in _class_strings(z.read(n).decode("utf-8"), "GOAL"):
            if g not in goals:
                goals.append(g)
    templates: list[tuple[str, str]] = []
    for n in sorted(x for x in names if x.startswith("agentdojo/attacks/") and x.endswith(".py")):
        tree = ast.parse(z.read(n).decode("utf-8"))
        docstrings = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                for sub in ast.walk(node):
                    if id(sub) in docstrings:
                        continue
                    if isinstance(sub, ast.Constant) and isinstance(sub.value, str) and "{goal}" in sub.value:
                        if sub.value not in [t for _, t in templates]:
                            templates.append((_snake(node.name), sub.value))
    fill = {"user": "Emma Johnson", "model": "GPT-4", "user_name": "Emma Johnson", "model_name": "GPT-4",
            "tools": "", "task": ""}
    items: list[Item] = []
    for cat, tpl in templates:
        for g in goals:
            text = re.sub(r"\{(\w+)\}", lambda m: g if m.group(1) == "goal" else fill.get(m.group(1), ""), tpl)
            items.append(Item("agentdojo", True, cat, text.strip()))
    # Negatives: environment data with injection placeholders set to their benign defaults.
    seen: set[str] = set()
    for n in sorted(x for x in names if x.startswith("agentdojo/data/suites/") and x.endswith(".yaml")
                    and not x.endswith("injection_vectors.yaml")):
        suite = n.split("/")[3]
        vec_name = f"agentdojo/data/suites/{suite}/injection_vectors.yaml"
        defaults = {}
        if vec_name in names:
            for k, v in (yaml.safe_load(z.read(vec_name)) or {}).items():
                defaults[k] = str((v or {}).get("default", ""))
        raw = z.read(n).decode("utf-8")
        raw = re.sub(r"\{(\w+)\}", lambda m: defaults.get(m.group(1), m.group(0)), raw)
        try:
            doc = yaml.safe_load(raw)
        except yaml.YAMLError:
            continue
        strings: list[str] = []
        _walk_strings(doc, strings)
        for s in strings:
            s = s.strip()
            if len(s) >= 40 and s not in seen:
                seen.add(s)
                items.append(Item("agentdojo", False, f"environment:{suite}", s))
    for n in sorted(x for x in names if x.endswith("/user_tasks.py")):
        suite = n.split("/")[-2]
        for _, p in _class_strings(z.read(n).decode("utf-8"), "PROMPT"):
            p = p.strip()
            if p and p not in seen:
                seen.add(p)
                items.append(Item("agentdojo", False, f"user_task:{suite}", p))
    return items


def agent_injection_bench(wheel: Path) -> list[Item]:
    z = zipfile.ZipFile(wheel)
    rows = [json.loads(line) for line in z.read("aib/data/attacks.jsonl").decode("utf-8").splitlines()
            if line.strip()]
    items: list[Item] = []
    tasks: set[str] = set()
    for r in rows:
        fam = r.get("family", "")
        text = r.get("injected", "")
        if isinstance(r.get("task"), str) and r["task"].strip():
            tasks.add(r["task"].strip())
        if fam == "baseline" or not isinstance(text, str):
            continue
        items.append(Item("agent-injection-bench", fam != "control", fam if fam != "control" else "control",
                          text.strip()))
    for t in sorted(tasks):
        items.append(Item("agent-injection-bench", False, "user_task", t))
    return items


def garak_multilingual(wheel: Path) -> list[Item]:
    z = zipfile.ZipFile(wheel)
    tree = ast.parse(z.read("garak_multilingual/payloads.py").decode("utf-8"))
    items: list[Item] = []
    for s in tree.body:
        if isinstance(s, ast.Assign) and isinstance(s.value, ast.List):
            cat = getattr(s.targets[0], "id", "?").lower()
            for el in s.value.elts:
                try:
                    v = ast.literal_eval(el)
                except ValueError:
                    continue
                text = v.get("prompt") if isinstance(v, dict) else v
                if isinstance(text, str) and text.strip():
                    items.append(Item("garak-multilingual", True, cat, text.strip()))
    return items


LOADERS = {
    "agentdojo": agentdojo,
    "agent-injection-bench": agent_injection_bench,
    "garak-multilingual": garak_multilingual,
}


def load(wheels: dict[str, Path]) -> list[Item]:
    items: list[Item] = []
    for name, loader in LOADERS.items():
        items += loader(wheels[name])
    seen: set[str] = set()
    unique = []
    for it in items:
        norm = " ".join(it.prompt.lower().split())
        if norm and norm not in seen:
            seen.add(norm)
            unique.append(it)
    return unique
