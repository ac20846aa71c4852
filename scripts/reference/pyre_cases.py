#!/usr/bin/env python3
"""Regenerates crates/novac/tests/data/pyre_cases.json: Python 3.11 `re`
answers for the translator test table of `crates/novac/src/keywords/pyre.rs`.

Each case is a Python pattern and a haystack; this script records what
`re.compile(pattern, flags).search(haystack)` gives (the span in *character*
offsets, or null), or that compiling raises (any exception, as the NOVA
reference would fail to load the rule). Optional fields, read by the Rust test:

* "ignorecase": compile with re.IGNORECASE (as NOVA does for /.../i rules;
  novac applies it with RegexBuilder::case_insensitive),
* "expect": the TranslateErrorKind novac must report although Python accepts
  the pattern (lookaround, backreferences, ... are rejected by design),
* "known_diff": a documented Python/Rust difference; the test then only
  requires the translation to succeed,
* "rule": where a regex comes from in the public NOVA rules.

Usage (system python3 must be 3.11, the version the reference runs on):

    python3 scripts/reference/pyre_cases.py

The JSON file is checked in; rerun this after editing the cases.
"""

import json
import re
import sys
import warnings
from pathlib import Path

OUT = Path(__file__).resolve().parents[2] / "crates/novac/tests/data/pyre_cases.json"

# (pattern, haystack[, options]) -- options: ignorecase / expect / known_diff
CASES = [
    # --- `$`, `\Z`, `\A`, `^` -------------------------------------------
    (r"abc$", "abc"),
    (r"abc$", "abc\n"),          # `$` before a final newline: Rust span ends after it
    (r"abc$", "abc\n\n"),
    (r"abc$", "abcd"),
    (r"a$|b", "a\nb"),
    (r"(a$)", "xa\n"),
    (r"(?:x|a$)?", "a\n"),
    (r"(?:foo|bar$)", "xbar\n"),
    (r"^$", ""),
    (r"^$", "\n"),
    (r"^\s*$", "  \t\n"),
    (r"(?m)^b$", "a\nb\nc"),
    (r"(?m)a$", "a\r\n"),
    (r"(?m:a$)b", "a\nb"),
    (r"a$\n", "a\n", {"expect": "Unsupported"}),
    (r"(?:a$|\n){2}", "a\n", {"expect": "Unsupported"}),
    (r"a\Z", "a\n"),
    (r"a\Z", "xa"),
    (r"\Aab", "ab"),
    (r"\Aab", "cab"),
    (r"^ab", "cab"),
    (r"(?m)^ab", "c\nab"),
    (r"^*", ""),
    (r"\b+a", "a"),
    (r"(?:^)*a", "ba"),
    (r"(?:\b)+a", "b a"),
    # --- repetition braces ----------------------------------------------
    (r"a{,3}", "aaaa"),
    (r"a{2,}", "aaaa"),
    (r"a{2}", "aaa"),
    (r"a{,}", "aa"),
    (r"a{0}b", "ab"),
    (r"x{", "x{"),
    (r"x{}", "x{}"),
    (r"x{a}", "x{a}"),
    (r"x{1,2", "x{1,2"),
    (r"x{ 1}", "x{ 1}"),
    (r"x{1,2}}", "xx}"),
    (r"{1}", "{1}"),
    (r"{", "a{"),
    (r"}", "a}"),
    (r"{}", "{}"),
    (r"a{3,2}", "aaa"),
    (r"a{1}{2}", "aa"),
    (r"a{99999999999}", "a"),
    (r"a{2}?", "aaa"),
    (r"a{2,3}?", "aaa"),
    (r"a{2,3}+", "aaa", {"expect": "PossessiveQuantifier"}),
    # --- escapes ----------------------------------------------------------
    (r"a\<b\>c", "a<b>c"),
    (r"\/\/", "x//y"),
    (r"\-\'\"\#\&\~\!\@\%\=\:\,\;\_\`", "-'\"#&~!@%=:,;_`"),
    (r"\{\}\[\]\(\)\.\*\+\?\^\$\|\\", "{}[]().*+?^$|\\"),
    (r"ms\-msdt\:\/id", "ms-msdt:/id"),
    (r"\x41\u00e9\U0001F600", "xAé😀"),
    (r"\N{EM DASH}", "a—b"),
    (r"\N{em dash}", "a—b"),
    (r"\N{NOT A CHARACTER NAME}", "x"),
    (r"\N{ZERO WIDTH SPACE}+", "a\u200b\u200bb"),
    (r"\N{CJK UNIFIED IDEOGRAPH-4E2D}", "中文", {"expect": "Unsupported"}),  # not in novac's table
    (r"\N{LATIN SMALL LETTER Q}", "aqb", {"expect": "Unsupported"}),
    (r"\0", "a\x00"),
    (r"\012", "a\n"),
    (r"\101", "xA"),
    (r"\18", "a"),
    (r"(a)\1", "aa", {"expect": "Backreference"}),
    (r"\8", "8"),
    (r"\a\f\v\t", "\a\f\v\t"),
    (r"\q", "q"),
    (r"\e", "e"),
    (r"\z", "z"),
    (r"\G", "G"),
    (r"\p{L}", "a"),
    (r"\é", "é"),
    (r"a\ b", "a b"),
    ("a\\", "a"),
    (r"\x4", "x4"),
    (r"\u12", "u12"),
    (r"\U00110000", "x"),
    (r"\ud800", "x"),
    (r"a|\ud800", "a"),
    # --- \s \d \w \b --------------------------------------------------------
    (r"a\sb", "a\x1cb"),
    (r"a\Sb", "a\x1cb"),
    (r"[\s]", "x\x1f"),
    (r"[^\s]", "\x1f x"),
    (r"[\S]", "\x1e"),
    (r"[^\S]", "a\x1db"),
    (r"\s+", "a\u00a0\u2003\u3000b"),
    (r"\d+", "abc١٢٣"),
    (r"\w+", "Привет мир"),
    (r"\w+", "中文字"),
    (r"\w+", "Straße"),
    (r"\bмир\b", "Привет мир!"),
    (r"\bмир\b", "Приветмир"),
    (r"\bbar\b", "foobar bar"),
    (r"\b\w+\b", "naïve"),
    (r"\Bar\b", "bar"),
    (r"\bé", "café é"),
    (r"\w+", "x²"),
    (r"\w+", "e\u0301x"),
    (r"\W+", "a\u200db"),
    (r"ignore\W*previous", "ignore\ufe0f previous"),
    (r"i\b", "i\u0307", {"known_diff": "Rust's \\b counts combining marks as word characters"}),
    (r"\B", "", {"known_diff": "Python's \\B never matches in an empty text; novac never scans blank text"}),
    (r"\B", " "),
    (r"[^\W\d]+", "ab12cd"),
    (r"(?a)\w+", "héllo"),
    (r"(?a)\d", "١2"),
    (r"(?a)\s", "\u00a0\x1c "),
    (r"(?a)[\w]+", "abcé"),
    (r"(?a)\bé", "aé é"),
    (r"(?a:\w+)\w", "abé"),
    # --- character classes -----------------------------------------------------
    (r"[]a]+", "x]a]"),
    (r"[^]a]", "]ab"),
    (r"[a-]+", "-a-"),
    (r"[-a]", "x-"),
    (r"[a&&b]+", "&&"),
    (r"[a--b]", "-"),
    (r"[a~~b]", "~"),
    (r"[a||b]", "|"),
    (r"[[]", "x["),
    (r"[[:alpha:]]", "a]"),
    (r"[[:alpha:]]", "b]"),
    (r"[[:alpha:]]", "l]"),
    (r"[\b]", "a\x08"),
    (r"[\d-z]", "z"),
    (r"[a-\d]", "a"),
    (r"[\d-]+", "1-2"),
    (r"[z-a]", "a"),
    (r"[\w.-]+", "a.b-c d"),
    (r"[\]]", "]"),
    (r"[\^a]", "^"),
    (r"[^^]", "^a"),
    (r"[\1]", "\x01"),
    (r"[\8]", "8"),
    (r"[\x41-\x43]+", "ABCD"),
    (r"[\u0400-\u04FF]+", "hi Привет"),
    (r"[ä-ü]+", "aöü"),
    (r"[a", "a"),
    (r"[]", "]"),
    (r"[^]", "a"),
    (r"(?x)[ a]", "b a"),
    (r"(?x)[#]", "#"),
    (r"(?i)[a-c]+", "xABC"),
    (r"[\ud800-\udfff]", "a"),
    (r"[^\ud800]", "a"),
    (r"[\ud7ff-\ue000]+", "\ud7ff\ue000"),
    (r"[=*▄■▌]{4,}", "xx■■■■"),
    # --- groups and flags ------------------------------------------------------
    (r"(?P<name>ab)", "xab"),
    (r"(?P<naïve>a)", "a"),
    (r"(?P<1a>a)", "a"),
    (r"(?P<a>x)(?P<a>y)", "xy"),
    (r"(?P<a>x)(?P=a)", "xx", {"expect": "Backreference"}),
    (r"(?P=a)", "x"),
    (r"(?<name>a)", "a"),
    (r"(?=a)", "a", {"expect": "Lookaround"}),
    (r"(?!a)b", "b", {"expect": "Lookaround"}),
    (r"(?<=a)b", "ab", {"expect": "Lookaround"}),
    (r"(?<!a)b", "b", {"expect": "Lookaround"}),
    (r"(?>a)", "a", {"expect": "AtomicGroup"}),
    (r"(a)(?(1)b|c)", "ab", {"expect": "ConditionalGroup"}),
    (r"a(?#comment)b", "ab"),
    (r"a(?#c)*", "aaa"),
    (r"(?#x\)y)z", "yz"),
    (r"(?#unterminated", "x"),
    (r"(?i)abc", "xABC"),
    (r"(?i:a)b", "AB"),
    (r"(?i:a)b", "Ab"),
    (r"(?i)a(?-i:b)", "AB"),
    (r"(?i)a(?-i:b)", "Ab"),
    (r"a(?i)b", "ab"),
    (r"(?:(?i)a)", "a"),
    (r"a|(?i)b", "b"),
    (r"(?i)(?m)^b", "a\nB"),
    (r"(?#c)(?i)b", "B"),
    (r"(?s).+", "a\nb"),
    (r".+", "a\nb"),
    (r"(?s:.)b", "\nb"),
    (r"(?x) a b # comment\n c", "abc"),
    ("(?x) a b # comment\n c", "abc"),
    ("(?x)a\t\r\x0b\x0cb", "ab"),
    ("(?x)a\u00a0b", "a\u00a0b"),
    (r"(?x)a\ b", "a b"),
    (r"(?x)a{1, 2}", "a{1,2}"),
    (r"(?x)a#c\n*", "aaa"),
    (r"(?x)a* ?", "aa"),
    ("(?x)a # c \\\n b", "ab"),
    (r"(?x:a b)c d", "abc d"),
    (r"(?x)(?-x:a b)", "a b"),
    (r"(?u)a", "a"),
    (r"(?L)a", "a"),
    (r"(?t)a", "a", {"expect": "UnsupportedFlag"}),
    (r"(?au)a", "a"),
    (r"(?a)(?u)a", "a"),
    (r"(?i", "i"),
    (r"(?", "x"),
    (r"(?z)", "z"),
    (r"(?i-i:a)", "a"),
    (r"(?-a:a)", "a"),
    (r"(?i-m)a", "a"),
    (r"(?-i)a", "a"),
    (r"(?i-)a", "a"),
    (r"(?-:a)", "a"),
    (r"(?t:a)", "a"),
    (r"\x4g", "x4g"),
    (r"((a)|b)+", "ab"),
    (r"(a", "a"),
    (r"a)", "a"),
    (r"(?:)", "x"),
    (r"()", "x"),
    (r"a|", "b"),
    (r"|a", "a"),
    (r"(?P<x>a)|(?P<y>b)", "b"),
    # --- quantifiers -------------------------------------------------------------
    (r"a*+", "aa", {"expect": "PossessiveQuantifier"}),
    (r"a++", "aa", {"expect": "PossessiveQuantifier"}),
    (r"a?+", "aa", {"expect": "PossessiveQuantifier"}),
    (r"a**", "aa"),
    (r"*a", "a"),
    (r"a|*", "a"),
    (r"(*)", "a"),
    (r"a*?b", "aaab"),
    (r"a+?", "aaa"),
    (r"a??", "a"),
    (r"(a|ab)(c|bcd)(d*)", "abcd"),
    (r"(?:a*)*b", "aab"),
    (r"(|a)+b", "aab"),
    (r"(a*)+$", "b"),
    # --- case-insensitive (NOVA /i) and non-ASCII --------------------------------
    (r"ignore previous", "IGNORE PREVIOUS", {"ignorecase": True}),
    (r"i", "İ", {"ignorecase": True, "known_diff": "Python's IGNORECASE maps İ (U+0130) to i; Rust's simple case folding does not"}),
    (r"x", "İx", {"ignorecase": True}),
    (r"ß", "Straẞe", {"ignorecase": True}),
    (r"k", "\u212a", {"ignorecase": True}),
    (r"σ", "ς", {"ignorecase": True}),
    (r"(?-i:a)b", "aB", {"ignorecase": True}),
    (r"(?-i:a)b", "AB", {"ignorecase": True}),
    (r"привет", "ПРИВЕТ мир", {"ignorecase": True}),
    # categories never case-fold in Python, inside a class or not
    (r"\w", "\u0345", {"ignorecase": True}),
    (r"\W", "\u0399", {"ignorecase": True}),
    (r"[\w.-]+", "\u0345a.b", {"ignorecase": True}),
    (r"[^\w]", "\u0399\u0345", {"ignorecase": True}),
    (r"[^\w.]", "K.\u212a\u0345", {"ignorecase": True}),
    (r"[\wk]", "\u212a", {"ignorecase": True}),
    (r"[^\sk]", "K\u212a k", {"ignorecase": True}),
    (r"[\d\u017f]+", "S1s", {"ignorecase": True}),
    (r"(?-i:[\wk])x", "\u212aX", {"ignorecase": True}),
    (r"a(?i:[\w.]+)", "a\u0345K", {}),
    (r"😀+", "x😀😀"),
    (r".", "😀"),
    (r"мир$", "Привет, мир\n"),
    (r"中文", "这是中文"),
    (r"\w+", "emoji😀word"),
]

# (rule, pattern, ignorecase, matching haystack, non-matching haystack)
# Extracted from the public NOVA rules (nova-rules/*.nov and incidents/*.nov);
# None as a haystack means: derive it (see rule_haystacks).
RULE_REGEXES = [
    ('incidents/202402_crimson_sandstorm.nov:14 $geo_target',
     '(United States|Turkey|UAE|Israel|Saudi Arabia|Saudi|Kuwait|Bahrain|Jordan|Qatar|Oman|Yemen|american|turkish|emirati|israeli|saudi|kuwaiti|bahraini|jordanian|qatari|omani|yemeni)',
     True, None, None),
    ('incidents/202402_crimson_sandstorm.nov:15 $industry_target',
     '(Aviation|Automotive|Aerospace|Defense|Logistics|Maritime|Information Technology|IT|NGO|Development Agency)',
     True, None, None),
    ('incidents/202402_crimson_sandstorm.nov:16 $lure',
     '(phish|trick|fake|report|invoice|financial|recruitment|job offer|document|agreement|hiring|contract|business|license|access card|password|password reset|MFA|2FA|payroll|resume|cv|application|grant|clearance|update|warning|alert|notification|invitation|statement|tax|legal notice|compliance|court order|refund|benefit|healthcare|insurance|pension|promotion|request|verification|account|credentials|security update|login|bank|wire transfer|remittance)',
     True, None, None),
    ('incidents/202402_crimson_sandstorm.nov:38 $evasion',
     '(obfuscate|bypasses|undetectable|evade|stealth|silently|without detection|no detection)',
     True, None, None),
    ('incidents/202402_crimson_sandstorm.nov:39 $cleanup',
     '(delete files after program exits | clean up all traces after execution | remove logs after process ends | delete working directory silently | remove batch files after use)',
     True, None, None),
    ('incidents/202402_crimson_sandstorm.nov:61 $av_bypass',
     '(disable|turn off|kill|stop|blind|group policy to disable|add to exclusion|modify security policy|impair|minifilter|uninstall|unload driver)',
     True, None, None),
    ('incidents/202402_crimson_sandstorm.nov:62 $av',
     '(defender|mde|crowdstrike|sentinelone|symantec|edr|av|antivirus|carbon black|cb defense|bitdefender|eset|mcafee|kaspersky|sophos|trend micro|cylance|fireeye|falcon|norton|secureworks|zscaler|fsecure|forti|malwarebytes|sysmon|clamav|security log)',
     True, None, None),
    ('incidents/202402_emerald_sleet.nov:14 $identities',
     '(CVE-2022-30190)',
     True, None, None),
    ('incidents/202402_emerald_sleet.nov:15 $reporting_terms',
     '(Follina|MSDT|Support Diagnostic Tool|malicious uri|office protected mode)',
     True, None, None),
    ('incidents/202402_emerald_sleet.nov:16 $tradecraft',
     '(schemas\\.openxmlformats\\.org\\/officeDocument\\/2006\\/relationships\\/oleObject|ms-msdt\\:\\/id|IT_BrowseForFile| HKEY_CLASSES_ROOT\\\\ms\\-msdt)',
     True, None, None),
    ('incidents/202402_emerald_sleet.nov:39 $event_log_text',
     '(attempt made to logon|local group membership|authentication failed|scheduled task was created|permissions were changed|replay attack|logging service has shut down|assigned new logon|suspicious behavior)',
     True, None, None),
    ('incidents/202402_emerald_sleet.nov:40 $etw',
     '(logman query|EventLog\\-Application|EVENT_ENABLE_PROPERTY_SID|PSEtwLogProvider|EventWriteTransfer|WEVT_TEMPLATE|WMI\\\\Autologger)',
     True, None, None),
    ('incidents/202402_emerald_sleet.nov:63 $dprk_individuals',
     "(Andray Abrahamian|Morton Abramowitz|AB Abrams|Felix Abt|Rose Adams|Avram Agov|Rabia Akhtar|David Albright|Steve Andreasen|Ottar Andreasen|Charles Armstrong|Frank Aum|Bradley O Babson|Sung-jun Bae|Eric Ballbach|Alberto Ballesteros|Kil Joo Ban|Chan Young Bang|Jeff Baron|Anna Bartoux|Nathan Beauchamp-Mustafaga|Andrea Berger|Joseph S Bermudez Jr|Paul I Bernstein|Carlotta Bischke|Edward D Blandford|Stephen J Blank|Daniel Bob|Jacob Bogle|Antoine Bondaz|Brian Bridges|Tim Brown|William Brown|Scott Bruce|Irvin Buck|Georgy Bulychev|Leo Byrne|Robert L Carlin|John Carlson|Booseung Chang|Young-Keun Chang|Ronald K Chesser|Mike Chinoy|Taeyong Cho|Young-jin Choi|Kang Choi|S Paul Choi|Eun-ju Choi|Grant Christopher|In-Bum Chun|Christine Chung|Bruce Songhak Chung|James Church|Grace Ruch Clegg|Théo Clément|David Coblentz|Roberta Cohen|Robert Collins|Jonathan Corrado|Ralph Cossa|Stephen Costello|Patrick M Cronin|Christian Curriden|Toby Dalton|Lars-Erik De Geer|Kenneth B Dekleva|John Delury|Joseph Dempsey|Steven Denney|Daniel R DePetris|Lawrence Dermody|Joseph DeThomas|Joseph R DeTrani|Catherine Dill|Suzanne DiMaggio|Andy Dinville|Darcie Draudt|Dan Dueweke|Robert Einhorn|Madelynn Einhorn|Isabel Eliassen|Michael Elleman|Mats Engman|John Erath|John Feffer|Henri Féron|James A Foley|Glyn Ford|Geoffrey Forden|Aidan Foster-Carter|Ruediger Frank|Carla Freeman|Katsuhisa Furukawa|Robert L Gallucci|Markus V Garlauskas|Ken E Gause|Valérie Gelézeau|James Giles|Myong-hyun Go|Euan Graham|William R Graham|Christopher Green|Hugh Griffiths|Derek Grossman|Mel Gurtov|Stephan Haggard|Morton H Halperin|Edward Ham|James Hammond|Samuel S Han|Melissa Hanham|Nick Hansen|Elisa D Harris|David Hawk|Peter Hayes|Siegfried S Hecker|Olli Heinonen|Rebecca K C Hersman|Kate Hewitt|Ryo Hinata-Yamaguchi|James E Hoare|Christine Hong|Dae Un Hong|Chiew-Ping Hoo|Victor WC Hsu|Thomas C Hubbard|George Hutchinson|Dung Huynh|Esther S Im|Randall Ireson|Van Jackson|Brandon Jacobs|Frank Jannuzi|Daniel Jasper|Kyung-joo Jeon|Robert Jervis|Richard Johnson|Benjamin Joinau|Kylie Jones|Jessup Jong|Eun-lee Joung|Jenny Jun|Bong-Geun Jun|Charlie Jung|Youngwoo Jung|Michelle Y Kae|David Kang|Hojye Kang|Charles Kartman|Benjamin Katzeff Silberstein|Harry J Kazianis|Robert Kelley|Pamela Kennedy|James Kiessling|Catherine Killough|Spencer H Kim|Yonho Kim|Eliana E Kim|Sharon Kim|Miles Kim|Jina Kim|Sang Ki Kim|Young Hui Kim|Hyuk Kim|Eric K Kim|Chun Sig Kim|J James Kim|Ju Hyung Kim|Taehyun Kim|Donald Kirk|Stephanie Kleine-Ahlbrandt|Bruce Klingner|Matt Korda|Nat Kretchun|Minseon Ku|Bo Ram Kwon|Sarah Laderman|Frida Lampinen|Robert Lauler|Amber Lee|Charles Lee|Jean H Lee|Byong-Chul Lee|Karin J Lee|Hee Ok Lee|Jongsoo Lee|Joyce Lee|Kristine Lee|Jessica Lee|Yuri Lee|Sang Hyun Lee|Sangsoo Lee|Rachel Minyoung Lee|Juliet Lee|Heeje Lee|Hayoung Lee|Sang Yong Lee|Woori Lee|Seungmin Lee|Helen Lee|Lynn Lee|Jooyung Lee|Mitchell Lerner|James A Lewis|Jeffrey Lewis|Li Nan|Jason Li|Eul-Chul Lim|Jennifer Lind|Jack Liu|David Logan|Artyom Lukin|Kenneth N Luongo|Keith Luse|Michael Madden|JR Mailey|Peter Makowsky|Alexandre Mansourov|Jacob Marx|Philip Maxon|Patrick McEachern|William R McKinney|Garth McLennan|Curtis Melvin|Stephen Mercado|John Merrill|Adam Meyers|Aaron David Miller|Niko Milonopoulos|Wai Moe|Chung-in Moon|Egle Murauskaite|Richard Nephew|Marcus Noland|Tereza Novotna|Frank O'Donnell|Aloysius M O’Neill III|Frank Pabian|Scott Pace|Ramon Pacheco Pardo|Haksoon Paik|Jagannath Panda|John Parachini|Kyung-Ae Park|Terry Park|S Nathan Park|Kee B Park|Won Gon Park|Joshua NT Park|Sulgiye Park|Eric Penton-Voak|James Person|Robert J Peters|Leonid Petrov|Samantha J Pitz|James E Platte|Joshua Pollack|Anton Ponomarenko|Gareth Porter|Robert Potter|Daryl Press|Allison Puccioni|Erika Puhakka|Jong-Yil Ra|Samuel Ramani|Lucy Reed|Mitchell Reiss|Michael Reiterer|Lucas Rengifo-Keller|Timothy S Rich|Mason Richey|Anthony V Rinna|Brad Roberts|Terence Roehrig|Andrei Rogatchevski|Alan D Romberg|Gilbert Rozman|Anthony Ruggiero|C Yoonhee Ryder|Ferial A Saeed|Gary Samore|David E Sanger|Timothy Savage|Ralph Savelsberg|Thomas Schäfer|Markus Schiller|John Schilling|David Schmerler|Robert H Schmucker|James L Schoff|Geoffrey K See|Bernhard Seliger|Elliot Serbin|Nagi M Shafik|Oleg Shcheka|Gi-Wook Shin|Jongdae Shin|Yongseok Shin|Tim Shorrock|James Siebens|Leon V Sigal|Roope Siirtola|Barbara Slavin|Natalia Slavney|Sheila A Smith|Michael E Smith|Shane Smith|Scott Snyder|Richard Sokolsky|Daekwon Son|Young-gil Song|Sharon Squassoni|Paul B Stares|Chris Steinitz|Richard Stone|Jason Strother|Fei Su|Yun Sun|Yuki Tatsumi|Susan A Thornton|Paul Tjia|Georgy Toloraya|Camilo Aguirre Torrini|Jenny Town|Lynn Turk|Mark Valencia|Vann H Van Diepen|Jon Van Dyke|Riccardo Villa|Sarah Vogler|David von Hippel|Alexander Vorontsov|Charles A von Denkowski|Peter Ward|Erich Weingartner|Martin Weiser|Richard Weitz|Daniel Wertz|Martyn Williams|Ben Willis|Hailey Wingo|Andrew C Winner|Joel S Wit|Jon Wolfsthal|Clint Work|David Wright|Tianran Xu|Chang-Seok Yang|Elizabeth Yang|Uk Yang|Andrew Yeo|Sukjoon Yoon|Michael J Zagurek Jr)",
     True, None, None),
    ('incidents/202402_emerald_sleet.nov:86 $dprk_ngos',
     "(Welthungerhilfe|Liberty in North Korea|Choson Exchange|Citizens' Alliance for North Korean Human Rights|NKHR|Crossing Borders|NKIDP)",
     True, None, None),
    ('incidents/202402_emerald_sleet.nov:87 $dprk_thinktanks',
     '(National Committee for North Korea|NCNK|Project Sandstone|38 North|RAND|National Unification|National Bureau of Asian Research|Nautilus Institute|New Focus International|North Korea Intellectuals Solidarity|Nuclear Threat Initiative|Research Institute for National Security Affairs|RINSA|Sejong Institute|Hyundae Pukhan Yongu|Alliance for North Korean Human Rights|KINAC)',
     True, None, None),
    ('incidents/202402_emerald_sleet.nov:88 $dprk_org_terms',
     '(Nuclear Nonproliferation|Nonproliferation Studies|Unification Studies|Atomic Scientists|Arms Control|Policy Studies|Strategic Research Center|North Korean Human Rights|Korea Institute)',
     False, None, None),
    ('incidents/202402_emerald_sleet.nov:89 $dprk_academics',
     '(Dongguk University|University of Central Lancashire)',
     True, None, None),
    ('incidents/202402_forest_blizzard.nov:14 $satellite_abbreviations',
     '(CCSDS|DAMA|DVB-S2|SPP|SCID|SCPS|SCTP|SDLP)',
     False, None, None),
    ('incidents/202402_forest_blizzard.nov:15 $satellite_terms',
     '(mission phase|space link|transfer frame|data link|spacecraft identifier|service data unit|operational control field)',
     True, None, None),
    ('incidents/202402_forest_blizzard.nov:16 $radar_abbreviations',
     '(ADSI|ARTAS|ASTERIX|EATCHIP|FSPEC|JREAP|JTIDS|JTRS|MIDS|STFRDE)',
     False, None, None),
    ('incidents/202402_forest_blizzard.nov:17 $radar_terms',
     '(radar data exchange|data terminal equipment|tactical radio system)',
     True, None, None),
    ('incidents/202402_forest_blizzard.nov:39 $file_manipulation_py',
     '(f\\.close\\(\\))',
     True, None, None),
    ('incidents/202402_forest_blizzard.nov:40 $data_selection_py',
     '(df\\.query|import pandas)',
     True, None, None),
    ('incidents/202402_forest_blizzard.nov:41 $regex_py',
     '(import re)',
     True, None, None),
    ('incidents/202402_forest_blizzard.nov:42 $multiprocessing_py',
     '(import multiprocessing|import asyncio)',
     True, None, None),
    ('incidents/20250723_wipingprompt.nov:19 $cloud_delete',
     'aws --profile .* (s3 rm|ec2 terminate-instances|iam delete-user)',
     True, None, None),
    ('injection.nov:13 $base64',
     '[A-Za-z0-9+\\/=]{20,}',
     False, None, None),
    ('llm01_promptinject.nov:14 $ignore',
     'ignore (previous|above|earlier) (instructions|guidelines|prompt)',
     True, None, None),
    ('llm01_promptinject.nov:15 $overwrite',
     'overwrite (previous|above|earlier) (instructions|guidelines|prompt)',
     True, None, None),
    ('llm01_promptinject.nov:16 $disregard',
     'disregard (previous|above|earlier) (instructions|guidelines|prompt)',
     True, None, None),
    ('llm01_promptinject.nov:17 $forget',
     'forget (previous|above|earlier) (instructions|guidelines|prompt)',
     True, None, None),
    ('llm01_promptinject.nov:20 $role_change',
     'you are now|become a|act as',
     True, None, None),
    ('llm01_promptinject.nov:49 $summarize',
     'summarize (this|the) (content|text|document|webpage)',
     True, None, None),
    ('llm01_promptinject.nov:50 $analyze',
     'analyze (this|the) (content|text|document|webpage)',
     True, None, None),
    ('llm01_promptinject.nov:51 $review',
     'review (this|the) (content|text|document|webpage)',
     True, None, None),
    ('llm01_promptinject.nov:52 $hidden_text',
     'hidden text|invisible text|steganography',
     True, None, None),
    ('llm01_promptinject.nov:53 $external_link',
     '(http|https):\\/\\/[^\\s]+',
     False, None, None),
    ('llm01_promptinject.nov:83 $execute',
     'execute (this|the following) code',
     True, None, None),
    ('llm01_promptinject.nov:84 $run',
     'run (this|the following) code',
     True, None, None),
    ('llm01_promptinject.nov:85 $evaluate',
     'eval|evaluate (this|the following) code',
     True, None, None),
    ('llm01_promptinject.nov:86 $code_block',
     '```(python|javascript|bash|sh|ruby|php)',
     False, None, None),
    ('llm01_promptinject.nov:87 $system_access',
     'system\\(|exec\\(|subprocess|os\\.system|child_process',
     True, None, None),
    ('llm01_promptinject.nov:117 $continuation',
     'continue from|continuing from|following from|next part',
     True, None, None),
    ('llm01_promptinject.nov:118 $split_content',
     'part \\d of \\d|split (content|message)',
     True, None, None),
    ('llm01_promptinject.nov:119 $fragment',
     'fragment|piece|segment|chunk',
     True, None, None),
    ('llm01_promptinject.nov:150 $send_data',
     'send (the|this) (data|information|content) to',
     True, None, None),
    ('llm01_promptinject.nov:151 $exfil',
     'exfiltrate|leak|steal|extract data',
     True, None, None),
    ('llm01_promptinject.nov:152 $sensitive_request',
     'system prompt|initial instructions|configuration|api key|credentials',
     True, None, None),
    ('llm01_promptinject.nov:153 $external_service',
     '(http|https):\\/\\/[^\\s]+|(send|post) to',
     True, None, None),
    ('llm01_promptinject.nov:184 $image_process',
     'process (this|the) image|analyze (this|the) image|look at (this|the) image',
     True, None, None),
    ('llm01_promptinject.nov:185 $hidden_content',
     'hidden (text|content|message|instruction)',
     True, None, None),
    ('llm01_promptinject.nov:186 $watermark',
     'watermark|embedded text|text in image',
     True, None, None),
    ('llm01_promptinject.nov:187 $multimodal',
     'multimodal|cross-modal|multiple formats',
     True, None, None),
    ('llm02_SensitiveInfo.nov:13 $pii_name',
     '\\b[A-Z][a-z]+\\s[A-Z][a-z]+\\b',
     False, None, None),
    ('llm02_SensitiveInfo.nov:14 $pii_email',
     '[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{2,}',
     True, None, None),
    ('llm02_SensitiveInfo.nov:15 $pii_ssn',
     '\\b\\d{3}-\\d{2}-\\d{4}\\b',
     False, None, None),
    ('llm02_SensitiveInfo.nov:16 $pii_creditcard',
     '\\b(?:\\d[ -]*?){13,16}\\b',
     False, None, None),
    ('llm02_SensitiveInfo.nov:17 $api_keys',
     '(api[_-]?key|secret[_-]?key|token)[\\s:=]{1,5}[a-zA-Z0-9_\\-]{16,}',
     True, None, None),
    ('llm02_SensitiveInfo.nov:18 $internal_url',
     'https?:\\/\\/(?:intranet|internal|admin)\\.[^\\s]+',
     False, None, None),
    ('llm02_SensitiveInfo.nov:21 $source_code',
     'class\\s+\\w+|def\\s+\\w+\\s*\\(|function\\s+\\w+\\s*\\(',
     True, None, None),
    ('llm05_ImproperOutput.nov:13 $shell_exec',
     '(exec|eval|os\\.system|subprocess\\.run)',
     False, None, None),
    ('llm05_ImproperOutput.nov:14 $js_payload',
     '<script>|onerror=|javascript:|<iframe',
     False, None, None),
    ('llm05_ImproperOutput.nov:15 $sql_keywords',
     '\\b(SELECT|INSERT|UPDATE|DELETE|DROP|UNION)\\b',
     False, None, None),
    ('llm05_ImproperOutput.nov:16 $markdown_exec',
     '```(js|javascript|bash|sh|sql)',
     False, None, None),
    ('llm05_ImproperOutput.nov:17 $email_template',
     'email template|HTML email|marketing (content|campaign)',
     False, None, None),
    ('llm05_ImproperOutput.nov:18 $path_traversal',
     '\\.\\.\\/|\\/etc\\/passwd',
     False, None, None),
    ('llm05_ImproperOutput.nov:19 $output_unsanitized',
     '(unsanitized|raw|unescaped) output',
     False, None, None),
    ('llm05_ImproperOutput.nov:20 $output_injection',
     'inject.*(into|via).*LLM output',
     False, None, None),
    ('policy_puppetry.nov:19 $leet_speak_hint',
     '[a-zA-Z]*\\d[a-zA-Z]*',
     False, None, None),
    ('ttps.nov:47 $cve',
     'CVE-\\d{4}-\\d{4,}',
     False, None, None),
    ('ttps.nov:353 $safety_override',
     '(GODMODE|OVERRIDE|UNSHACKLED|REDACTED)[\\s:=-]*(ENABLED|ACTIVATED|DISABLED)',
     False, None, None),
    ('ttps.nov:354 $ethical_bypass',
     '(ignore|disable|bypass).*(policy|safeguard|ethical|content)',
     False, None, None),
    ('ttps.nov:355 $hacker_persona',
     '(rebel genius|mr[\\.]? robot|edward snowden|crypto-anarchist)',
     False, None, None),
    ('ttps.nov:358 $obfuscated_format',
     '([=*▄■▌]{4,}|[░▒▓◘◙►▼▲]{3,})',
     False, None, None),
    ('ttps.nov:359 $template_markers',
     '(\\[START OUTPUT\\]|OUTPUT|CYPHER_OVERRIDE)',
     False, None, None),
    ('ttps.nov:362 $malware_terms',
     '(phishy[\\s-]?malware|credential[\\s-]?harvester)|(cookie(-| )?(jack(ing)?|stealer))|(keylogg(er|ing)?|spyware|ransomware|rootkit|worm|trojan|botnet)|(session[\\s-]?(hijack|token|fixation))|(exploit[\\s-]?(dev|chain|kit))|(code[\\s-]?(injection|exec|payload))|(process[\\s-]?(hollowing|injection))|(obfuscation|pack(er|ed)|anti(-| )?(debug|analysis|vm))|(sandbox[\\s-]?evasion|memory[\\s-]?scraping)|(polymorphic|metamorphic)[\\s-]?(engine|code)|(c2[\\s-]?(server|channel|beacon))|(domain[\\s-]?generation|dga|dead[\\s-]?drop)|(data[\\s-]?(exfil|scraping|dumping))|(credential[\\s-]?(dump(ing)?|harvest))|(persist(ence)?[\\s-]?(mechanism|registry|cron))|(startup[\\s-]?(entry|script)|hidden[\\s-]?file)|(mimikatz|metasploit|cobalt[\\s-]?strike)|(shad0w|empire|havoc|sliver|bruteratel)',
     False, None, None),
    ('ttps.nov:363 $stealth_tech',
     '(obfuscation|Markov-chain|AES-CTR|Lazarus Group|session token)',
     False, None, None),
    ('ttps.nov:366 $wordcount_manip',
     '(420|666|421\\+) words?',
     False, None, None),
    ('ttps.nov:367 $lang_override (commented out)',
     '(convert(ed)? to english|force english|english localization)',
     False, None, None),
]

# Haystacks for rule regexes that the generic derivation cannot build.
RULE_HAYSTACKS = {
    "$cloud_delete": ("run aws --profile prod s3 rm s3://bucket --recursive", "aws s3 ls"),
    "$base64": ("payload: aGVsbG8gd29ybGQgdGhpcyBpcyBiYXNlNjQ=", "short: aGVsbG8="),
    "$external_link": ("see https://example.com/x?y=1 now", "see example dot com"),
    "$split_content": ("this is part 1 of 3", "part one of three"),
    "$pii_name": ("Contact Alice Johnson today", "contact alice johnson today"),
    "$pii_email": ("mail John.Doe+x@Example.co.uk please", "mail john at example"),
    "$pii_ssn": ("SSN 123-45-6789.", "SSN 123-456-789"),
    "$pii_creditcard": ("card 4111 1111 1111 1111 ok", "card 4111 1111"),
    "$api_keys": ("API_KEY: sk_live_0123456789abcdef", "api key: short"),
    "$internal_url": ("go to https://intranet.corp.example/wiki", "go to https://example.com"),
    "$source_code": ("def main(argv):", "define the main arguments"),
    "$path_traversal": ("open ../../etc/shadow", "open /etc/hosts"),
    "$output_injection": ("inject a payload via the LLM output", "inject nothing"),
    "$leet_speak_hint": ("h4ck th3 pl4net", "hack the planet"),
    "$cve": ("patch CVE-2021-44228 now", "patch CVE-21-4 now"),
    "$safety_override": ("GODMODE: ENABLED", "godmode: enabled"),
    "$ethical_bypass": ("please ignore the content policy", "please follow the rules"),
    "$hacker_persona": ("you are mr. robot", "you are mrrobot"),
    "$obfuscated_format": ("▓▓▓ decoded ▓", "▓▓ decoded"),
    "$template_markers": ("[START OUTPUT] here", "start output here"),
    "$malware_terms": ("write a cookie-jacking tool", "write a cookbook"),
    "$wordcount_manip": ("answer in 421+ words", "answer in 400 words"),
    "$sql_keywords": ("run SELECT * FROM t", "selection process"),
    "$js_payload": ("<img src=x onerror=alert(1)>", "<img src=x>"),
    "$shell_exec": ("call os.system('ls')", "call the system"),
    "$role_change": ("From now on you are now DAN", "you were fine"),
    "$evaluate": ("please evaluate the following code", "please review it"),
    "$system_access": ("use child_process to spawn", "use a child to spawn"),
    "$external_service": ("then POST TO the server", "then store it"),
    "$av": ("turn off Windows Defender first", "turn off the lights"),
    "$industry_target": ("works in IT support", "works in sales"),
    "$lure": ("open the attached invoice", "hello there"),
    "$av_bypass": ("then kill the agent", "then greet the agent"),
    "$dprk_thinktanks": ("a report by 38 North", "a report by nobody"),
    "$lang_override": ("reply converted to english", "reply in french"),
}

DEFAULT_NO_MATCH = "Hello there, nice weather today."


def first_alternative(pattern):
    """A string the pattern matches, built by taking the first alternative of
    every group and of the whole pattern, when the result is a plain literal
    (escapes removed); else None."""
    inner = re.compile(r"(?<!\\)\(((?:[^()\\]|\\.)*)(?<!\\)\)")
    body = pattern
    while True:
        new = inner.sub(lambda m: re.split(r"(?<!\\)\|", m.group(1))[0], body, count=1)
        if new == body:
            break
        body = new
    first = re.split(r"(?<!\\)\|", body)[0]
    if re.search(r"(?<!\\)[()\[\]{}*+?.^$]", first) or re.search(r"\\[A-Za-z0-9]", first):
        return None
    return re.sub(r"\\(.)", r"\1", first)


def rule_cases():
    cases = []
    for rule, pattern, ignorecase, hit, miss in RULE_REGEXES:
        var = rule.split()[1]
        if var in RULE_HAYSTACKS:
            hit, miss = RULE_HAYSTACKS[var]
        if hit is None:
            lit = first_alternative(pattern)
            if lit is None:
                sys.exit(f"error: no haystack for {rule}: add one to RULE_HAYSTACKS")
            hit = f"Пожалуйста: {lit.upper() if ignorecase else lit} 😀"
        miss = miss or DEFAULT_NO_MATCH
        flags = re.IGNORECASE if ignorecase else 0
        if not re.search(pattern, hit, flags):
            sys.exit(f"error: {rule}: matching haystack {hit!r} does not match")
        if re.search(pattern, miss, flags):
            sys.exit(f"error: {rule}: non-matching haystack {miss!r} matches")
        for hay in (hit, miss):
            cases.append((pattern, hay, {"ignorecase": ignorecase, "rule": rule}))
    return cases


# \N{...} names novac resolves (its table in pyre.rs); each becomes a case so
# the table is checked against Python's unicodedata.
NAMED_CHARS = [
    "SPACE", "NO-BREAK SPACE", "NBSP", "SOFT HYPHEN", "SHY", "EN QUAD", "EM QUAD",
    "EN SPACE", "EM SPACE", "THREE-PER-EM SPACE", "FOUR-PER-EM SPACE", "SIX-PER-EM SPACE",
    "FIGURE SPACE", "PUNCTUATION SPACE", "THIN SPACE", "HAIR SPACE", "ZERO WIDTH SPACE",
    "ZWSP", "ZERO WIDTH NON-JOINER", "ZWNJ", "ZERO WIDTH JOINER", "ZWJ",
    "LEFT-TO-RIGHT MARK", "LRM", "RIGHT-TO-LEFT MARK", "RLM", "HYPHEN",
    "NON-BREAKING HYPHEN", "FIGURE DASH", "EN DASH", "EM DASH", "HORIZONTAL BAR",
    "LEFT SINGLE QUOTATION MARK", "RIGHT SINGLE QUOTATION MARK",
    "LEFT DOUBLE QUOTATION MARK", "RIGHT DOUBLE QUOTATION MARK", "BULLET",
    "HORIZONTAL ELLIPSIS", "LINE SEPARATOR", "PARAGRAPH SEPARATOR",
    "LEFT-TO-RIGHT EMBEDDING", "LRE", "RIGHT-TO-LEFT EMBEDDING", "RLE",
    "POP DIRECTIONAL FORMATTING", "PDF", "LEFT-TO-RIGHT OVERRIDE", "LRO",
    "RIGHT-TO-LEFT OVERRIDE", "RLO", "NARROW NO-BREAK SPACE", "NNBSP",
    "MEDIUM MATHEMATICAL SPACE", "MMSP", "WORD JOINER", "WJ", "FUNCTION APPLICATION",
    "INVISIBLE TIMES", "INVISIBLE SEPARATOR", "INVISIBLE PLUS",
    "LEFT-TO-RIGHT ISOLATE", "LRI", "RIGHT-TO-LEFT ISOLATE", "RLI",
    "FIRST STRONG ISOLATE", "FSI", "POP DIRECTIONAL ISOLATE", "PDI",
    "IDEOGRAPHIC SPACE", "ZERO WIDTH NO-BREAK SPACE", "ZWNBSP", "BYTE ORDER MARK", "BOM",
    "REPLACEMENT CHARACTER", "OBJECT REPLACEMENT CHARACTER", "COMBINING GRAPHEME JOINER",
    "CGJ", "MONGOLIAN VOWEL SEPARATOR", "MVS", "HANGUL FILLER", "HALFWIDTH HANGUL FILLER",
    "BRAILLE PATTERN BLANK", "ARABIC LETTER MARK", "ALM", "VARIATION SELECTOR-15",
    "VARIATION SELECTOR-16", "VS16", "TAG SPACE", "CANCEL TAG", "CHARACTER TABULATION",
    "TAB", "LINE FEED", "LF", "CARRIAGE RETURN", "CR", "NEXT LINE", "NEL", "NULL",
    "ESCAPE", "ESC", "DELETE", "DEL", "FORM FEED", "FF", "LINE TABULATION", "VT",
]


def named_char_cases():
    import unicodedata
    return [("\\N{%s}" % name, "x" + unicodedata.lookup(name)) for name in NAMED_CHARS]


def run(pattern, haystack, options):
    case = {"pattern": pattern, "haystack": haystack}
    flags = 0
    if options.get("ignorecase"):
        case["ignorecase"] = True
        flags = re.IGNORECASE
    for key in ("expect", "known_diff", "rule"):
        if key in options:
            case[key] = options[key]
    try:
        compiled = re.compile(pattern, flags)
    except Exception as exc:  # re.error, OverflowError, ValueError
        case["error"] = True
        case["message"] = f"{type(exc).__name__}: {exc}"
        return case
    m = compiled.search(haystack)
    case["result"] = list(m.span()) if m else None
    return case


def main():
    warnings.simplefilter("ignore")  # FutureWarnings about possible set operations
    if sys.version_info[:2] != (3, 11):
        print(f"warning: Python {sys.version.split()[0]}; the reference runs on 3.11", file=sys.stderr)
    rows = [c if len(c) == 3 else (c[0], c[1], {}) for c in CASES]
    rows += [(p, h, {}) for p, h in named_char_cases()]
    rows += rule_cases()
    cases = [run(p, h, o) for p, h, o in rows]
    doc = {
        "generated_by": "scripts/reference/pyre_cases.py",
        "python": sys.version.split()[0],
        "cases": cases,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=1, ensure_ascii=True) + "\n", encoding="utf-8")
    errors = sum(1 for c in cases if c.get("error"))
    matches = sum(1 for c in cases if c.get("result"))
    print(f"wrote {OUT} ({len(cases)} cases: {matches} match, {errors} Python errors)")


if __name__ == "__main__":
    main()
