//! Does an environment variable hold a secret? Judged from its name and, when known, its value;
//! shared by every rule that looks at build or pipeline variables.
//!
//! The detector answers with the *kind* of secret, never the value, so callers can say what
//! they found without repeating it. It is tuned for few false positives, and measured: a
//! labelled corpus of realistic variables (`fixtures/secrets-corpus.json`) must keep precision
//! and recall at or above 0.95 (`cargo test -p pipesec-rules corpus -- --nocapture` prints the
//! report). Batches of vendor tokens under neutral names and their look-alikes, written by
//! separate sessions without seeing the detector (`fixtures/secrets-heldout*.json`), are reported
//! beside it; the newest (batch 3) is held out and never tuned against (`secrets/corpus.rs` says
//! which batch was used for what).
//!
//! The heuristics, in the order [`detect`] applies them:
//!
//! 1. **Known formats** (`secrets/value.rs`): a value holding a private key (PEM, or base64 of
//!    one), an AWS key id or session token, a vendor token in its documented format (the
//!    vendors' formats are data: `rules/data/token-formats.yaml`, turned into the format table
//!    by `rules/build.rs`), a JWT, a URL with `user:password@`, a chat webhook URL, `Basic` /
//!    `Bearer` credentials, an Azure SAS signature, or a credential assigned inside it
//!    (`password=…` in a connection string, `"auth": "…"`, `--token …`) is a secret whatever
//!    the variable is called. A JWT under a name that says it is public
//!    (`NEXT_PUBLIC_*_ANON_KEY`) is not.
//! 2. **AWS credential names**: `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` with any
//!    non-empty value, like AWS Config's managed rule.
//! 3. **Secret names** (`secrets/name.rs`): a name ending in a secret word (`PASSWORD`, `TOKEN`,
//!    `SECRET`, `API_KEY`, `PRIVATE_KEY`, `AUTH`…), possibly followed by a stage or encoding
//!    (`_PROD`, `_B64`), or Bundler's per-host `BUNDLE_<HOST>__<TLD>`, is a secret unless the value
//!    is harmless: a boolean, a number, a path or Parameter Store name, an ARN, a URL without
//!    credentials, a placeholder or reference (`${…}`, `$(…)`, `{{resolve:…}}`, `<…>`), an
//!    encrypted value (SOPS, KMS ciphertext) or published material (public keys, certificates,
//!    integrity hashes, `pk_` keys). A secret word followed by other words (`SECRET_KEY_BASE`,
//!    `PASSWORD_RESET_TEMPLATE`) is a secret only when the value looks generated (random, long hex,
//!    UUID). Names that are settings about a secret (`*_FILE`, `*_TTL`, `*_ARN`, `*_ID`…), switches
//!    (`MYSQL_ALLOW_EMPTY_PASSWORD`) or public (`*PUBLISHABLE_KEY`, `*_SITE_KEY`) are not.
//! 4. **Random-looking values**: 20+ characters of a key alphabet mixing cases and digits with
//!    high entropy, unless harmless, under a public name, or under an identifier name
//!    (`*_ID`, `*_SID`, `*_DIGEST`…: generated ids look random too). Base64 of text is judged on
//!    the decoded text: a service-account JSON or `user:password` is a secret, a certificate or
//!    public JSON is not.
//!
//! Known limits: secrets without a distinctive format under names that say nothing (a Twilio
//! or Datadog key in hex under `SMS_CONFIG`) look like digests and are not found; the
//! `allowedVariableNames` parameter of the rules covers the opposite case.

mod name;
mod value;

use std::cell::LazyCell;
use std::fmt;

use name::NameClass;
use value::Decoded;

/// Why a variable was judged to hold a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// The name says secret (`DB_PASSWORD`, `API_TOKEN`, `AWS_SECRET_ACCESS_KEY`…) and the value
    /// does not look like a harmless setting.
    SecretName,
    AwsAccessKeyId,
    AwsSessionToken,
    PrivateKey,
    /// A vendor's token in its documented format (`rules/data/token-formats.yaml`), by its label:
    /// "GitHub token", "Stripe key"…
    Vendor(&'static str),
    JsonWebToken,
    UrlWithCredentials,
    /// A chat webhook URL (Discord, Teams, Google Chat) whose path is the credential.
    WebhookUrl,
    /// `Basic` / `Bearer` credentials, or base64 of `user:password`.
    HttpCredentials,
    /// A password, token or key assigned inside the value (connection string, query string,
    /// JSON, command-line flag).
    CredentialAssignment,
    /// A long random-looking string: most likely a generated key or token.
    HighEntropy,
}

impl fmt::Display for SecretKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SecretKind::SecretName => "secret-like name",
            SecretKind::AwsAccessKeyId => "AWS access key id",
            SecretKind::AwsSessionToken => "AWS session token",
            SecretKind::PrivateKey => "private key",
            SecretKind::Vendor(label) => label,
            SecretKind::JsonWebToken => "JSON web token",
            SecretKind::UrlWithCredentials => "URL with embedded credentials",
            SecretKind::WebhookUrl => "webhook URL",
            SecretKind::HttpCredentials => "HTTP credentials",
            SecretKind::CredentialAssignment => "credential assigned in the value",
            SecretKind::HighEntropy => "random-looking value",
        })
    }
}

/// The kind of secret a variable holds, if any. `value` is `None` when it is unknown (e.g.
/// masked): the name alone then decides.
pub fn detect(name: &str, value: Option<&str>) -> Option<SecretKind> {
    let value = value.map(str::trim);
    let aws_credential_name = is_aws_credential_name(name);
    // Classifying the name was the largest part of the detector's time on a pipeline's settings
    // (bench/README.md), and most names are plain: it runs only when an answer depends on it.
    let class = LazyCell::new(|| name::classify(name));
    let public = || class.class == NameClass::Public;
    if let Some(kind) = value.and_then(value::secret_format)
        && !(kind == SecretKind::JsonWebToken && public())
    {
        return Some(kind);
    }
    let Some(value) = value else {
        return (aws_credential_name || class.class == NameClass::Secret).then_some(SecretKind::SecretName);
    };
    if aws_credential_name && !value.is_empty() {
        return Some(SecretKind::SecretName);
    }
    // The cheaper tests first: most settings are plain names with short plain values.
    let harmless = || value::is_harmless(value);
    if name::may_be_secret(name) {
        match class.class {
            NameClass::Secret if !harmless() => return Some(SecretKind::SecretName),
            NameClass::Qualified if value::looks_generated(value) && !harmless() => {
                return Some(SecretKind::SecretName);
            }
            _ => {}
        }
    }
    if !value::is_random_looking(value) || public() || class.identifier || harmless() {
        return None;
    }
    match value::decode_text(value) {
        Decoded::Binary => Some(SecretKind::HighEntropy),
        Decoded::Secret(kind) => Some(kind),
        Decoded::Text => None,
    }
}

/// The value formats' anchor prefilter admits every format their patterns alone would find in
/// `value`. Checked by the fuzzer's `secrets` target and on the labelled corpus.
#[doc(hidden)]
pub fn anchors_hide_no_format(value: &str) -> bool {
    value::secret_format(value) == value::formats_matching(value, |_| true)
}

/// The names AWS Config's managed rule (`codebuild-project-envvar-awscred-check`) flags.
fn is_aws_credential_name(name: &str) -> bool {
    ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"].iter().any(|n| name.eq_ignore_ascii_case(n))
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
    #[case::github_token(
        "X",
        Some("ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"),
        Some(SecretKind::Vendor("GitHub token"))
    )]
    #[case::gitlab_token("X", Some("glpat-aB3dE5gH7jK9mN1pQ3sT"), Some(SecretKind::Vendor("GitLab token")))]
    #[case::slack_token("NOTIFY", Some("xoxb-1234567890-abcdefghij"), Some(SecretKind::Vendor("Slack token")))]
    #[case::npm_token(
        "REGISTRY",
        Some("npm_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"),
        Some(SecretKind::Vendor("npm token"))
    )]
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
    #[case::session_token_value(
        "CROSS_ACCOUNT",
        Some(
            "IQoJb3JpZ2luX2VjEU8JZpDE0iGXlD6gNCFbaEPFjbD0kH8Oool8DklZDOCj2ISaJiHkTj0rLGlkoMXGjtEkDnNfribxUdl7dXTPyLsxPFkThf4VucSmEHgaKwVJ7fa"
        ),
        Some(SecretKind::AwsSessionToken)
    )]
    #[case::base64_private_key(
        "SSH_KEY_B64",
        Some("LS0tLS1CRUdJTiBPUEVOU1NIIFBSSVZBVEUgS0VZLS0tLS0KYjNCbGJuTnphQzFyWlhrdGRqRUFBQUFBQkc1dmJtVT0="),
        Some(SecretKind::PrivateKey)
    )]
    #[case::base64_certificate(
        "CLUSTER_CA",
        Some("LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJzekNDQVZtZ0F3SUJBZ0lVUTJGdVlYSjU="),
        None
    )]
    #[case::base64_user_password(
        "REGISTRY_LOGIN",
        Some("Y2ktYm90OlB3LTlmM2syTG1RN3ha"),
        Some(SecretKind::HttpCredentials)
    )]
    #[case::password_in_connection_string(
        "CONNECTION",
        Some("Host=db;Database=app;Username=app;Password=Pw-9f3k2LmQ"),
        Some(SecretKind::CredentialAssignment)
    )]
    #[case::placeholder_in_connection_string(
        "DB_CONNECTION_STRING",
        Some("Host=db;Database=app;Username=app;Password=${DB_PASSWORD}"),
        None
    )]
    #[case::kubernetes_secret_name_in_assignment("HELM_SET", Some("auth.existingSecret=app-db"), None)]
    #[case::publishable_key("STRIPE_PUBLISHABLE_KEY", Some("pk_live_C9qEwjky40UVsWmflzdE1F8ResqEDu"), None)]
    #[case::public_jwt(
        "NEXT_PUBLIC_ANON_KEY",
        Some("eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.c2lnbmF0dXJlLW1hZGUtdXA"),
        None
    )]
    #[case::kms_ciphertext(
        "ENCRYPTED_DB_PASSWORD",
        Some(
            "AQICAHh575YX8XM5mSLFy5UBIHEYeD7p4Zdl/AK6j0KgodkDINzNlxICAbaG8wy1JZirLnqB0PRfMBH7+WY5YQ1xOy1bAimCaXyMFSb4hBqlxJJLafBvv6Q9RxXTndfYUZx9K1GNNEgeyg1+lWIQd9JjbaCIi05fHFWk=="
        ),
        None
    )]
    #[case::identifier_that_looks_random("OIDC_CLIENT_ID", Some("0oasTpkr0cStY4qWB8dW"), None)]
    #[case::qualified_name_generated_value(
        "SECRET_KEY_BASE",
        Some("9f3e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f"),
        Some(SecretKind::SecretName)
    )]
    #[case::qualified_name_plain_value("PASSWORD_RESET_TEMPLATE", Some("password-reset-v2"), None)]
    #[case::masked_qualified_name("TOKEN_AUDIENCE", None, None)]
    #[case::stage_qualified_name("DB_PASSWORD_PROD", Some("hunter2"), Some(SecretKind::SecretName))]
    #[case::masked_value("NPM_TOKEN", Some("********"), None)]
    #[case::partly_masked_value("STRIPE_SECRET_KEY", Some("sk_live_****************4eQb"), None)]
    #[case::vendor_prefix_with_padding("GITHUB_TOKEN", Some("ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"), None)]
    #[case::aws_key_id_padding("KEY_TEMPLATE", Some("AKIAXXXXXXXXXXXXXXXX"), None)]
    #[case::one_character_repeated("API_KEY", Some("xxxxxxxxxxxxxxxx"), None)]
    #[case::redaction_marker("TWINE_PASSWORD", Some("[REDACTED]"), None)]
    #[case::default_password_is_still_one("DB_PASSWORD", Some("changeme"), Some(SecretKind::SecretName))]
    #[case::base64_of_json_is_not_user_password(
        "CONTEXT_B64",
        Some("eyJlbnYiOiJwcm9kIiwidGVhbSI6InBheW1lbnRzIiwicmVnaW9uIjoiZXUtd2VzdC0xIn0="),
        None
    )]
    #[case::key_fingerprint("SIGNING_KEY_FPR", Some("3AA5C34371567BD2D1F8C1C3E2C8A7F9B0D4E6A1"), None)]
    #[case::word_prefix_inside_a_cache_key("RESTORE_FROM", Some("deps-key-9b74c9897bac770ffc029102a200c5de"), None)]
    #[case::word_prefix_starting_a_value(
        "MAIL_BACKEND",
        Some("key-9b74c9897bac770ffc029102a200c5de"),
        Some(SecretKind::Vendor("Mailgun API key"))
    )]
    #[case::datadog_client_token("DD_CLIENT_TOKEN", Some("pub0123456789abcdef0123456789abcdef"), None)]
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

#[cfg(test)]
mod corpus;
