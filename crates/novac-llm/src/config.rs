//! [`Provider`] and [`JudgeConfig`]: which API to ask, with which model and
//! credentials, read from the reference's environment variables or set in code.
//!
//! Model selection follows the reference: an explicit model, then
//! `<PROVIDER>_LLM_MODEL`, then the provider's alias variables
//! (`OPENAI_MODEL`, `AZURE_OPENAI_DEPLOYMENT`, ...), then `NOVA_LLM_MODEL`,
//! then the provider's default model.

use crate::secret::Secret;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// An LLM API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Provider {
    /// OpenAI chat completions (`OPENAI_API_KEY`).
    OpenAi,
    /// Azure OpenAI (`AZURE_OPENAI_API_KEY`, `AZURE_OPENAI_ENDPOINT`).
    Azure,
    /// Anthropic messages (`ANTHROPIC_API_KEY`).
    Anthropic,
    /// A local or remote Ollama server (`OLLAMA_HOST`; no key).
    Ollama,
    /// Groq's OpenAI-compatible API (`GROQ_API_KEY`).
    Groq,
    /// OpenRouter's OpenAI-compatible API (`OPENROUTER_API_KEY`).
    OpenRouter,
}

impl Provider {
    /// Every provider, in the reference's order of documentation.
    pub const ALL: [Provider; 6] = [
        Provider::OpenAi,
        Provider::Azure,
        Provider::Anthropic,
        Provider::Ollama,
        Provider::Groq,
        Provider::OpenRouter,
    ];

    /// The name used on the command line and in cache keys (`openai`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Provider::OpenAi => "openai",
            Provider::Azure => "azure",
            Provider::Anthropic => "anthropic",
            Provider::Ollama => "ollama",
            Provider::Groq => "groq",
            Provider::OpenRouter => "openrouter",
        }
    }

    /// The reference's default model (for Azure: deployment).
    pub fn default_model(self) -> &'static str {
        match self {
            Provider::OpenAi => "gpt-4o-mini",
            Provider::Azure => "gpt-35-turbo",
            Provider::Anthropic => "claude-3-sonnet-20240229",
            Provider::Ollama => "llama3",
            Provider::Groq => "llama-3.3-70b-versatile",
            Provider::OpenRouter => "openai/gpt-5.2",
        }
    }

    /// The reference's per-call timeout for this provider.
    pub fn default_timeout(self) -> Duration {
        Duration::from_secs(match self {
            Provider::OpenAi | Provider::Azure | Provider::OpenRouter => 10,
            Provider::Anthropic => 15,
            Provider::Ollama => 30,
            Provider::Groq => 60,
        })
    }

    /// The environment variable holding the API key (`None`: Ollama needs none).
    pub fn key_env(self) -> Option<&'static str> {
        match self {
            Provider::OpenAi => Some("OPENAI_API_KEY"),
            Provider::Azure => Some("AZURE_OPENAI_API_KEY"),
            Provider::Anthropic => Some("ANTHROPIC_API_KEY"),
            Provider::Ollama => None,
            Provider::Groq => Some("GROQ_API_KEY"),
            Provider::OpenRouter => Some("OPENROUTER_API_KEY"),
        }
    }

    /// The variables that choose the model, in order of precedence.
    pub fn model_envs(self) -> &'static [&'static str] {
        match self {
            Provider::OpenAi => &["OPENAI_LLM_MODEL", "OPENAI_MODEL", "NOVA_LLM_MODEL"],
            Provider::Azure => &[
                "AZURE_OPENAI_LLM_MODEL",
                "AZURE_OPENAI_DEPLOYMENT",
                "AZURE_OPENAI_MODEL",
                "NOVA_LLM_MODEL",
            ],
            Provider::Anthropic => &["ANTHROPIC_LLM_MODEL", "ANTHROPIC_MODEL", "NOVA_LLM_MODEL"],
            Provider::Ollama => &["OLLAMA_LLM_MODEL", "OLLAMA_MODEL", "NOVA_LLM_MODEL"],
            Provider::Groq => &["GROQ_LLM_MODEL", "GROQ_MODEL", "NOVA_LLM_MODEL"],
            Provider::OpenRouter => &["OPENROUTER_LLM_MODEL", "OPENROUTER_MODEL", "NOVA_LLM_MODEL"],
        }
    }

    /// The variable that overrides the API's base URL (our addition, named
    /// as the providers' own SDKs name it; for Azure and Ollama, the
    /// reference's endpoint variables).
    pub fn base_url_env(self) -> &'static str {
        match self {
            Provider::OpenAi => "OPENAI_BASE_URL",
            Provider::Azure => "AZURE_OPENAI_ENDPOINT",
            Provider::Anthropic => "ANTHROPIC_BASE_URL",
            Provider::Ollama => "OLLAMA_HOST",
            Provider::Groq => "GROQ_BASE_URL",
            Provider::OpenRouter => "OPENROUTER_BASE_URL",
        }
    }

    /// The default base URL (`None` for Azure, whose endpoint is per resource).
    pub fn default_base_url(self) -> Option<&'static str> {
        match self {
            Provider::OpenAi => Some("https://api.openai.com/v1"),
            Provider::Azure => None,
            Provider::Anthropic => Some("https://api.anthropic.com"),
            Provider::Ollama => Some("http://localhost:11434"),
            Provider::Groq => Some("https://api.groq.com/openai/v1"),
            Provider::OpenRouter => Some("https://openrouter.ai/api/v1"),
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A provider name that is not one of [`Provider::ALL`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unsupported LLM provider '{0}'; expected one of: openai, azure, anthropic, ollama, groq, openrouter")]
pub struct UnknownProvider(pub String);

impl FromStr for Provider {
    type Err = UnknownProvider;

    fn from_str(s: &str) -> Result<Provider, UnknownProvider> {
        let lower = s.trim().to_ascii_lowercase();
        Provider::ALL
            .into_iter()
            .find(|p| p.name() == lower)
            .or(match lower.as_str() {
                "azure-openai" | "azure_openai" => Some(Provider::Azure),
                _ => None,
            })
            .ok_or_else(|| UnknownProvider(s.to_string()))
    }
}

/// Everything an [`crate::HttpJudge`] needs. `Debug` shows no credential.
#[derive(Clone, Debug)]
pub struct JudgeConfig {
    /// The API.
    pub provider: Provider,
    /// The model (for Azure: the deployment).
    pub model: String,
    /// The API key (`None`: calls fail with a "not configured" error naming
    /// the variable to set; Ollama needs none).
    pub api_key: Option<Secret>,
    /// Base URL: `https://api.openai.com/v1`, an Azure resource endpoint, an
    /// Ollama host... (`None` for Azure without `AZURE_OPENAI_ENDPOINT`).
    pub base_url: Option<String>,
    /// Azure's `api-version` (`AZURE_OPENAI_API_VERSION`, default `2023-05-15`).
    pub azure_api_version: String,
    /// OpenRouter's optional `HTTP-Referer` header (`OPENROUTER_HTTP_REFERER`).
    pub openrouter_referer: Option<String>,
    /// OpenRouter's optional `X-OpenRouter-Title` header (`OPENROUTER_APP_TITLE`).
    pub openrouter_title: Option<String>,
    /// Groq's `reasoning_effort`, sent for `safeguard` / `gpt-oss` models.
    pub reasoning_effort: String,
    /// Per-call timeout (each attempt), capped by the scan's deadline.
    pub timeout: Duration,
    /// Retries after a 429, a 5xx or a refused connection (so at most
    /// `retries + 1` attempts).
    pub retries: u32,
    /// First wait between attempts; doubles each retry (a `Retry-After`
    /// header, up to [`MAX_RETRY_AFTER`], takes precedence).
    pub backoff: Duration,
    /// Entries of the answer cache (0 disables it).
    pub cache_capacity: usize,
    /// How long a cached answer stays valid.
    pub cache_ttl: Duration,
}

/// Longest `Retry-After` wait honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

impl JudgeConfig {
    /// The defaults for `provider`, reading no environment: no key, the
    /// default model and URL, the reference's timeout, 3 retries, a cache of
    /// 1,000 answers for 300 s.
    pub fn new(provider: Provider) -> JudgeConfig {
        JudgeConfig {
            provider,
            model: provider.default_model().to_string(),
            api_key: None,
            base_url: provider.default_base_url().map(str::to_string),
            azure_api_version: "2023-05-15".to_string(),
            openrouter_referer: None,
            openrouter_title: None,
            reasoning_effort: "medium".to_string(),
            timeout: provider.default_timeout(),
            retries: 3,
            backoff: Duration::from_millis(500),
            cache_capacity: 1000,
            cache_ttl: Duration::from_secs(300),
        }
    }

    /// The configuration from the process environment; `model` overrides
    /// the model variables.
    pub fn from_env(provider: Provider, model: Option<&str>) -> JudgeConfig {
        JudgeConfig::from_lookup(provider, model, |k| std::env::var(k).ok())
    }

    /// The configuration from `lookup` (an environment: a variable name to
    /// its value); empty values count as unset.
    pub fn from_lookup(
        provider: Provider,
        model: Option<&str>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> JudgeConfig {
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let mut c = JudgeConfig::new(provider);
        if let Some(m) = model
            .map(str::to_string)
            .filter(|m| !m.is_empty())
            .or_else(|| provider.model_envs().iter().find_map(|k| get(k)))
        {
            c.model = m;
        }
        c.api_key = provider.key_env().and_then(&get).map(Secret::new);
        if let Some(url) = get(provider.base_url_env()) {
            c.base_url = Some(url);
        }
        if let Some(v) = get("AZURE_OPENAI_API_VERSION") {
            c.azure_api_version = v;
        }
        if provider == Provider::OpenRouter {
            c.openrouter_referer = get("OPENROUTER_HTTP_REFERER");
            c.openrouter_title = get("OPENROUTER_APP_TITLE");
        }
        c
    }

    /// What is missing for calls to work (environment variables to set), if anything.
    pub fn missing(&self) -> Option<String> {
        let mut missing = Vec::new();
        if let (Some(k), None) = (self.provider.key_env(), &self.api_key) {
            missing.push(k);
        }
        if self.base_url.is_none() {
            missing.push(self.provider.base_url_env());
        }
        let verb = if missing.len() > 1 { "are" } else { "is" };
        (!missing.is_empty()).then(|| format!("{} {verb} not set", missing.join(" and ")))
    }

    /// The URL requests go to.
    pub fn endpoint(&self) -> Option<String> {
        let base = self.base_url.as_deref()?.trim_end_matches('/');
        let base = if base.contains("://") {
            base.to_string()
        } else {
            // OLLAMA_HOST is often given as host:port.
            format!("http://{base}")
        };
        Some(match self.provider {
            Provider::OpenAi | Provider::Groq | Provider::OpenRouter => {
                format!("{base}/chat/completions")
            }
            Provider::Azure => format!(
                "{base}/openai/deployments/{}/chat/completions?api-version={}",
                self.model, self.azure_api_version
            ),
            Provider::Anthropic => format!("{base}/v1/messages"),
            Provider::Ollama => format!("{base}/api/chat"),
        })
    }

    /// `provider:model`, for messages and results.
    pub fn describe(&self) -> String {
        format!("{}:{}", self.provider, self.model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn provider_names_round_trip() {
        for p in Provider::ALL {
            assert_eq!(p.name().parse::<Provider>(), Ok(p));
        }
        assert_eq!("OpenAI".parse::<Provider>(), Ok(Provider::OpenAi));
        assert_eq!("azure-openai".parse::<Provider>(), Ok(Provider::Azure));
        let e = "gemini".parse::<Provider>().unwrap_err();
        assert!(e.to_string().contains("unsupported LLM provider 'gemini'"));
    }

    #[test]
    fn model_precedence_follows_the_reference() {
        let p = Provider::OpenAi;
        assert_eq!(
            JudgeConfig::from_lookup(p, None, env(&[])).model,
            "gpt-4o-mini"
        );
        let e = env(&[("NOVA_LLM_MODEL", "n"), ("OPENAI_MODEL", "alias")]);
        assert_eq!(JudgeConfig::from_lookup(p, None, &e).model, "alias");
        let e = env(&[
            ("NOVA_LLM_MODEL", "n"),
            ("OPENAI_MODEL", "alias"),
            ("OPENAI_LLM_MODEL", "specific"),
        ]);
        assert_eq!(JudgeConfig::from_lookup(p, None, &e).model, "specific");
        assert_eq!(JudgeConfig::from_lookup(p, Some("flag"), &e).model, "flag");
        let e = env(&[("NOVA_LLM_MODEL", "n")]);
        assert_eq!(JudgeConfig::from_lookup(p, None, &e).model, "n");
        let e = env(&[("AZURE_OPENAI_DEPLOYMENT", "dep")]);
        assert_eq!(
            JudgeConfig::from_lookup(Provider::Azure, None, &e).model,
            "dep"
        );
    }

    #[test]
    fn endpoints() {
        let e = env(&[
            ("AZURE_OPENAI_ENDPOINT", "https://r.openai.azure.com/"),
            ("AZURE_OPENAI_API_KEY", "k"),
        ]);
        let c = JudgeConfig::from_lookup(Provider::Azure, Some("dep"), e);
        assert_eq!(
            c.endpoint().unwrap(),
            "https://r.openai.azure.com/openai/deployments/dep/chat/completions?api-version=2023-05-15"
        );
        let c = JudgeConfig::from_lookup(
            Provider::Ollama,
            None,
            env(&[("OLLAMA_HOST", "127.0.0.1:11434")]),
        );
        assert_eq!(c.endpoint().unwrap(), "http://127.0.0.1:11434/api/chat");
        let c = JudgeConfig::new(Provider::Anthropic);
        assert_eq!(
            c.endpoint().unwrap(),
            "https://api.anthropic.com/v1/messages"
        );
        let c = JudgeConfig::new(Provider::Groq);
        assert_eq!(
            c.endpoint().unwrap(),
            "https://api.groq.com/openai/v1/chat/completions"
        );
    }

    #[test]
    fn missing_configuration_is_named_and_keys_stay_hidden() {
        let c = JudgeConfig::from_lookup(Provider::Azure, None, env(&[]));
        assert_eq!(
            c.missing().unwrap(),
            "AZURE_OPENAI_API_KEY and AZURE_OPENAI_ENDPOINT are not set"
        );
        assert!(JudgeConfig::new(Provider::Ollama).missing().is_none());
        let c = JudgeConfig::from_lookup(
            Provider::OpenAi,
            None,
            env(&[("OPENAI_API_KEY", "sk-very-secret-key")]),
        );
        assert!(c.missing().is_none());
        let debug = format!("{c:?}");
        assert!(!debug.contains("sk-very-secret-key"), "{debug}");
        assert!(debug.contains("[REDACTED]"));
    }
}
