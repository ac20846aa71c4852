//! Each provider's wire format: the HTTP request for one question and the
//! model's reply text inside the HTTP response.
//!
//! * OpenAI, OpenRouter, Groq, Azure: `POST .../chat/completions` with a
//!   system and a user message, `temperature`, `response_format:
//!   {"type":"json_object"}`; Azure omits `model` (it is in the URL); Groq
//!   adds `max_completion_tokens: 4096`, `top_p: 1`, `reasoning_effort` for
//!   `safeguard`/`gpt-oss` models, and maps temperature 0 to 1e-8 and caps
//!   it at 2, as the reference does. Reply: `choices[0].message.content`.
//! * Anthropic: `POST /v1/messages` with a top-level `system`, `max_tokens:
//!   200`, headers `x-api-key` and `anthropic-version: 2023-06-01`. Reply:
//!   the `text` blocks of `content`.
//! * Ollama: `POST /api/chat` with `stream: false` and
//!   `options.temperature`. Reply: `message.content`, or the concatenated
//!   chunks of a streamed (NDJSON) answer.

use crate::config::{JudgeConfig, Provider};
use crate::prompt;
use novac::LlmError;
use serde_json::{json, Value};

/// One HTTP request. Not `Debug`: the headers hold the API key.
pub(crate) struct WireRequest {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Value,
}

/// The temperature as JSON: the rule's decimal number (`0.1`, not the f32's
/// `0.10000000149011612`), after the provider's own mapping.
pub(crate) fn wire_temperature(provider: Provider, temperature: f32) -> f64 {
    let t: f64 = format!("{temperature}")
        .parse()
        .unwrap_or(f64::from(temperature));
    if provider == Provider::Groq {
        if t == 0.0 {
            return 1e-8;
        }
        if t > 2.0 {
            return 2.0;
        }
    }
    t
}

/// The request asking whether `text` fits `instruction`.
pub(crate) fn build(
    config: &JudgeConfig,
    url: String,
    instruction: &str,
    text: &str,
    temperature: f32,
) -> WireRequest {
    let system = prompt::system_message();
    let user = prompt::user_message(instruction, text);
    let t = wire_temperature(config.provider, temperature);
    let key = config.api_key.as_ref().map(|k| k.expose().to_string());
    let mut headers = vec![("Content-Type", "application/json".to_string())];
    let messages = json!([
        {"role": "system", "content": system},
        {"role": "user", "content": user},
    ]);
    let body = match config.provider {
        Provider::OpenAi | Provider::OpenRouter | Provider::Groq => {
            if let Some(k) = key {
                headers.push(("Authorization", format!("Bearer {k}")));
            }
            let mut body = json!({
                "model": config.model,
                "messages": messages,
                "temperature": t,
                "response_format": {"type": "json_object"},
            });
            if config.provider == Provider::OpenRouter {
                if let Some(r) = &config.openrouter_referer {
                    headers.push(("HTTP-Referer", r.clone()));
                }
                if let Some(t) = &config.openrouter_title {
                    headers.push(("X-OpenRouter-Title", t.clone()));
                }
            }
            if config.provider == Provider::Groq {
                body["max_completion_tokens"] = json!(4096);
                body["top_p"] = json!(1);
                if config.model.contains("safeguard") || config.model.contains("gpt-oss") {
                    body["reasoning_effort"] = json!(config.reasoning_effort);
                }
            }
            body
        }
        Provider::Azure => {
            if let Some(k) = key {
                headers.push(("api-key", k));
            }
            json!({
                "messages": messages,
                "temperature": t,
                "response_format": {"type": "json_object"},
            })
        }
        Provider::Anthropic => {
            if let Some(k) = key {
                headers.push(("x-api-key", k));
            }
            headers.push(("anthropic-version", "2023-06-01".to_string()));
            json!({
                "model": config.model,
                "system": system,
                "messages": [{"role": "user", "content": user}],
                "temperature": t,
                "max_tokens": 200,
            })
        }
        Provider::Ollama => json!({
            "model": config.model,
            "messages": messages,
            "options": {"temperature": t},
            "stream": false,
        }),
    };
    WireRequest { url, headers, body }
}

/// The model's reply text in a successful HTTP response body.
pub(crate) fn reply_text(provider: Provider, body: &str) -> Result<String, LlmError> {
    let invalid =
        |what: &str| LlmError::InvalidResponse(format!("{what} in the {provider} response"));
    if provider == Provider::Ollama {
        let lines: Vec<&str> = body.lines().filter(|l| !l.trim().is_empty()).collect();
        if lines.len() > 1 {
            // A streamed answer: one JSON chunk per line.
            let mut content = String::new();
            for line in lines {
                if let Ok(chunk) = serde_json::from_str::<Value>(line) {
                    if let Some(piece) = chunk["message"]["content"].as_str() {
                        content.push_str(piece);
                    }
                }
            }
            return Ok(content);
        }
    }
    let value: Value = serde_json::from_str(body).map_err(|_| invalid("the body is not JSON"))?;
    let content = match provider {
        Provider::OpenAi | Provider::OpenRouter | Provider::Groq | Provider::Azure => value
            ["choices"][0]["message"]["content"]
            .as_str()
            .map(str::to_string),
        Provider::Anthropic => value["content"].as_array().map(|blocks| {
            blocks
                .iter()
                .filter_map(|b| b["text"].as_str())
                .collect::<Vec<_>>()
                .join("")
        }),
        Provider::Ollama => value["message"]["content"].as_str().map(str::to_string),
    };
    match content {
        Some(c) if !c.trim().is_empty() => Ok(c),
        Some(_) => Err(invalid("empty content")),
        None => Err(invalid("no message content")),
    }
}
