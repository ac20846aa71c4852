//! The LLM options shared by the commands that scan (`novac scan`, `novac
//! mcp`, ...): `--llm PROVIDER --llm-model M`, the providers' environment
//! variables, the failure policy, concurrency, timeouts. [`setup`] turns
//! them into an optional [`LlmJudge`] and the scanner's [`LlmOptions`].
//!
//! No key is needed up front: a judge with missing configuration is still
//! built, and only prompts that reach the LLM stage fail closed, each with a
//! warning that names the missing variable (the reference's CLI exits
//! instead). Without the `llm` cargo feature there is no judge, and `--llm`
//! is an error.

use anyhow::Result;
use clap::{Args, ValueEnum};
use novac::{LlmFailurePolicy, LlmJudge, LlmOptions};
use std::time::Duration;

/// LLM options of the commands that scan.
#[derive(Args, Debug, Clone)]
pub struct LlmArgs {
    /// LLM provider for `llm:` patterns: openai, azure, anthropic, ollama,
    /// groq or openrouter. Default: $NOVA_LLM_PROVIDER; else openai when
    /// OPENAI_API_KEY is set (as the reference does); else none, and rules
    /// that need a judge fail closed with a warning.
    #[arg(long, value_name = "PROVIDER", help_heading = "LLM judge")]
    pub llm: Option<String>,
    /// Model (Azure: deployment). Default: <PROVIDER>_LLM_MODEL, the
    /// provider's alias variable (OPENAI_MODEL, AZURE_OPENAI_DEPLOYMENT, ...),
    /// NOVA_LLM_MODEL, then the reference's default model.
    #[arg(long, value_name = "MODEL", help_heading = "LLM judge")]
    pub llm_model: Option<String>,
    /// API base URL, e.g. a local OpenAI-compatible server
    /// (http://127.0.0.1:8080/v1). Default: OPENAI_BASE_URL, ANTHROPIC_BASE_URL,
    /// GROQ_BASE_URL, OPENROUTER_BASE_URL, AZURE_OPENAI_ENDPOINT or OLLAMA_HOST.
    #[arg(long, value_name = "URL", help_heading = "LLM judge")]
    pub llm_base_url: Option<String>,
    /// Never call an LLM, even when the environment configures one.
    #[arg(long, conflicts_with = "llm", help_heading = "LLM judge")]
    pub no_llm: bool,
    /// What a failed LLM call makes of its rule.
    #[arg(long, value_enum, default_value_t = OnError::NotMatched, help_heading = "LLM judge")]
    pub llm_on_error: OnError,
    /// Most LLM calls at once per prompt.
    #[arg(long, value_name = "N", default_value_t = novac::llm::DEFAULT_CONCURRENCY, help_heading = "LLM judge")]
    pub llm_concurrency: usize,
    /// Per-call timeout in seconds (default: the provider's, 10-60 s).
    #[arg(long, value_name = "SECONDS", help_heading = "LLM judge")]
    pub llm_timeout: Option<f64>,
    /// Time budget of the LLM stage of one prompt, in seconds (0: none).
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_DEADLINE, help_heading = "LLM judge")]
    pub llm_deadline: f64,
    /// Retries after a 429, a 5xx or a refused connection.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 3,
        help_heading = "LLM judge"
    )]
    pub llm_retries: u32,
}

const DEFAULT_DEADLINE: f64 = 120.0;

impl Default for LlmArgs {
    fn default() -> Self {
        LlmArgs {
            llm: None,
            llm_model: None,
            llm_base_url: None,
            no_llm: false,
            llm_on_error: OnError::NotMatched,
            llm_concurrency: novac::llm::DEFAULT_CONCURRENCY,
            llm_timeout: None,
            llm_deadline: DEFAULT_DEADLINE,
            llm_retries: 3,
        }
    }
}

/// `--llm-on-error`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum OnError {
    /// Not matched, with a warning (the reference's behaviour).
    #[default]
    NotMatched,
    /// Reported as matched, with a warning.
    Matched,
    /// Stop with an error (exit 2).
    Error,
}

/// What [`setup`] made of the options.
pub struct LlmSetup {
    /// The judge, if one is configured (possibly missing a key: see [`LlmSetup::missing`]).
    pub judge: Option<Box<dyn LlmJudge>>,
    /// The scanner's LLM options.
    pub options: LlmOptions,
    /// `provider:model` of the judge.
    pub description: Option<String>,
    /// What the judge lacks (`OPENAI_API_KEY is not set`), if anything.
    pub missing: Option<String>,
}

impl LlmSetup {
    /// A one-line note for stderr when `rules` need a judge that cannot
    /// answer (none configured, or configuration missing); `None` otherwise.
    pub fn note(&self, rules: &novac::Rules) -> Option<String> {
        let n = rules.iter().filter(|r| r.uses_llm()).count();
        if n == 0 {
            return None;
        }
        match (&self.description, &self.missing) {
            (None, _) => Some(format!(
                "note: {n} rule(s) use llm: patterns and no LLM judge is configured \
                 (--llm PROVIDER, or OPENAI_API_KEY); prompts that need one fail closed"
            )),
            (Some(d), Some(m)) => Some(format!(
                "note: LLM judge {d}: {m}; prompts that need it fail closed"
            )),
            (Some(_), None) => None,
        }
    }
}

/// Builds the judge and options from `args` and the process environment.
pub fn setup(args: &LlmArgs) -> Result<LlmSetup> {
    let options = LlmOptions {
        on_error: match args.llm_on_error {
            OnError::NotMatched => LlmFailurePolicy::NotMatched,
            OnError::Matched => LlmFailurePolicy::Matched,
            OnError::Error => LlmFailurePolicy::Error,
        },
        concurrency: args.llm_concurrency.max(1),
        deadline: seconds(args.llm_deadline, "--llm-deadline")?,
    };
    let mut setup = LlmSetup {
        judge: None,
        options,
        description: None,
        missing: None,
    };
    if args.no_llm {
        return Ok(setup);
    }
    build_judge(args, &mut setup)?;
    Ok(setup)
}

fn seconds(value: f64, flag: &str) -> Result<Option<Duration>> {
    if !value.is_finite() || value < 0.0 {
        anyhow::bail!("{flag} takes a number of seconds >= 0, not {value}");
    }
    Ok((value > 0.0).then(|| Duration::from_secs_f64(value)))
}

/// The provider named by the flag or the environment.
#[cfg(feature = "llm")]
fn provider_name(args: &LlmArgs) -> Option<String> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    args.llm
        .clone()
        .or_else(|| env("NOVA_LLM_PROVIDER"))
        .or_else(|| env("OPENAI_API_KEY").map(|_| "openai".to_string()))
}

#[cfg(feature = "llm")]
fn build_judge(args: &LlmArgs, setup: &mut LlmSetup) -> Result<()> {
    use novac_llm::{HttpJudge, JudgeConfig, Provider};
    let Some(name) = provider_name(args) else {
        return Ok(());
    };
    let provider: Provider = name.parse()?;
    let mut config = JudgeConfig::from_env(provider, args.llm_model.as_deref());
    if let Some(url) = &args.llm_base_url {
        config.base_url = Some(url.clone());
    }
    if let Some(t) = seconds(args.llm_timeout.unwrap_or(0.0), "--llm-timeout")? {
        config.timeout = t;
    }
    config.retries = args.llm_retries;
    setup.description = Some(config.describe());
    setup.missing = config.missing();
    setup.judge = Some(Box::new(HttpJudge::new(config)));
    Ok(())
}

#[cfg(not(feature = "llm"))]
fn build_judge(args: &LlmArgs, _: &mut LlmSetup) -> Result<()> {
    if args.llm.is_some() {
        anyhow::bail!(
            "--llm needs a novac built with the `llm` feature: \
             cargo install --path crates/novac-cli --features llm"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_from_flags() {
        let args = LlmArgs {
            no_llm: true,
            llm_on_error: OnError::Error,
            llm_concurrency: 0,
            llm_deadline: 0.0,
            ..LlmArgs::default()
        };
        let s = setup(&args).unwrap();
        assert!(s.judge.is_none());
        assert_eq!(s.options.on_error, LlmFailurePolicy::Error);
        assert_eq!(s.options.concurrency, 1);
        assert_eq!(s.options.deadline, None);
        let bad = LlmArgs {
            llm_deadline: -1.0,
            ..LlmArgs::default()
        };
        assert!(setup(&bad).is_err());
    }

    #[cfg(feature = "llm")]
    #[test]
    fn unknown_providers_are_refused() {
        let args = LlmArgs {
            llm: Some("gemini".into()),
            ..LlmArgs::default()
        };
        let e = setup(&args).err().unwrap().to_string();
        assert!(e.contains("unsupported LLM provider 'gemini'"), "{e}");
    }
}
