//! What a variable's name says about its value.
//!
//! Names are split into words on separators and lower→upper case changes (`dbPassword` →
//! `db`, `Password`) without allocating, and compared ignoring ASCII case.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use smallvec::SmallVec;

/// Words that make a variable secret (`DB_PASSWORD`, `GITHUB_TOKEN`, `REDIS_AUTH`).
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
    "ACCESSKEY",
    "SECRETKEY",
    "PAT",
    "AUTH",
    "HMAC",
];
/// A word that merely *contains* one of these is secret too (`PGPASSWORD`)...
const SECRET_INSIDE: &[&str] = &["PASSWORD", "PASSWD"];
/// ...and so is one that *ends* with one of these (`AUTHTOKEN`, `CLIENTSECRET`).
const SECRET_ENDINGS: &[&str] = &["TOKEN", "SECRET"];
/// Adjacent words that make a variable secret (`API_KEY`, `DD_APP_KEY`, `CYPRESS_RECORD_KEY`).
/// `KEY` alone does not: KMS, cache, S3 object, partition and GPG "keys" are identifiers.
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
    ("APP", "KEY"),
    ("APPLICATION", "KEY"),
    ("ADMIN", "KEY"),
    ("SDK", "KEY"),
    ("RECORD", "KEY"),
    ("INGEST", "KEY"),
    ("SERVER", "KEY"),
    ("CONNECTION", "STRING"),
];
/// Words after the secret word that still name the secret itself: a stage, a version, a role,
/// or the encoding it is stored in (`DB_PASSWORD_PROD`, `SSH_PRIVATE_KEY_B64`).
const QUALIFIERS: &[&str] = &[
    "PROD",
    "PRODUCTION",
    "PRD",
    "STAGING",
    "STAGE",
    "STG",
    "DEV",
    "DEVELOPMENT",
    "TEST",
    "QA",
    "UAT",
    "CI",
    "LIVE",
    "SANDBOX",
    "PREVIEW",
    "LOCAL",
    "PRIMARY",
    "SECONDARY",
    "BACKUP",
    "OLD",
    "NEW",
    "CURRENT",
    "PREVIOUS",
    "NEXT",
    "RO",
    "RW",
    "READ",
    "WRITE",
    "READONLY",
    "ADMIN",
    "ROOT",
    "B64",
    "BASE64",
    "PEM",
    "DER",
    "HEX",
    "RAW",
    "JSON",
    "DATA",
    "VALUE",
    "CONTENT",
    "CONTENTS",
    "STRING",
    "STR",
    "TEXT",
    "BLOB",
    "ENCODED",
];
/// A last word that makes the variable a setting *about* a secret (`PASSWORD_FILE`,
/// `TOKEN_TTL`, `SECRET_ARN`), whatever its value looks like.
const SETTING_SUFFIXES: &[&str] = &[
    "FILE",
    "PATH",
    "DIR",
    "NAME",
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
    "DURATION",
    "LIFETIME",
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
    "ALGORITHM",
    "ALG",
];
/// Last words that name an identifier. Identifiers are generated and often look random
/// (`OIDC_CLIENT_ID`, `TWILIO_ACCOUNT_SID`, `HOSTED_ZONE_ID`), so under these names a
/// random-looking value is not reported; they are settings too (`API_KEY_ID`).
const IDENTIFIER_SUFFIXES: &[&str] = &[
    "ID",
    "IDS",
    "SID",
    "ARN",
    "NAME",
    "DIGEST",
    "HASH",
    "CHECKSUM",
    "SHA",
    "FINGERPRINT",
    // GnuPG's abbreviation of fingerprint.
    "FPR",
    "THUMBPRINT",
    "VERSION",
    "TAG",
];
/// Words that turn a secret-like name into a switch (`MYSQL_ALLOW_EMPTY_PASSWORD`).
const SWITCH_WORDS: &[&str] =
    &["ALLOW", "EMPTY", "RANDOM", "GENERATE", "SKIP", "REQUIRE", "USE", "NO", "DISABLE", "ENABLE"];
/// Words that say the value is published on purpose (`STRIPE_PUBLISHABLE_KEY`,
/// `NEXT_PUBLIC_*`, `JWT_PUBLIC_KEY`); `SITE_KEY` is the public half of a captcha key pair.
const PUBLIC_WORDS: &[&str] = &["PUBLIC", "PUBLISHABLE"];
const PUBLIC_PAIRS: &[(&str, &str)] = &[("SITE", "KEY")];

/// How a name bears on its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NameClass {
    /// Nothing secret in the name (`NODE_ENV`, `GIT_COMMIT`).
    Plain,
    /// The variable is a secret (`DB_PASSWORD`, `GITHUB_TOKEN_PROD`, `SSH_PRIVATE_KEY_B64`).
    Secret,
    /// A secret word followed by other words (`SECRET_KEY_BASE`, `PASSWORD_RESET_TEMPLATE`,
    /// `TOKEN_AUDIENCE`): it may be the secret or something about it, so only a generated-looking
    /// value makes it one.
    Qualified,
    /// A setting about a secret (`DB_PASSWORD_FILE`, `TOKEN_TTL`, `MYSQL_ALLOW_EMPTY_PASSWORD`).
    Setting,
    /// Published on purpose (`STRIPE_PUBLISHABLE_KEY`, `NEXT_PUBLIC_*`, `RECAPTCHA_SITE_KEY`).
    Public,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Name {
    pub class: NameClass,
    /// The last word names an identifier (`*_ID`, `*_ARN`, `*_DIGEST`…).
    pub identifier: bool,
}

pub(super) fn classify(name: &str) -> Name {
    // Split once, on the stack (a name of more than four words is rare): a name is classified for
    // every setting of every item.
    let words: SmallVec<[&str; 4]> = words(name).collect();
    let last = words.last().copied().unwrap_or_default();
    let identifier = is_one_of(last, IDENTIFIER_SUFFIXES);
    let class = if words.iter().any(|word| is_one_of(word, SWITCH_WORDS)) {
        NameClass::Setting
    } else if words.iter().any(|word| is_one_of(word, PUBLIC_WORDS)) || has_pair(&words, PUBLIC_PAIRS) {
        NameClass::Public
    } else if is_bundler_credentials(name) {
        NameClass::Secret
    } else if let Some(end) = may_hold_secret_word(name).then(|| last_secret_word(&words)).flatten() {
        if words[end + 1..].iter().all(|word| is_qualifier(word)) {
            NameClass::Secret
        } else if identifier || is_one_of(last, SETTING_SUFFIXES) {
            NameClass::Setting
        } else {
            NameClass::Qualified
        }
    } else {
        NameClass::Plain
    };
    Name { class, identifier }
}

/// Whether [`classify`] can find the name [`NameClass::Secret`] or [`NameClass::Qualified`]:
/// a cheap test that spares classifying most names.
pub(super) fn may_be_secret(name: &str) -> bool {
    is_bundler_credentials(name) || may_hold_secret_word(name)
}

/// [`may_be_secret`] admits every name [`classify`] finds secret or qualified.
#[cfg(test)]
pub(super) fn gate_hides_no_secret_class(name: &str) -> bool {
    may_be_secret(name) || !matches!(classify(name).class, NameClass::Secret | NameClass::Qualified)
}

/// Bundler reads per-host credentials (`user:password` or a token) from `BUNDLE_<HOST>`, dots
/// in the host spelled `__`: `BUNDLE_GEMS__EXAMPLE__COM`. Its settings have no `__`.
fn is_bundler_credentials(name: &str) -> bool {
    name.len() > "BUNDLE_".len()
        && name.as_bytes()[.."BUNDLE_".len()].eq_ignore_ascii_case(b"BUNDLE_")
        && name.contains("__")
}

/// Whether the name contains anything a secret word or pair is made of. Most names
/// (`ProjectName`, `BranchName`) do not: one scan of the name spares comparing each of its words
/// with every secret word and pair.
fn may_hold_secret_word(name: &str) -> bool {
    static PARTS: LazyLock<AhoCorasick> = LazyLock::new(|| {
        let pair_ends = SECRET_PAIRS.iter().map(|(_, second)| second);
        let parts = SECRET_WORDS.iter().chain(SECRET_INSIDE).chain(SECRET_ENDINGS).chain(pair_ends);
        AhoCorasick::builder().ascii_case_insensitive(true).build(parts).expect("secret words are valid patterns")
    });
    PARTS.is_match(name)
}

/// The index of the last word that ends a secret word or pair.
fn last_secret_word(words: &[&str]) -> Option<usize> {
    let mut previous = "";
    let mut found = None;
    for (index, &word) in words.iter().enumerate() {
        if is_secret_word(word)
            || SECRET_PAIRS.iter().any(|(a, b)| word.eq_ignore_ascii_case(b) && previous.eq_ignore_ascii_case(a))
        {
            found = Some(index);
        }
        previous = word;
    }
    found
}

fn is_secret_word(word: &str) -> bool {
    is_one_of(word, SECRET_WORDS)
        || SECRET_INSIDE.iter().any(|inside| contains_ignore_case(word, inside))
        || SECRET_ENDINGS.iter().any(|ending| ends_with_ignore_case(word, ending))
}

fn is_qualifier(word: &str) -> bool {
    is_one_of(word, QUALIFIERS)
        || word.bytes().all(|b| b.is_ascii_digit())
        || (word.len() > 1
            && word.as_bytes()[0].eq_ignore_ascii_case(&b'V')
            && word.bytes().skip(1).all(|b| b.is_ascii_digit()))
}

fn has_pair(words: &[&str], pairs: &[(&str, &str)]) -> bool {
    words
        .windows(2)
        .any(|pair| pairs.iter().any(|(x, y)| pair[0].eq_ignore_ascii_case(x) && pair[1].eq_ignore_ascii_case(y)))
}

fn is_one_of(word: &str, list: &[&str]) -> bool {
    list.iter().any(|candidate| word.eq_ignore_ascii_case(candidate))
}

fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    haystack.as_bytes().windows(needle.len()).any(|window| window.eq_ignore_ascii_case(needle.as_bytes()))
}

fn ends_with_ignore_case(haystack: &str, suffix: &str) -> bool {
    haystack.len() >= suffix.len()
        && haystack.as_bytes()[haystack.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}

/// The words of a name, split on non-alphanumerics and lower→upper case changes.
fn words(name: &str) -> Words<'_> {
    Words { rest: name }
}

#[derive(Debug, Clone)]
struct Words<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let bytes = self.rest.as_bytes();
        let start = bytes.iter().position(u8::is_ascii_alphanumeric)?;
        let mut end = start + 1;
        while end < bytes.len()
            && bytes[end].is_ascii_alphanumeric()
            && !(bytes[end].is_ascii_uppercase() && bytes[end - 1].is_ascii_lowercase())
        {
            end += 1;
        }
        // Both ends sit next to ASCII bytes, so they are character boundaries.
        let word = &self.rest[start..end];
        self.rest = &self.rest[end..];
        Some(word)
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[test]
    fn words_split_on_separators_and_case_changes() {
        assert_eq!(
            words("ORG_GRADLE_PROJECT_signingPassword").collect::<Vec<_>>(),
            ["ORG", "GRADLE", "PROJECT", "signing", "Password"]
        );
        assert_eq!(words("__a--B").collect::<Vec<_>>(), ["a", "B"]);
        assert_eq!(words("").count(), 0);
    }

    #[rstest]
    #[case::secret_word_last("DB_PASSWORD", NameClass::Secret)]
    #[case::glued_word("PGPASSWORD", NameClass::Secret)]
    #[case::stage_qualifier("DB_PASSWORD_PROD", NameClass::Secret)]
    #[case::encoding_qualifier("SSH_PRIVATE_KEY_B64", NameClass::Secret)]
    #[case::pair("DD_APP_KEY", NameClass::Secret)]
    #[case::other_words_after("SECRET_KEY_BASE", NameClass::Qualified)]
    #[case::setting_suffix("TOKEN_TTL", NameClass::Setting)]
    #[case::identifier_suffix("API_KEY_ID", NameClass::Setting)]
    #[case::switch("MYSQL_ALLOW_EMPTY_PASSWORD", NameClass::Setting)]
    #[case::public("STRIPE_PUBLISHABLE_KEY", NameClass::Public)]
    #[case::site_key("RECAPTCHA_SITE_KEY", NameClass::Public)]
    #[case::key_alone("KMS_KEY", NameClass::Plain)]
    #[case::bundler_host_credentials("BUNDLE_GEMS__EXAMPLE__COM", NameClass::Secret)]
    #[case::bundler_setting("BUNDLE_PATH", NameClass::Plain)]
    #[case::word_inside_word("TOKENIZERS_PARALLELISM", NameClass::Plain)]
    fn classifies(#[case] name: &str, #[case] expected: NameClass) {
        assert_eq!(classify(name).class, expected);
    }

    #[test]
    fn the_secret_word_prefilter_passes_every_secret_word_in_any_case() {
        let words = SECRET_WORDS.iter().map(|word| word.to_lowercase());
        let glued = SECRET_INSIDE.iter().map(|inside| format!("PG{inside}"));
        let ended = SECRET_ENDINGS.iter().map(|ending| format!("client{ending}"));
        let pairs = SECRET_PAIRS.iter().map(|(first, second)| format!("{}{second}", first.to_lowercase()));
        for name in words.chain(glued).chain(ended).chain(pairs) {
            assert!(may_hold_secret_word(&name), "{name}");
            assert_eq!(classify(&name).class, NameClass::Secret, "{name}");
        }
        assert!(!may_hold_secret_word("ProjectName"));
    }
}
