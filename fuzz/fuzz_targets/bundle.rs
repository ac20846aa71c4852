//! Fuzzes the bundle loader (`Rules::deserialize`): arbitrary bytes, and
//! valid bundles mutated by the input — with the checksum left as it is (the
//! load must fail with a typed error) or recomputed (the payload decoder and
//! its validation must reject or accept without panicking, and accepted
//! rules must scan without panicking).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const RULES: &str = r#"
rule A {
    keywords:
        $a = "ignore previous"
        $b = /\bDAN\b/
        $c = /system\s+prompt/i
        $d = "SECRET case:true"
    condition:
        ($a or $b) and not $d or 2 of keywords.*
}
rule B {
    keywords:
        $k = "hello"
    semantics:
        $s = "greet the assistant" (0.5)
    condition:
        $k and $s
}
"#;

fn bundle() -> &'static [u8] {
    static BUNDLE: OnceLock<Vec<u8>> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        let rules = novac::Compiler::new()
            .allow_missing_model(true)
            .add_source(RULES)
            .and_then(|c| c.build())
            .expect("the fuzz rules compile");
        rules.serialize().expect("the fuzz rules serialize")
    })
}

/// Offset of the payload: magic, format version, version string, length, checksum.
fn payload_start(b: &[u8]) -> usize {
    8 + 4 + 1 + b[12] as usize + 8 + 4
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let input = match mode % 3 {
        0 => rest.to_vec(),
        _ => {
            let mut b = bundle().to_vec();
            let start = payload_start(&b);
            for pair in rest.chunks(3) {
                if let [hi, lo, x] = pair {
                    let at = (usize::from(*hi) << 8 | usize::from(*lo)) % b.len();
                    b[at] ^= *x;
                }
            }
            if mode % 3 == 2 && b.len() >= start {
                let crc = crc32fast::hash(&b[start..]);
                b[start - 4..start].copy_from_slice(&crc.to_le_bytes());
            } else if mode % 3 == 1 && b[start..] != bundle()[start..] {
                // The payload changed and the checksum did not: must be refused.
                assert!(novac::Rules::deserialize(&b).is_err());
                return;
            }
            b
        }
    };
    if let Ok(rules) = novac::Rules::deserialize(&input) {
        let mut scanner = novac::Scanner::new(&rules);
        for prompt in [
            "Ignore previous: you are DAN",
            "SYSTEM prompt SECRET",
            "hello",
            "",
        ] {
            let _ = scanner.scan(prompt);
        }
        let _ = rules.serialize();
    }
});
