//! Guardrails: detectors that find what must not pass through Weir unseen — personal data,
//! secrets, prompt injection — in the text agents send and receive.
//!
//! A detector reports findings (what kind, where); what is done about them (block, mask,
//! flag) is the policy's business, not the detector's.

pub mod classifier;
pub mod engine;
pub mod injection;
pub mod json;
pub mod pii;
pub mod policy;
pub mod secrets;
pub mod stream;
pub mod streamed;
pub mod tools;
pub mod webhook;

/// What a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Email,
    Phone,
    Card,
    Iban,
    Ssn,
    IpAddress,
    OpenAiKey,
    AnthropicKey,
    AwsAccessKey,
    AwsSecretKey,
    GithubToken,
    GitlabToken,
    SlackToken,
    StripeKey,
    GoogleApiKey,
    Jwt,
    PrivateKey,
    GenericSecret,
    /// Found by a custom rule (named by its guardrail).
    Custom,
}

impl Kind {
    /// The name in config, audit records and masks (`[EMAIL]`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Phone => "phone",
            Self::Card => "card",
            Self::Iban => "iban",
            Self::Ssn => "ssn",
            Self::IpAddress => "ip",
            Self::OpenAiKey => "openai_key",
            Self::AnthropicKey => "anthropic_key",
            Self::AwsAccessKey => "aws_access_key",
            Self::AwsSecretKey => "aws_secret_key",
            Self::GithubToken => "github_token",
            Self::GitlabToken => "gitlab_token",
            Self::SlackToken => "slack_token",
            Self::StripeKey => "stripe_key",
            Self::GoogleApiKey => "google_api_key",
            Self::Jwt => "jwt",
            Self::PrivateKey => "pem_private_key",
            Self::GenericSecret => "generic_secret",
            Self::Custom => "custom",
        }
    }
}

/// One thing found: its kind and its byte range in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finding {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
    /// Which of several detectors found it (a guardrail's place in its list), where that
    /// matters.
    pub tag: u16,
}

impl Finding {
    pub fn new(kind: Kind, start: usize, end: usize) -> Self {
        Self { kind, start, end, tag: 0 }
    }
}

/// What a detector finds in `text`, as (kind, the text found), for tests.
#[cfg(test)]
pub(crate) fn found(scan: fn(&str, &mut Vec<Finding>), text: &str) -> Vec<(Kind, &str)> {
    let mut out = Vec::new();
    scan(text, &mut out);
    out.iter().map(|f| (f.kind, &text[f.start..f.end])).collect()
}
