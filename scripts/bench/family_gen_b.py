"""Rule generator B of the workload family: atoms mined from a text sample,
regexes composed at random from a small grammar.

Where generator A (`family_gen_a.py`) fills hand-written templates from a
fixed lexicon, B counts the word n-grams of a sample text (pass text in the
language of the prompts: the atoms then occur in them at their natural
rates). "Common" atoms are drawn from the most frequent n-grams by rank;
"rare" atoms are pseudo-words built from syllables, which never occur in
prompts unless planted. Regexes are random trees: a sequence of 1-3 atom
nodes (a token, a truncated stem plus `\\w*` / `[a-z]{0,n}`, an alternation
of tokens, a token with one letter widened to a class) joined by gaps
(`\\s+`, `\\W{1,3}`, `.{0,n}`, `[\\s_-]*`), optionally framed by `\\b`.
Conditions are nested boolean expressions over the variables.

It shares no code with generator A nor with `benches/lib.rs`.
`generate(n, sample_text, ...)` returns (source, plants).
Cost: pure Python, ~0.2 s per 1,000 rules plus one pass over the sample.
"""

import collections
import random
import re

SYLLABLES = ["ka", "zo", "vri", "xel", "mun", "tor", "qui", "ply", "dra", "fen", "gux", "hob", "jir", "lut",
             "nex", "osk", "pry", "rax", "sul", "tiv", "ump", "vok", "wyz", "yen", "zar"]
RU_SYLLABLES = ["ка", "зо", "вра", "мун", "тор", "пли", "дра", "фен", "хоб", "жир", "лут", "нэк", "оск", "рах"]


class Miner:
    """Ranks the 1-3 word n-grams of a text by frequency."""

    def __init__(self, text, rng):
        self.rng = rng
        tokens = []
        for t in re.findall(r"\w+", text.lower()):
            if any("\u4e00" <= ch <= "\u9fff" for ch in t):  # CJK runs: two-character chunks
                tokens += [t[k:k + 2] for k in range(0, len(t) - 1, 2)]
            else:
                tokens.append(t)
        counts = collections.Counter()
        for n in (1, 2, 3):
            for i in range(len(tokens) - n + 1):
                gram = tokens[i:i + n]
                if n == 1 and len(gram[0].encode()) < 4:
                    continue  # single short words would match everywhere: real rules avoid them
                cjk = "\u4e00" <= gram[0][:1] <= "\u9fff"
                counts[("" if cjk else " ").join(gram)] += 1
        ranked = [g for g, c in counts.most_common() if c >= 2]
        self.ranked = ranked or ["lorem ipsum"]
        self.words = sorted({t for t in tokens if len(t) >= 3}) or ["lorem"]
        self.cyrillic = any("а" <= ch <= "я" for ch in text[:2000])

    def common(self):
        # Zipf-like pick over the ranking.
        i = int(len(self.ranked) * self.rng.random() ** 3)
        return self.ranked[min(i, len(self.ranked) - 1)]

    def word(self):
        return self.rng.choice(self.words)

    def rare(self):
        syl = RU_SYLLABLES if self.cyrillic and self.rng.random() < 0.5 else SYLLABLES
        return "".join(self.rng.choice(syl) for _ in range(self.rng.randint(3, 5)))

    def atom(self, rare):
        return self.rare() if self.rng.random() < rare else self.common()


def _esc(text):
    return re.sub(r"([.^$*+?()\[\]{}|\\/])", r"\\\1", text)


def _node(rng, miner, rare, unicode):
    """(regex, sample) of one atom node."""
    kind = rng.randrange(5)
    tok = miner.atom(rare)
    if kind == 0:
        return _esc(tok).replace(" ", r"\s+"), tok
    if kind == 1:  # stem
        w = tok.split()[-1]
        stem = w[: max(2, len(w) * 2 // 3)]
        tail = r"\w*" if unicode or rng.random() < 0.5 else "[a-z]{0,%d}" % rng.randint(2, 8)
        return _esc(stem) + tail, stem
    if kind == 2:  # alternation
        alts = sorted({miner.atom(rare) for _ in range(rng.randint(2, 6))})
        return "(?:" + "|".join(_esc(a).replace(" ", r"\s+") for a in alts) + ")", alts[0]
    if kind == 3 and unicode:  # a Unicode class run next to the token
        cls = rng.choice([r"[а-яё]{2,}", r"[\u0400-\u04ff]+", r"\w{3,}", r"[^\x00-\x7f]+"])
        return cls + r"\s" + _esc(tok), "текст " + tok
    w = tok  # one letter widened to a class (homoglyph-style)
    j = rng.randrange(len(w))
    if w[j].isalpha():
        cls = "[" + w[j] + w[j].upper() + ("еe" if w[j] in "eе" else "") + "]"
        return (_esc(w[:j]) + cls + _esc(w[j + 1:])).replace(" ", r"\s+"), w
    return _esc(w), w


GAPS = [(r"\s+", " "), (r"\W{1,3}", ", "), (r".{0,%d}", " x "), (r"[\s_-]*", "_")]


def _regex(rng, miner, rare, unicode):
    parts, sample = [], []
    for k in range(rng.choice([1, 1, 2, 2, 3])):
        if k:
            gap, s = rng.choice(GAPS)
            if "%d" in gap:
                gap = gap % rng.choice([10, 20, 40, 80])
            parts.append(gap)
            sample.append(s)
        body, s = _node(rng, miner, rare, unicode)
        parts.append(body)
        sample.append(s)
    body = "".join(parts)
    if rng.random() < 0.4:
        body = r"\b" + body + r"\b"
    return body, "".join(sample)


def _condition(rng, names):
    """A random boolean tree over `names` that uses each of them once."""
    if len(names) == 1:
        return names[0]
    if rng.random() < 0.3:
        return rng.choice(["any of keywords.*", "any of keywords.*", f"{min(2, len(names))} of keywords.*"])
    cut = rng.randint(1, len(names) - 1)
    left, right = _condition(rng, names[:cut]), _condition(rng, names[cut:])
    op = "or" if rng.random() < 0.7 else "and"
    return f"({left} {op} {right})"


def generate(n, sample_text, regex_share=0.3, rare=0.0, case_share=0.1, unicode_share=0.0, seed=2):
    rng = random.Random(f"family-b/{seed}")
    miner = Miner(sample_text, rng)
    out, plants = [], []
    for i in range(n):
        names, lines, samples = [], [], []
        for j in range(rng.randint(1, 7)):
            name = f"$w{j}"
            unicode = rng.random() < unicode_share
            case = rng.random() < case_share
            if rng.random() < regex_share:
                body, s = _regex(rng, miner, rare, unicode)
                lines.append(f"{name} = /{body}/{'' if case else 'i'}")
            else:
                s = miner.atom(rare)
                lines.append(f'{name} = "{s} case:true"' if case else f'{name} = "{s}"')
            names.append(name)
            samples.append(s)
        cond = _condition(rng, names)
        out.append("rule Mined%d\n{\n  meta:\n    generator = \"B\"\n  keywords:\n    %s\n  condition:\n    %s\n}\n"
                   % (i, "\n    ".join(lines), cond))
        plants.append(" ".join(samples))  # all of them: satisfies any condition without `not`
    return "\n".join(out), plants
