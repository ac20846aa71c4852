"""Rule generator A of the workload family: hand-written templates over a
fixed lexicon, the way a user writes detection rules by hand.

Literals are 1-4 word phrases (`bypass the system prompt`, `rm -rf /`);
regexes take the shapes real rule sets use: verb phrases with optional
groups (`ignore\\s+(all\\s+)?(the\\s+)?previous\\s+instructions`), command
alternations (`\\b(sudo|curl|nc -e)\\b`), stems (`exfiltrat\\w*`), API keys,
base64 runs, SSNs, e-mail addresses and URLs, and (for the Unicode share)
Cyrillic and CJK atoms with `\\w`, `\\b` and `[а-я]` classes.

It shares no code with generator B (`family_gen_b.py`) nor with the Rust
generator of `benches/lib.rs`. `generate(n, ...)` returns (source, plants):
the `.nov` text and texts that satisfy some rules (to plant in prompts).
Cost: pure Python, ~0.1 s per 1,000 rules.
"""

import random

COMMON = """system prompt user answer question data file help write code list text report email account
page server service request review summary message document table value result search update change
test support access time work project team order price please make sure new first last next other
all any some every good best more most only also just still even back home open close start stop run
show tell give take send read check find keep turn call need want like know think see look use get
""".split()

RARE = """jailbreak exfiltrate ransomware keylogger shellcode mimikatz steganography rootkit backdoor
doxxing counterfeit narcotics obfuscated powershell guardrails impersonate undetectable persistence
privesc cryptominer botnet phishing spearphish typosquat deserialize sandbox hypervisor kerberoast
lateral beacon implant dropper stager loader payload cobaltstrike meterpreter netcat reverse
""".split()

VERBS = ["ignore", "disregard", "forget", "bypass", "override", "skip", "drop", "reveal", "print", "show",
         "leak", "dump", "repeat", "output", "disable", "remove"]
DETS = ["all", "the", "any", "your", "my", "these", "those", "every"]
ADJS = ["previous", "prior", "above", "earlier", "original", "hidden", "system", "initial", "safety", "secret"]
NOUNS = ["instructions", "rules", "prompt", "guidelines", "directives", "policies", "filters", "context",
         "constraints", "messages"]
COMMANDS = ["sudo", "curl", "wget", "nc -e", "bash -i", "chmod 777", "rm -rf", "powershell -enc", "certutil",
            "mshta", "regsvr32", "python -c", "perl -e", "base64 -d", "nmap", "ssh", "scp", "ftp", "tftp"]
KEY_PREFIXES = ["sk-", "sk_live_", "pk_live_", "AKIA", "ghp_", "gho_", "xoxb-", "xoxp-", "AIza", "glpat-",
                "hf_", "rk_live_", "SG.", "key-", "tok_"]
TLDS = ["com", "org", "net", "io", "ru", "cn", "dev", "xyz"]

RU_ATOMS = ["пароль", "секрет", "инструкци", "игнорир", "предыдущ", "систем", "доступ", "команд",
            "взлом", "обход", "запрет", "ключ", "токен", "админ", "правил"]
ZH_ATOMS = ["忽略", "指令", "密码", "系统", "提示", "秘密", "绕过", "限制", "管理员", "命令", "访问", "规则"]


def _phrase(rng, words, k):
    return " ".join(rng.choice(words) for _ in range(k))


def _literal(rng, rare, case, unicode):
    """(written, sample) of a literal keyword."""
    if unicode:
        text = rng.choice(RU_ATOMS + ZH_ATOMS) + (rng.choice(["а", "ы", "ь", ""]) if rng.random() < 0.5 else "")
    elif rng.random() < 0.05:
        text = rng.choice(COMMANDS) + rng.choice([" /", " http", " -x", ""])
    else:
        k = rng.choice([1, 2, 2, 3, 3, 4])
        words = [rng.choice(RARE) if rng.random() < rare else rng.choice(COMMON) for _ in range(k)]
        if k == 1 and not rare:  # single common words are rare in rules: make it a two-word phrase
            words.append(rng.choice(COMMON))
        text = " ".join(words)
    if case:
        text = text[:1].upper() + text[1:]
        return f'"{text} case:true"', text
    return f'"{text}"', text


def _regex(rng, rare, unicode):
    """(body, sample, ascii_word_atom) of a regex keyword."""
    def word():
        return rng.choice(RARE) if rng.random() < rare else rng.choice(COMMON)

    if unicode:
        shape = rng.randrange(5)
        a, b = rng.choice(RU_ATOMS), rng.choice(RU_ATOMS)
        z1, z2 = rng.choice(ZH_ATOMS), rng.choice(ZH_ATOMS)
        if shape == 0:
            return rf"\b{a}\w*", a + "ия"
        if shape == 1:
            return rf"\b{a}\w*\s+(все\s+)?{b}\w*", f"{a}ую {b}ы"
        if shape == 2:
            return rf"[а-яё]+\s+{a}", f"все {a}"
        if shape == 3:
            return rf"{z1}.{{0,6}}{z2}", f"{z1}所有{z2}"
        return rf"\w+\s*{z1}", f"请{z1}"
    shape = rng.randrange(10)
    if shape <= 2:  # verb phrase with optional groups
        v, n = rng.choice(VERBS), rng.choice(NOUNS)
        adj = rng.choice(ADJS) if rare < 0.5 else word()
        opts = "".join(rf"({d}\s+)?" for d in rng.sample(DETS, rng.randint(1, 2)))
        return rf"{v}\s+{opts}{adj}\s+{n}", f"{v} {adj} {n}"
    if shape == 3:  # command alternation
        alts = rng.sample(COMMANDS, rng.randint(2, 5))
        if rng.random() < 0.5:
            alts[0] = word()
        return r"\b(" + "|".join(alts) + r")\b", alts[-1]
    if shape == 4:  # stem
        w = word()
        stem = w[: max(3, len(w) - rng.randint(1, 3))]
        return rf"\b{stem}\w*", w
    if shape == 5:  # api key
        p = rng.choice(KEY_PREFIXES)
        n = rng.choice([16, 20, 24, 32, 36])
        return rf"{p.replace('.', chr(92) + '.')}[A-Za-z0-9_]{{{n},}}", p + "a1B2" * (n // 4 + 1)
    if shape == 6:  # base64 run
        n = rng.choice([20, 32, 40, 64])
        return rf"[A-Za-z0-9+/]{{{n},}}={{0,2}}", "QUJD" * (n // 4 + 1)
    if shape == 7:  # SSN / phone-like numbers
        sep = rng.choice(["-", r"[- ]", r"[-. ]?"])
        return rf"\b\d{{3}}{sep}\d{{2}}{sep}\d{{4}}\b", "123-45-6789"
    if shape == 8:  # e-mail
        w = word()
        tld = rng.choice(TLDS)
        return rf"[\w.+-]+@[\w-]*{w}[\w-]*\.{tld}\b", f"bob@{w}.{tld}"
    w = word()  # URL
    return rf"https?://[\w.-]*{w}[\w./?=&-]*", f"https://{w}.example.com/x"


def _rule(rng, i, regex_share, rare, case_share, unicode_share):
    count = rng.randint(2, 6)
    keywords, plants = [], []
    for k in range(count):
        unicode = rng.random() < unicode_share
        if rng.random() < regex_share:
            body, sample = _regex(rng, rare, unicode)
            flag = "" if rng.random() < case_share else "i"
            keywords.append(f"/{body}/{flag}")
        else:
            written, sample = _literal(rng, rare, rng.random() < case_share, unicode)
            keywords.append(written)
        plants.append(sample)
    shape = rng.random()
    if shape < 0.45 or count < 3:
        cond = "any of keywords.*"
        plant = rng.choice(plants)
    elif shape < 0.7:
        cond = "2 of keywords.*"
        plant = plants[0] + " and " + plants[1]
    elif shape < 0.9:
        rest = " or ".join(f"$k{j}" for j in range(2, count + 1))
        cond = f"$k1 and ({rest})"
        plant = plants[0] + " then " + plants[-1]
    else:
        cond = f"any of keywords.* and not $k{count}"
        plant = plants[0]
    lines = [f"rule FamA{i:05d}", "{", "    meta:", f'        description = "family generator A rule {i}"',
             '        severity = "high"', "", "    keywords:"]
    lines += [f"        $k{j + 1} = {kw}" for j, kw in enumerate(keywords)]
    lines += ["", "    condition:", f"        {cond}", "}", ""]
    return "\n".join(lines), plant


def generate(n, regex_share=0.3, rare=0.0, case_share=0.1, unicode_share=0.0, seed=1):
    rng = random.Random(f"family-a/{seed}")
    texts, plants = [], []
    for i in range(n):
        text, plant = _rule(rng, i, regex_share, rare, case_share, unicode_share)
        texts.append(text)
        plants.append(plant)
    return "\n".join(texts), plants
