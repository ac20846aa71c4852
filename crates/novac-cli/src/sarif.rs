//! SARIF 2.1.0 output of `novac check --format sarif`, the format GitHub
//! code scanning reads.

use novac::{codes, Severity, SourceReport};
use serde_json::{json, Value};

/// A SARIF log with one run over every report.
pub fn report(reports: &[SourceReport]) -> Value {
    let rules: Vec<Value> = codes::ALL
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "name": c.name,
                "shortDescription": { "text": c.explanation },
                "defaultConfiguration": { "level": level(c.severity) },
            })
        })
        .collect();
    let mut results = Vec::new();
    for r in reports {
        let index = novac::syntax::LineIndex::new(&r.text);
        for d in &r.diagnostics {
            let start = index.line_col(&r.text, d.primary.span.start as usize);
            let end = index.line_col(&r.text, d.primary.span.end as usize);
            let mut message = d.message.clone();
            if let Some(help) = &d.help {
                message.push_str(&format!(" (help: {help})"));
            }
            results.push(json!({
                "ruleId": d.code,
                "ruleIndex": codes::ALL.iter().position(|c| c.id == d.code),
                "level": level(d.severity),
                "message": { "text": message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": r.origin.replace('\\', "/") },
                        "region": {
                            "startLine": start.line, "startColumn": start.column,
                            "endLine": end.line, "endColumn": end.column,
                        }
                    }
                }]
            }));
        }
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "novac",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/novac-rules/novac",
                "rules": rules,
            }},
            "results": results,
        }]
    })
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}
