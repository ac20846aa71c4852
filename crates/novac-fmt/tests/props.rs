//! Property tests over generated rules: sections in random order, random
//! indentation, spacing, operator case, blank lines, `//` and `#` comments
//! between any two lines (also inside conditions), CRLF or LF, the `{` on
//! the header line or the next. For every generated rule, formatting
//! succeeds (its own check guarantees the checked rules are unchanged),
//! keeps every comment, and formatting the result again changes nothing.

use proptest::prelude::*;

/// A condition over the rule's variables.
#[derive(Clone, Debug)]
enum Cond {
    Var(usize, bool),
    Wild,
    Quant(u8),
    Group,
    Not(Box<Cond>),
    Bin(bool, Box<Cond>, Box<Cond>, bool),
}

fn cond(n: usize) -> impl Strategy<Value = Cond> {
    let leaf = prop_oneof![
        (0..n, any::<bool>()).prop_map(|(i, q)| Cond::Var(i, q)),
        Just(Cond::Wild),
        (0u8..3).prop_map(Cond::Quant),
        Just(Cond::Group),
    ];
    leaf.prop_recursive(4, 16, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|c| Cond::Not(Box::new(c))),
            (any::<bool>(), inner.clone(), inner, any::<bool>())
                .prop_map(|(and, a, b, paren)| Cond::Bin(and, Box::new(a), Box::new(b), paren)),
        ]
    })
}

/// Renders a condition as tokens; `upper` picks operator case per token.
fn tokens(c: &Cond, upper: &mut impl Iterator<Item = bool>, out: &mut Vec<String>) {
    let op = |w: &str, upper: &mut dyn Iterator<Item = bool>| {
        if upper.next().unwrap_or(false) {
            w.to_uppercase()
        } else {
            w.to_string()
        }
    };
    match c {
        Cond::Var(i, qualified) => out.push(if *qualified {
            format!("keywords.$k{i}")
        } else {
            format!("$k{i}")
        }),
        Cond::Wild => out.push("keywords.*".into()),
        Cond::Quant(q) => {
            let q = match q {
                0 => op("any", upper),
                1 => "1".to_string(),
                _ => op("all", upper),
            };
            out.extend([q, op("of", upper), "keywords.$k*".into()]);
        }
        Cond::Group => out.extend([
            "any".into(),
            "of".into(),
            "(".into(),
            "$k*".into(),
            ")".into(),
        ]),
        Cond::Not(inner) => {
            out.push(op("not", upper));
            tokens(inner, upper, out);
        }
        Cond::Bin(and, a, b, paren) => {
            // Parenthesise operands that are binary, so that precedence is as generated.
            if *paren {
                out.push("(".into());
            }
            tokens(a, upper, out);
            out.push(op(if *and { "and" } else { "or" }, upper));
            tokens(b, upper, out);
            if *paren {
                out.push(")".into());
            }
        }
    }
}

#[derive(Clone, Debug)]
struct Layout {
    indents: Vec<String>,
    gaps: Vec<u8>,
    upper: Vec<bool>,
    crlf: bool,
    brace_on_header: bool,
    order: Vec<usize>,
}

fn layout() -> impl Strategy<Value = Layout> {
    (
        prop::collection::vec(
            prop::sample::select(vec!["", " ", "\t", "  ", "    ", "        ", " \t "]),
            64,
        ),
        prop::collection::vec(0u8..12, 64),
        prop::collection::vec(any::<bool>(), 64),
        any::<bool>(),
        any::<bool>(),
        Just(vec![0usize, 1, 2, 3]).prop_shuffle(),
    )
        .prop_map(
            |(indents, gaps, upper, crlf, brace_on_header, order)| Layout {
                indents: indents.into_iter().map(String::from).collect(),
                gaps,
                upper,
                crlf,
                brace_on_header,
                order,
            },
        )
}

const VALUES: [&str; 7] = [
    "\"ignore previous\"",
    "'single'",
    "/b+c/i",
    "/\\bDAN\\b/",
    "\"Case case:true\"",
    "\"with  two  spaces\"",
    "/a\\/b{2,}/",
];

fn rule_text(n: usize, vals: &[usize], c: &Cond, l: &Layout) -> (String, usize) {
    let mut ind = l.indents.iter().cycle();
    let mut gap = l.gaps.iter().cycle();
    let mut comments = 0;
    let mut cond_comments = 0;
    let mut lines: Vec<String> = Vec::new();
    // Between lines: sometimes a blank line, sometimes a comment.
    let mut between = |lines: &mut Vec<String>, ind: &mut dyn Iterator<Item = &String>| match gap
        .next()
        .copied()
        .unwrap_or(0)
    {
        0 => lines.push(String::new()),
        1 => {
            comments += 1;
            lines.push(format!(
                "{}// c{comments} note",
                ind.next().map_or("", |s| s)
            ));
        }
        2 => {
            comments += 1;
            lines.push(format!("{}#c{comments}", ind.next().map_or("", |s| s)));
        }
        _ => {}
    };
    let mut sections: Vec<Vec<String>> = Vec::new();
    let mut ind2 = l.indents.iter().cycle().skip(7);
    let mut i = || ind2.next().cloned().unwrap_or_default();
    sections.push(vec![
        format!("{}meta:", i()),
        format!("{}author = \"someone\"", i()),
        format!("{}version={}", i(), "1.0"),
    ]);
    let mut kw = vec![format!("{}keywords:", i())];
    for k in 0..n {
        let sp = if k % 2 == 0 { " " } else { "" };
        kw.push(format!(
            "{}$k{k}{sp}={sp}{}",
            i(),
            VALUES[vals[k] % VALUES.len()]
        ));
    }
    sections.push(kw);
    sections.push(vec![
        format!("{}semantics:", i()),
        format!("{}$s = \"a phrase\"  (0.5)", i()),
    ]);
    let mut upper = l.upper.iter().copied().cycle();
    let mut toks = Vec::new();
    tokens(c, &mut upper, &mut toks);
    toks.extend(["or".to_string(), "semantics.$s".to_string()]);
    // The condition, with some tokens on new lines and comments between lines.
    let mut cond = vec![format!("{}condition:", i())];
    let mut line = i();
    for (k, t) in toks.iter().enumerate() {
        let g = l.gaps[k % l.gaps.len()];
        if k > 0 && g >= 9 {
            cond.push(std::mem::take(&mut line));
            if g == 11 {
                cond_comments += 1;
                cond.push(format!("{}// in condition {cond_comments}", i()));
            }
            line = i();
        } else if k > 0 && (g & 1 == 0 || (t != ")" && toks[k - 1] != "(")) {
            line.push(' ');
        }
        line.push_str(t);
    }
    cond.push(line);
    sections.push(cond);
    lines.push(format!(
        "rule Generated{}",
        if l.brace_on_header { " {" } else { "" }
    ));
    if !l.brace_on_header {
        between(&mut lines, &mut ind);
        lines.push("{".into());
    }
    for s in l.order.iter().map(|&k| &sections[k]) {
        for (k, line) in s.iter().enumerate() {
            // No comment right inside the condition's first line (it is the header).
            if k > 0 || !line.trim_start().starts_with("condition") {
                between(&mut lines, &mut ind);
            }
            lines.push(line.clone());
        }
    }
    between(&mut lines, &mut ind);
    lines.push("}".into());
    let nl = if l.crlf { "\r\n" } else { "\n" };
    (lines.join(nl) + nl, comments + cond_comments)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn formatting_is_idempotent_and_keeps_comments(
        n in 1usize..4,
        vals in prop::collection::vec(0usize..7, 4),
        c in cond(3),
        l in layout(),
    ) {
        let c = clamp(c, n);
        let (src, comments) = rule_text(n, &vals, &c, &l);
        let once = match novac_fmt::format_source(&src) {
            Ok(f) => f,
            Err(e) => return Err(TestCaseError::fail(format!("{e}\n{src}"))),
        };
        let twice = novac_fmt::format_source(&once).map_err(|e| TestCaseError::fail(format!("{e}\n{once}")))?;
        prop_assert_eq!(&twice, &once, "not idempotent:\n{}", src);
        let kept = once.lines().filter(|l| {
            let t = l.trim_start();
            t.starts_with("// c") || t.starts_with("#c") || t.starts_with("// in condition")
        }).count();
        prop_assert_eq!(kept, comments, "comments lost:\n{}\n---\n{}", src, once);
    }
}

/// Keeps variable indices below `n`.
fn clamp(c: Cond, n: usize) -> Cond {
    match c {
        Cond::Var(i, q) => Cond::Var(i % n, q),
        Cond::Not(x) => Cond::Not(Box::new(clamp(*x, n))),
        Cond::Bin(a, x, y, p) => Cond::Bin(a, Box::new(clamp(*x, n)), Box::new(clamp(*y, n)), p),
        other => other,
    }
}
