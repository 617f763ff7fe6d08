//! Does an environment variable hold a secret? Judged from its name and, when known, its value;
//! shared by every rule that looks at build or pipeline variables.
//!
//! The detector answers with the *kind* of secret, never the value, so callers can say what
//! they found without repeating it. It is tuned for few false positives: a secret-like name
//! with a value that is plainly not a secret (a boolean, a number, a path, a reference to
//! Parameter Store or Secrets Manager, a placeholder) is not reported.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

/// Why a variable was judged to hold a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// The name says secret (`DB_PASSWORD`, `API_TOKEN`, `AWS_SECRET_ACCESS_KEY`…) and the value
    /// does not look like a harmless setting.
    SecretName,
    AwsAccessKeyId,
    PrivateKey,
    GitHubToken,
    GitLabToken,
    SlackToken,
    NpmToken,
    StripeKey,
    GoogleApiKey,
    JsonWebToken,
    UrlWithCredentials,
    /// A long random-looking string: most likely a generated key or token.
    HighEntropy,
}

impl fmt::Display for SecretKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SecretKind::SecretName => "secret-like name",
            SecretKind::AwsAccessKeyId => "AWS access key id",
            SecretKind::PrivateKey => "private key",
            SecretKind::GitHubToken => "GitHub token",
            SecretKind::GitLabToken => "GitLab token",
            SecretKind::SlackToken => "Slack token",
            SecretKind::NpmToken => "npm token",
            SecretKind::StripeKey => "Stripe key",
            SecretKind::GoogleApiKey => "Google API key",
            SecretKind::JsonWebToken => "JSON web token",
            SecretKind::UrlWithCredentials => "URL with embedded credentials",
            SecretKind::HighEntropy => "random-looking value",
        })
    }
}

/// Value formats that are secrets whatever the variable is called.
static KNOWN_FORMATS: LazyLock<Vec<(SecretKind, Regex)>> = LazyLock::new(|| {
    [
        (SecretKind::AwsAccessKeyId, r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b"),
        (SecretKind::PrivateKey, r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
        (SecretKind::GitHubToken, r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b"),
        (SecretKind::GitLabToken, r"\bgl(?:pat|dt|rt|cbt|ptt|ft)-[A-Za-z0-9_-]{20,}"),
        (SecretKind::SlackToken, r"\bxox[abposr]-[A-Za-z0-9-]{10,}|hooks\.slack\.com/services/T[A-Za-z0-9_/]+"),
        (SecretKind::NpmToken, r"\bnpm_[A-Za-z0-9]{36}\b"),
        (SecretKind::StripeKey, r"\b[sr]k_live_[A-Za-z0-9]{20,}\b"),
        (SecretKind::GoogleApiKey, r"\bAIza[0-9A-Za-z_-]{35}\b"),
        (SecretKind::JsonWebToken, r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
        // scheme://user:password@host, where the password is not a ${placeholder}.
        (SecretKind::UrlWithCredentials, r"\b[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+:[^/\s@$]{3,}@[^\s]"),
    ]
    .into_iter()
    .map(|(kind, pattern)| (kind, Regex::new(pattern).expect("secret patterns are valid")))
    .collect()
});

/// Name tokens that make a variable secret (`DB_PASSWORD`, `GITHUB_TOKEN`).
const SECRET_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "PWD",
    "PASS",
    "SECRET",
    "SECRETS",
    "TOKEN",
    "APIKEY",
    "PRIVATEKEY",
    "CREDENTIAL",
    "CREDENTIALS",
    "AUTHTOKEN",
    "ACCESSKEY",
    "SECRETKEY",
    "CLIENTSECRET",
    "SESSIONTOKEN",
    "PAT",
];
/// Adjacent name tokens that make a variable secret (`API_KEY`, `SIGNING_KEY`).
const SECRET_PAIRS: &[(&str, &str)] = &[
    ("API", "KEY"),
    ("PRIVATE", "KEY"),
    ("ACCESS", "KEY"),
    ("SECRET", "KEY"),
    ("SIGNING", "KEY"),
    ("ENCRYPTION", "KEY"),
    ("MASTER", "KEY"),
    ("AUTH", "KEY"),
    ("LICENSE", "KEY"),
    ("CONNECTION", "STRING"),
];
/// A last name token that makes the variable a setting *about* a secret, not the secret
/// (`PASSWORD_FILE`, `TOKEN_TTL`, `SECRET_ARN`).
const SETTING_SUFFIXES: &[&str] = &[
    "FILE",
    "PATH",
    "DIR",
    "ARN",
    "NAME",
    "ID",
    "IDS",
    "ENABLED",
    "DISABLED",
    "LENGTH",
    "LEN",
    "MIN",
    "MAX",
    "TTL",
    "SECONDS",
    "MINUTES",
    "HOURS",
    "DAYS",
    "EXPIRY",
    "EXPIRES",
    "EXPIRATION",
    "TIMEOUT",
    "URL",
    "URI",
    "ENDPOINT",
    "HEADER",
    "PARAM",
    "PARAMETER",
    "REF",
    "VERSION",
    "TYPE",
    "COUNT",
    "POLICY",
    "ROTATION",
    "REGION",
    "LOCATION",
    "PROVIDER",
    "STORE",
    "KEYS",
    "SIZE",
    "FORMAT",
    "MODE",
    "FIELD",
    "VAR",
    "ENV",
];
/// Words that turn a secret-like name into a switch (`MYSQL_ALLOW_EMPTY_PASSWORD`).
const SWITCH_WORDS: &[&str] =
    &["ALLOW", "EMPTY", "RANDOM", "GENERATE", "SKIP", "REQUIRE", "USE", "NO", "DISABLE", "ENABLE"];

/// The kind of secret a variable holds, if any. `value` is `None` when it is unknown (e.g.
/// masked): the name alone then decides.
pub fn detect(name: &str, value: Option<&str>) -> Option<SecretKind> {
    let value = value.map(str::trim);
    if let Some(value) = value
        && let Some((kind, _)) = KNOWN_FORMATS.iter().find(|(_, pattern)| pattern.is_match(value))
    {
        return Some(*kind);
    }
    if is_aws_credential_name(name) && value.is_none_or(|value| !value.is_empty()) {
        return Some(SecretKind::SecretName);
    }
    let harmless = value.is_some_and(is_harmless_value);
    if name_says_secret(name) && !harmless {
        return Some(SecretKind::SecretName);
    }
    if value.is_some_and(is_random_looking) && !harmless {
        return Some(SecretKind::HighEntropy);
    }
    None
}

/// The names AWS Config's managed rule (`codebuild-project-envvar-awscred-check`) flags.
fn is_aws_credential_name(name: &str) -> bool {
    ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"].iter().any(|n| name.eq_ignore_ascii_case(n))
}

fn name_tokens(name: &str) -> Vec<String> {
    // Split on separators and on lower→upper case changes (`dbPassword`).
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if (!c.is_ascii_alphanumeric() || (c.is_ascii_uppercase() && previous_lower)) && !current.is_empty() {
            tokens.push(std::mem::take(&mut current));
        }
        if c.is_ascii_alphanumeric() {
            current.push(c.to_ascii_uppercase());
        }
        previous_lower = c.is_ascii_lowercase();
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

fn name_says_secret(name: &str) -> bool {
    let tokens = name_tokens(name);
    let Some(last) = tokens.last() else { return false };
    if SETTING_SUFFIXES.contains(&last.as_str()) || tokens.iter().any(|t| SWITCH_WORDS.contains(&t.as_str())) {
        return false;
    }
    tokens.iter().any(|token| SECRET_WORDS.contains(&token.as_str()))
        || tokens.windows(2).any(|pair| SECRET_PAIRS.contains(&(pair[0].as_str(), pair[1].as_str())))
}

/// Values that are settings, not secrets, whatever the name says.
fn is_harmless_value(value: &str) -> bool {
    const WORDS: &[&str] = &[
        "", "true", "false", "yes", "no", "y", "n", "on", "off", "enabled", "disabled", "none", "null", "nil",
        "required", "optional", "default", "auto",
    ];
    let lower = value.to_ascii_lowercase();
    WORDS.contains(&lower.as_str())
        || value.parse::<f64>().is_ok()
        // References and placeholders: resolved at build time, not secrets themselves.
        || value.starts_with("arn:")
        || value.starts_with("{{resolve:")
        || value.starts_with("${")
        || value.starts_with("$(")
        || (value.starts_with('$') && value[1..].chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        || (value.starts_with('<') && value.ends_with('>'))
        // Paths (including Parameter Store names such as /prod/db/password).
        || ((value.starts_with('/') || value.starts_with("./") || value.starts_with("~/")) && !value.contains(char::is_whitespace))
        // URLs that made it past the credentials pattern carry none.
        || (value.contains("://") && !value.contains(char::is_whitespace))
}

/// At least 20 characters of a key alphabet, mixing upper case, lower case and digits, with
/// high Shannon entropy: generated keys look like this, words and identifiers do not.
fn is_random_looking(value: &str) -> bool {
    const MIN_LENGTH: usize = 20;
    const MIN_BITS_PER_CHAR: f64 = 4.0;
    value.len() >= MIN_LENGTH
        && value.chars().all(|c| c.is_ascii_alphanumeric() || "+/=_-".contains(c))
        && value.chars().any(|c| c.is_ascii_uppercase())
        && value.chars().any(|c| c.is_ascii_lowercase())
        && value.chars().any(|c| c.is_ascii_digit())
        && shannon_entropy(value) >= MIN_BITS_PER_CHAR
}

fn shannon_entropy(value: &str) -> f64 {
    let mut counts = [0_u32; 128];
    for b in value.bytes().filter(u8::is_ascii) {
        counts[usize::from(b)] += 1;
    }
    #[allow(clippy::cast_precision_loss)] // lengths of environment values are far below 2^52
    let length = value.len() as f64;
    counts
        .iter()
        .filter(|&&count| count > 0)
        .map(|&count| {
            let p = f64::from(count) / length;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case::password_by_name("DB_PASSWORD", Some("hunter2"), Some(SecretKind::SecretName))]
    #[case::camel_case_name("dbPassword", Some("s3cr3t!"), Some(SecretKind::SecretName))]
    #[case::api_key_pair("STRIPE_API_KEY", Some("abc123"), Some(SecretKind::SecretName))]
    #[case::masked_secret_name("GITHUB_TOKEN", None, Some(SecretKind::SecretName))]
    #[case::aws_key_id_name_always("AWS_ACCESS_KEY_ID", Some("x"), Some(SecretKind::SecretName))]
    #[case::aws_key_id_value("SOME_SETTING", Some("AKIAIOSFODNN7EXAMPLE"), Some(SecretKind::AwsAccessKeyId))]
    #[case::private_key("DEPLOY", Some("-----BEGIN OPENSSH PRIVATE KEY-----\nabc"), Some(SecretKind::PrivateKey))]
    #[case::github_token("X", Some("ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"), Some(SecretKind::GitHubToken))]
    #[case::gitlab_token("X", Some("glpat-aB3dE5gH7jK9mN1pQ3sT"), Some(SecretKind::GitLabToken))]
    #[case::slack_token("NOTIFY", Some("xoxb-1234567890-abcdefghij"), Some(SecretKind::SlackToken))]
    #[case::npm_token("REGISTRY", Some("npm_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"), Some(SecretKind::NpmToken))]
    #[case::url_credentials(
        "DATABASE_URL",
        Some("postgres://app:Sup3rS3cret@db.internal:5432/app"),
        Some(SecretKind::UrlWithCredentials)
    )]
    #[case::high_entropy("BLOB", Some("q8Vz3Lm2Rt9Xw7Kp4Nb6Hs1Jd5Fg0Yc"), Some(SecretKind::HighEntropy))]
    #[case::allow_empty_password("MYSQL_ALLOW_EMPTY_PASSWORD", Some("yes"), None)]
    #[case::password_file_pointer("DB_PASSWORD_FILE", Some("/run/secrets/db"), None)]
    #[case::parameter_store_path("DB_PASSWORD", Some("/prod/db/password"), None)]
    #[case::placeholder("API_TOKEN", Some("${API_TOKEN}"), None)]
    #[case::secret_arn("DB_SECRET_ARN", Some("arn:aws:secretsmanager:us-east-1:1:secret:db"), None)]
    #[case::boolean_switch("USE_TOKEN", Some("true"), None)]
    #[case::token_lifetime("TOKEN_TTL_SECONDS", Some("3600"), None)]
    #[case::url_without_credentials("ARTIFACT_URL", Some("https://example.com/path?x=1"), None)]
    #[case::plain_setting("NODE_ENV", Some("production"), None)]
    #[case::commit_sha("COMMIT_SHA", Some("9fceb02d0ae598e95dc970b74767f19372d61af8"), None)]
    #[case::image_uri("IMAGE", Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.2.3"), None)]
    #[case::masked_setting("LOG_LEVEL", None, None)]
    fn detects(#[case] name: &str, #[case] value: Option<&str>, #[case] expected: Option<SecretKind>) {
        assert_eq!(detect(name, value), expected);
    }

    #[test]
    fn the_kind_never_contains_the_value() {
        let value = "postgres://app:CanaryValue123@db:5432/app";
        let kind = detect("DATABASE_URL", Some(value)).unwrap();
        assert!(!kind.to_string().contains("CanaryValue123"));
    }
}
