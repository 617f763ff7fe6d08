//! What a value says: known secret formats, harmless settings, generated-looking strings.
//!
//! All patterns are compiled once, ASCII-only over bytes: Unicode classes and case folding
//! would multiply the automata for nothing, every format is ASCII. Each format is its own regex,
//! run only when the value holds one of the format's anchors (`ghp_`, `://`, `-----BEGIN `…):
//! one Aho-Corasick pass over the value finds them all, and most values hold none. (Calling
//! every regex, each with its own literal prefilter, was slower (bench/README.md); one `RegexSet`
//! over all formats was tried too: on long base64 values its combined automaton outgrows the lazy
//! DFA's cache and it falls back to a much slower engine.)

use std::borrow::Cow;
use std::sync::{LazyLock, OnceLock};

use aho_corasick::{AhoCorasick, AhoCorasickKind};
use regex::bytes::{Regex, RegexBuilder};

use super::SecretKind;

/// How a format's match is confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Confirm {
    /// The match is the secret.
    Always,
    /// `LS0tLS1CRUdJTi…` is base64 of `-----BEGIN`: a secret when the header decodes to a
    /// private key (certificates and public keys are published).
    Base64PrivateKey,
    /// Capture 1 is a credential's value (`password=…`, `"auth": "…"`, `--token …`): a secret
    /// when it looks like a credential, not a placeholder, reference or plain word.
    CredentialValue,
    /// Capture 1 is the value of a bare `key=` parameter: a secret only when random-looking.
    RandomValue,
}

struct Format {
    kind: SecretKind,
    confirm: Confirm,
    /// The shortest value the pattern can match.
    min_len: usize,
    /// Every match of the pattern holds one of these: the regex runs only on values that do
    /// (compared ignoring ASCII case, so a superset).
    anchors: &'static [&'static str],
    pattern: &'static str,
}

/// A credential assigned inside a value; capture 1 is its value.
const ASSIGNMENT: &str = r#"(?i)(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|account[_-]?key|private[_-]?key|auth)(?:["']?\s*=\s*|["']\s*:\s*|:\s+)["']?([^\s"'`;,&)}\]]+)"#;

/// Value formats that are secrets whatever the variable is called, in order of precedence:
/// these first, then the vendor formats, then [`STRUCTURAL_FORMATS`].
const KEY_FORMATS: &[Format] = &[
    Format {
        kind: SecretKind::PrivateKey,
        confirm: Confirm::Always,
        min_len: 27,
        anchors: &["-----BEGIN "],
        pattern: r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----",
    },
    Format {
        kind: SecretKind::PrivateKey,
        confirm: Confirm::Base64PrivateKey,
        min_len: 74,
        anchors: &["LS0tLS1CRUdJTi"],
        pattern: r"LS0tLS1CRUdJTi[A-Za-z0-9+/]{60}",
    },
    Format {
        kind: SecretKind::AwsAccessKeyId,
        confirm: Confirm::Always,
        min_len: 20,
        anchors: &["AKIA", "ASIA", "ABIA", "ACCA"],
        pattern: r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b",
    },
    // STS session tokens open with the base64 of their fixed header.
    Format {
        kind: SecretKind::AwsSessionToken,
        confirm: Confirm::Always,
        min_len: 113,
        anchors: &["IQoJb3JpZ2luX2Vj", "FwoGZXIvYXdzE"],
        pattern: r"(?:IQoJb3JpZ2luX2Vj|FwoGZXIvYXdzE)[A-Za-z0-9+/=]{100,}",
    },
];

/// Vendor token formats (`GitHub`, `Stripe`…), generated from `rules/data/token-formats.yaml` by
/// `rules/build.rs`.
const VENDOR_FORMATS: &[Format] = include!(concat!(env!("OUT_DIR"), "/token_formats.rs"));

/// Formats recognised by their structure rather than a vendor's prefix.
const STRUCTURAL_FORMATS: &[Format] = &[
    Format {
        kind: SecretKind::JsonWebToken,
        confirm: Confirm::Always,
        min_len: 30,
        anchors: &[".eyJ"],
        pattern: r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
    },
    // scheme://user:password@host (the user may be empty: `redis://:password@host`), where the
    // password is not a ${placeholder}.
    Format {
        kind: SecretKind::UrlWithCredentials,
        confirm: Confirm::Always,
        min_len: 10,
        anchors: &["://"],
        pattern: r"\b[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:[^/\s@$]{3,}@[^\s]",
    },
    // Chat webhooks whose path is the credential.
    Format {
        kind: SecretKind::WebhookUrl,
        confirm: Confirm::Always,
        min_len: 20,
        anchors: &[".com/api/webhooks/", ".webhook.office.com/webhookb2/", "chat.googleapis.com/v1/spaces/"],
        pattern: r"discord(?:app)?\.com/api/webhooks/\d+/[A-Za-z0-9_-]{20,}|\.webhook\.office\.com/webhookb2/\S+|chat\.googleapis\.com/v1/spaces/\S+[?&]token=",
    },
    // `Authorization: Basic …` / `Bearer …` followed by a credential (prose is not: "Basic
    // authentication").
    Format {
        kind: SecretKind::HttpCredentials,
        confirm: Confirm::CredentialValue,
        min_len: 22,
        anchors: &["Basic ", "Bearer "],
        pattern: r"\b(?:Basic|Bearer) ([A-Za-z0-9._~+/-]{16,}=*)",
    },
    // A credential assigned inside the value: `password=…` (query strings, connection
    // strings, JVM properties, Terraform -var, Helm --set), `"auth": "…"` (JSON), `token: …`
    // (YAML). A colon counts only when quoted or followed by a space, so ARNs (`…:secret:name`)
    // and URLs are not assignments.
    Format {
        kind: SecretKind::CredentialAssignment,
        confirm: Confirm::CredentialValue,
        min_len: 10,
        anchors: &["passw", "pwd", "secret", "token", "key", "auth"],
        pattern: ASSIGNMENT,
    },
    // Command-line flags: `--password …`, `--token=…`.
    Format {
        kind: SecretKind::CredentialAssignment,
        confirm: Confirm::CredentialValue,
        min_len: 10,
        anchors: &["--"],
        pattern: r#"(?:^|\s)--[a-z-]*(?:password|passwd|token|secret|api-key)(?:=|\s+)["']?([^\s"']+)"#,
    },
    // Azure shared access signatures: `sv=<version>&…&sig=<signature>`.
    Format {
        kind: SecretKind::CredentialAssignment,
        confirm: Confirm::Always,
        min_len: 30,
        anchors: &["sv="],
        pattern: r"\bsv=\d{4}-\d{2}-\d{2}&\S*sig=[A-Za-z0-9%+/=]{20,}",
    },
    // A bare `key=` parameter is a credential only when it looks generated (`?key=Zx81…`);
    // cache keys, S3 object keys and tag keys do not.
    Format {
        kind: SecretKind::CredentialAssignment,
        confirm: Confirm::RandomValue,
        min_len: 24,
        anchors: &["key="],
        pattern: r"(?i)key=([A-Za-z0-9_-]{20,})",
    },
];

/// Every format, in order of precedence.
static FORMATS: LazyLock<Vec<&'static Format>> =
    LazyLock::new(|| KEY_FORMATS.iter().chain(VENDOR_FORMATS).chain(STRUCTURAL_FORMATS).collect());
/// Each format's regex, compiled the first time a value holds one of its anchors: start-up does
/// not pay for the many formats most pipelines never show.
static PATTERNS: LazyLock<Vec<OnceLock<Regex>>> = LazyLock::new(|| FORMATS.iter().map(|_| OnceLock::new()).collect());
/// The anchors of every format in one automaton, and the format each anchor belongs to: one
/// pass over a value names the few formats worth a regex (most values: none).
static ANCHORS: LazyLock<(AhoCorasick, Vec<usize>)> = LazyLock::new(|| {
    let (owners, anchors): (Vec<usize>, Vec<&str>) = FORMATS
        .iter()
        .enumerate()
        .flat_map(|(index, format)| format.anchors.iter().map(move |anchor| (index, *anchor)))
        .unzip();
    let automaton = AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .kind(Some(AhoCorasickKind::DFA))
        .build(anchors)
        .expect("secret anchors are valid");
    (automaton, owners)
});
static ASSIGNMENTS: LazyLock<Regex> = LazyLock::new(|| compile(ASSIGNMENT));

fn compile(pattern: &str) -> Regex {
    RegexBuilder::new(pattern).unicode(false).build().expect("secret patterns are valid")
}

/// A captured part of a value as text. Captures start and end at ASCII bytes in practice; a
/// capture that splits a multi-byte character is judged on its valid part.
fn text(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// The formats whose anchors `value` holds, one bit per index in `FORMATS`.
fn candidates(value: &str) -> u128 {
    let (automaton, owners) = &*ANCHORS;
    // Most values hold no anchor, and a plain scan says so faster than the overlapping one.
    if !automaton.is_match(value) {
        return 0;
    }
    automaton.find_overlapping_iter(value).fold(0, |bits, found| bits | 1 << owners[found.pattern().as_usize()])
}

/// The length of the shortest value any format accepts.
const SHORTEST_FORMAT: usize = {
    const fn shortest(formats: &[Format]) -> usize {
        let mut shortest = usize::MAX;
        let mut index = 0;
        while index < formats.len() {
            if formats[index].min_len < shortest {
                shortest = formats[index].min_len;
            }
            index += 1;
        }
        shortest
    }
    let (keys, vendors, structural) = (shortest(KEY_FORMATS), shortest(VENDOR_FORMATS), shortest(STRUCTURAL_FORMATS));
    let shortest = if keys < vendors { keys } else { vendors };
    if shortest < structural { shortest } else { structural }
};

/// The secret format a value holds, if any.
pub(super) fn secret_format(value: &str) -> Option<SecretKind> {
    // Short settings (`main`, `CODE_ZIP`) are most of a pipeline's: no scan for them.
    if value.len() < SHORTEST_FORMAT {
        return None;
    }
    let candidates = candidates(value);
    formats_matching(value, |index| candidates & (1 << index) != 0)
}

/// The first format, in order of precedence, among those `candidate` admits, whose pattern
/// confirms a secret in `value`.
pub(super) fn formats_matching(value: &str, candidate: impl Fn(usize) -> bool) -> Option<SecretKind> {
    let value = value.as_bytes();
    FORMATS.iter().zip(PATTERNS.iter()).enumerate().find_map(|(index, (format, pattern))| {
        if value.len() < format.min_len || !candidate(index) {
            return None;
        }
        let pattern = pattern.get_or_init(|| compile(format.pattern));
        let confirmed = match format.confirm {
            Confirm::Always => pattern.find_iter(value).any(|found| !is_padding(found.as_bytes())),
            Confirm::Base64PrivateKey => pattern.find_iter(value).any(|m| decodes_to_private_key(m.as_bytes())),
            Confirm::CredentialValue => {
                pattern.captures_iter(value).any(|captures| looks_like_credential(&text(&captures[1])))
            }
            Confirm::RandomValue => pattern.captures_iter(value).any(|captures| is_random_looking(&text(&captures[1]))),
        };
        confirmed.then_some(format.kind)
    })
}

/// The value names a credential in an assignment, but every such credential is a placeholder
/// or reference (`Password=${DB_PASSWORD};Host=db`): the structure is a setting.
fn credentials_are_placeholders(value: &str) -> bool {
    static ASSIGNMENT_FORMAT: LazyLock<usize> = LazyLock::new(|| {
        FORMATS.iter().position(|format| format.pattern == ASSIGNMENT).expect("ASSIGNMENT is a format")
    });
    if candidates(value) & (1 << *ASSIGNMENT_FORMAT) == 0 {
        return false;
    }
    let mut captures = ASSIGNMENTS.captures_iter(value.as_bytes()).peekable();
    captures.peek().is_some() && captures.all(|captures| is_harmless(&text(&captures[1])))
}

/// The header of a base64-encoded PEM block is a private key's.
fn decodes_to_private_key(encoded: &[u8]) -> bool {
    let mut header = [0_u8; 64];
    let mut length = 0;
    let complete = encoded.len() / 4 * 4;
    decode_base64(&encoded[..complete.min(80)], |byte| {
        if length < header.len() {
            header[length] = byte;
            length += 1;
        }
    });
    header[..length].windows(b"PRIVATE KEY".len()).any(|window| window == b"PRIVATE KEY")
}

/// Values that are settings, references or published material, not secrets, whatever the
/// name says.
pub(super) fn is_harmless(value: &str) -> bool {
    const WORDS: &[&str] = &[
        "", "true", "false", "yes", "no", "y", "n", "on", "off", "enabled", "disabled", "none", "null", "nil",
        "required", "optional", "default", "auto",
    ];
    const PREFIXES: &[&str] = &[
        // References and placeholders, resolved at build time.
        "arn:",
        "{{resolve:",
        "${",
        "$(",
        // Encrypted with SOPS: useless without the key.
        "ENC[",
        // Published: Stripe publishable keys, SSH public keys, certificates and public keys,
        // subresource-integrity hashes (npm `integrity`).
        "pk_live_",
        "pk_test_",
        "ssh-rsa AAAA",
        "ssh-ed25519 AAAA",
        "ssh-dss AAAA",
        "ecdsa-sha2-",
        "sk-ssh-ed25519@openssh.com AAAA",
        "-----BEGIN CERTIFICATE-----",
        "-----BEGIN PUBLIC KEY-----",
        "-----BEGIN PGP PUBLIC KEY BLOCK-----",
        "sha1-",
        "sha256-",
        "sha384-",
        "sha512-",
    ];
    let no_whitespace = !value.contains(char::is_whitespace);
    WORDS.iter().any(|word| value.eq_ignore_ascii_case(word))
        || is_placeholder(value)
        || value.parse::<f64>().is_ok()
        || PREFIXES.iter().any(|prefix| value.starts_with(prefix))
        || (value.starts_with('$') && value[1..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        || (value.starts_with('<') && value.ends_with('>'))
        || is_kms_ciphertext(value)
        || is_datadog_client_token(value)
        // Paths (including Parameter Store names such as /prod/db/password).
        || ((value.starts_with('/') || value.starts_with("./") || value.starts_with("~/")) && no_whitespace)
        // URLs that made it past the credentials formats carry none.
        || (value.contains("://") && no_whitespace)
        || ((value.contains('=') || value.contains(':')) && credentials_are_placeholders(value))
}

/// A value that stands in for a secret: a marker meant to be replaced (`REPLACE_ME`,
/// `[REDACTED]`), a masked value (`********`, `sk_live_****…YQJb`), one character repeated
/// (`xxxxxxxx`) or padding after a prefix (`ghp_xxxx…`). A default password (`changeme`) is not
/// one: a pipeline that sets it uses it.
fn is_placeholder(value: &str) -> bool {
    const PLACEHOLDERS: &[&str] = &[
        "replaceme",
        "replace_me",
        "replace-me",
        "redacted",
        "[redacted]",
        "(redacted)",
        "masked",
        "[masked]",
        "placeholder",
        "todo",
        "tbd",
    ];
    let bytes = value.as_bytes();
    PLACEHOLDERS.iter().any(|placeholder| value.eq_ignore_ascii_case(placeholder))
        || value.contains("****")
        || (bytes.len() >= 4 && bytes.iter().all(|&b| b == bytes[0]) && !bytes[0].is_ascii_digit())
        || is_padding(bytes)
}

/// A format's match whose body is padding (`ghp_xxxx…`, `AKIAXXXXXXXXXXXXXXXX`): one character
/// repeated over at least 8 places and half the match. Generated tokens never do that.
fn is_padding(matched: &[u8]) -> bool {
    let mut longest = 0;
    let mut run = 0;
    for (index, &byte) in matched.iter().enumerate() {
        run = if index > 0 && matched[index - 1] == byte { run + 1 } else { 1 };
        longest = longest.max(run);
    }
    longest >= 8 && longest * 2 >= matched.len()
}

/// Datadog client tokens (`pub` + 32 hex) are for browsers and mobile apps: public by design.
fn is_datadog_client_token(value: &str) -> bool {
    value.len() == 35 && value.starts_with("pub") && value[3..].bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A KMS ciphertext blob, base64: its header (version 1, then format bytes, then 0x00 0x78)
/// encodes as `AQ[EI][BCD]AH`. Useless without `kms:Decrypt` on a key that stays in KMS.
fn is_kms_ciphertext(value: &str) -> bool {
    const MIN_LENGTH: usize = 100;
    let bytes = value.as_bytes();
    bytes.len() >= MIN_LENGTH
        && bytes.starts_with(b"AQ")
        && b"EI".contains(&bytes[2])
        && b"BCD".contains(&bytes[3])
        && bytes[4..].starts_with(b"AH")
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(b))
}

/// A value a machine made: random-looking, a long hex string (keys, HMAC secrets) or a UUID
/// (many SaaS tokens).
pub(super) fn looks_generated(value: &str) -> bool {
    is_random_looking(value) || (value.len() >= 32 && value.bytes().all(|b| b.is_ascii_hexdigit())) || is_uuid(value)
}

fn is_uuid(value: &str) -> bool {
    value.len() == 36
        && value
            .bytes()
            .enumerate()
            .all(|(i, b)| if matches!(i, 8 | 13 | 18 | 23) { b == b'-' } else { b.is_ascii_hexdigit() })
}

/// A credential's value inside a larger value: at least 6 characters, not harmless, and not a
/// plain lower-case word (Kubernetes secret names, key names: `existingSecret=app-db`).
fn looks_like_credential(value: &str) -> bool {
    value.len() >= 6 && !value.bytes().all(|b| b.is_ascii_lowercase() || b"-_.".contains(&b)) && !is_harmless(value)
}

/// At least 20 characters of a key alphabet, mixing upper case, lower case and digits, with
/// high Shannon entropy: generated keys look like this, words and identifiers do not.
pub(super) fn is_random_looking(value: &str) -> bool {
    const MIN_LENGTH: usize = 20;
    const MIN_BITS_PER_CHAR: f64 = 4.0;
    if value.len() < MIN_LENGTH {
        return false;
    }
    let (mut upper, mut lower, mut digits) = (0, 0, 0);
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' => upper += 1,
            b'a'..=b'z' => lower += 1,
            b'0'..=b'9' => digits += 1,
            b'+' | b'/' | b'=' | b'_' | b'-' => {}
            _ => return false,
        }
    }
    upper >= 2 && lower >= 2 && digits >= 1 && shannon_entropy(value) >= MIN_BITS_PER_CHAR
}

fn shannon_entropy(value: &str) -> f64 {
    let mut counts = [0_u32; 256];
    for byte in value.bytes() {
        counts[usize::from(byte)] += 1;
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

/// What a random-looking value turns out to be once base64-decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Decoded {
    /// Not base64 of text: bytes, as a generated key is.
    Binary,
    /// Base64 of text holding this secret (a service-account JSON, a kubeconfig, `user:password`).
    Secret(SecretKind),
    /// Base64 of text without a secret (a certificate, public JSON): published material.
    Text,
}

/// Base64 of text is judged on the text. Generated keys decode to bytes that are mostly not
/// printable; encoded documents decode to text.
pub(super) fn decode_text(value: &str) -> Decoded {
    let mut bytes = Vec::with_capacity(value.len() / 4 * 3 + 3);
    if !decode_base64(value.as_bytes(), |byte| bytes.push(byte)) || bytes.is_empty() {
        return Decoded::Binary;
    }
    // 95% printable: random bytes are about 37% printable.
    let printable = bytes.iter().filter(|&&b| b.is_ascii_graphic() || b" \t\r\n".contains(&b)).count();
    if printable * 20 < bytes.len() * 19 {
        return Decoded::Binary;
    }
    let Ok(text) = std::str::from_utf8(&bytes) else { return Decoded::Binary };
    if let Some(kind) = secret_format(text) {
        return Decoded::Secret(kind);
    }
    // `user:password`, as in basic-auth headers and Docker `auth` entries.
    let text = text.trim();
    if let Some((user, password)) = text.split_once(':')
        && !user.is_empty()
        // A user name, not the start of a JSON or YAML document (`{"region":"eu-west-1"…}`).
        && user.bytes().all(|b| b.is_ascii_alphanumeric() || b"._@+-".contains(&b))
        && !password.contains('"')
        && !text.contains(char::is_whitespace)
        && looks_like_credential(password)
    {
        return Decoded::Secret(SecretKind::HttpCredentials);
    }
    Decoded::Text
}

/// Decodes standard or URL-safe base64, padding optional, stopping at the first `=`. False when
/// another character is not base64.
fn decode_base64(input: &[u8], mut push: impl FnMut(u8)) -> bool {
    let mut buffer = 0_u32;
    let mut bits = 0;
    for &c in input {
        let sextet = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => return false,
        };
        buffer = (buffer << 6) | u32::from(sextet);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            push(u8::try_from((buffer >> bits) & 0xff).expect("masked to a byte"));
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_both_alphabets() {
        let mut out = Vec::new();
        assert!(decode_base64(b"aGk-P__-", |b| out.push(b)));
        assert_eq!(out, b"hi>?\xff\xfe");
        out.clear();
        assert!(decode_base64(b"dXNlcjpwdw==", |b| out.push(b)));
        assert_eq!(out, b"user:pw");
        assert!(!decode_base64(b"not base64!", |_| {}));
    }

    #[test]
    fn base64_pem_headers_are_told_apart() {
        // base64("-----BEGIN RSA PRIVATE KEY-----\n…") and base64("-----BEGIN CERTIFICATE-----\n…")
        assert!(decodes_to_private_key(
            b"LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFb3dJQkFBS0NBUUVBeHl6MDEyMzQ1Njc4OWFiY2RlZg=="
        ));
        assert!(!decodes_to_private_key(
            b"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSURkekNDQWwrZ0F3SUJBZ0lFQWJjZGVmZ2hpamtsbW5vcHFyc3R1"
        ));
    }

    #[test]
    fn every_format_compiles() {
        assert_eq!(PATTERNS.len(), FORMATS.len());
        assert!(FORMATS.len() <= 128, "secret_format keeps its candidates in a u128");
        for format in FORMATS.iter() {
            assert!(!format.anchors.is_empty(), "{}", format.pattern);
            compile(format.pattern);
        }
    }

    /// Each vendor format's example (data/token-formats.yaml) is found under a name that says
    /// nothing, with its own label, and the anchor prefilter admits it.
    #[test]
    fn every_vendor_example_is_found_with_its_label() {
        const EXAMPLES: &[(&str, &str, &str)] = include!(concat!(env!("OUT_DIR"), "/token_format_examples.rs"));
        assert_eq!(EXAMPLES.len(), VENDOR_FORMATS.len());
        for (id, label, example) in EXAMPLES {
            assert_eq!(
                super::super::detect("SETTING", Some(example)),
                Some(SecretKind::Vendor(label)),
                "format `{id}`"
            );
            assert!(super::super::anchors_hide_no_format(example), "format `{id}`: its anchors miss a match");
            let quoted = format!("--header 'X-Api-Key: {example}'");
            assert!(secret_format(&quoted).is_some(), "format `{id}` inside a longer value");
        }
    }
}
