//! # codebuild-project-trusted-image
//!
//! A build runs whatever its image holds, with the project's role and its secrets. The image must
//! come from a source the account controls: CodeBuild's own images (`aws/codebuild/…`) or an ECR
//! repository of the project's account by default, or a registry or repository listed in
//! `allowedImagePrefixes`. Beyond where it comes from:
//!
//! - an ECR image is pulled with the project's service role (`imagePullCredentialsType`
//!   `SERVICE_ROLE`): with CodeBuild's own credentials (`CODEBUILD`, the default) the repository
//!   must trust the CodeBuild service principal, which every project of every account shares;
//! - a `:latest` or untagged reference (without a digest) is named: the build runs whatever was
//!   pushed last; with `requireDigest` every image must be pinned `@sha256:…`;
//! - an ECR repository of the project's account has tag immutability (`IMMUTABLE`), so a tag
//!   cannot be moved to another image, and is scanned on push: a registry scanning rule (enhanced
//!   or basic, `SCAN_ON_PUSH` or `CONTINUOUS_SCAN`) whose filter matches the repository, or, with
//!   basic scanning, the repository's own `scanOnPush`. A filter without `*` matches every
//!   repository name containing it; with `*`, the whole name, `*` standing for any characters
//!   (ECR's documented filter semantics). A repository that does not exist is NON_COMPLIANT (the
//!   build fails, or pulls what someone creates under that name).
//!
//! Reads, only for images in an ECR repository of the project's account: DescribeRepositories,
//! up to 100 names a call per region (ECR refuses the whole call when one name does not exist:
//! such a batch is split in halves until the missing names are alone), and
//! GetRegistryScanningConfiguration once per region; each repository and registry read once per
//! invocation, in the region the image names. A refused read (AccessDenied) is NOT_APPLICABLE
//! naming it, unless what is known already makes the project NON_COMPLIANT. Offline (a snapshot,
//! a template) only projects with such an image need the read; a template image built with `!Sub`
//! (`${AWS::AccountId}.dkr.ecr…`) is unknown before deployment and NOT_APPLICABLE.
//!
//! Parity (each covers a part): AWS Config `ecr-private-tag-immutability-enabled`,
//! `ecr-private-image-scanning-enabled`; Security Hub ECR.1 (image scanning), ECR.2 (tag
//! immutability); Prowler `ecr_repositories_scan_images_on_push_enabled`,
//! `ecr_repositories_tag_immutability`, `ecr_registry_scan_images_on_push_enabled`; Checkov
//! CKV_AWS_51 (ECR tag immutability), CKV_AWS_163 (ECR scan on push). None judges which image a
//! CodeBuild project runs.
//!
//! - **Resource**: `AWS::CodeBuild::Project`
//! - **Trigger**: configuration change (including oversized), and periodic sweep (a change to a
//!   repository or the registry does not notify the project's rules)
//! - **Parameters**: `allowedImagePrefixes` (optional): comma-separated image prefixes allowed
//!   (registry hosts, repositories); when set, it replaces the default (`aws/codebuild/` and
//!   `<project account>.dkr.ecr.`). `requireDigest` (optional, `true`/`false`, default
//!   `false`): every image must be pinned by digest.
//!
//! | scenario | verdict |
//! |---|---|
//! | a CodeBuild image (`aws/codebuild/standard:7.0`) | COMPLIANT |
//! | an ECR image of the account, SERVICE_ROLE, immutable tags, scanned on push | COMPLIANT |
//! | an image from Docker Hub or another account's registry | NON_COMPLIANT |
//! | the same, its prefix in `allowedImagePrefixes` | COMPLIANT |
//! | an ECR image pulled with CODEBUILD credentials | NON_COMPLIANT |
//! | `:latest` or untagged | NON_COMPLIANT |
//! | a tag, not a digest, with `requireDigest` | NON_COMPLIANT |
//! | the account's repository has mutable tags, or no scan on push | NON_COMPLIANT |
//! | the account's repository does not exist | NON_COMPLIANT |
//! | enhanced scanning matching the repository (its own scanOnPush off) | COMPLIANT |
//! | a repository read refused, nothing else wrong | NOT_APPLICABLE, naming the read |
//! | an ECR image, the project's account unknown (a template scanned without it) | NOT_APPLICABLE |
//! | no image | NOT_APPLICABLE |

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use pipesec_engine::params::comma_list;
use pipesec_engine::resources::CodeBuildProject;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Area, Aws, Result, Rule, Severity, Verdict};
use regex::Regex;
use serde::{Deserialize, Deserializer};

mod readers;

pub const ID: &str = "codebuild-project-trusted-image";

/// CodeBuild's own images.
pub const CODEBUILD_IMAGES: &str = "aws/codebuild/";

#[derive(Debug)]
pub struct TrustedImage;

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    #[serde(rename = "allowedImagePrefixes", deserialize_with = "comma_list")]
    pub allowed_image_prefixes: Vec<String>,
    #[serde(rename = "requireDigest", deserialize_with = "true_or_false")]
    pub require_digest: bool,
}

/// Config's parameters are strings: `true` or `false` (any case); empty is `false`.
fn true_or_false<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    let text = String::deserialize(deserializer)?;
    match text.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" | "" => Ok(false),
        _ => Err(serde::de::Error::custom("expected `true` or `false`")),
    }
}

/// A container image reference, split as Docker reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef<'a> {
    /// The registry host, when the first path segment names one (has a `.` or `:`, or is
    /// `localhost`); `None` for Docker Hub and CodeBuild's `aws/codebuild/…`.
    pub registry: Option<&'a str>,
    pub repository: &'a str,
    pub tag: Option<&'a str>,
    pub digest: Option<&'a str>,
}

impl<'a> ImageRef<'a> {
    pub fn parse(image: &'a str) -> Self {
        let (name, digest) = match image.split_once('@') {
            Some((name, digest)) => (name, Some(digest)),
            None => (image, None),
        };
        let (registry, path) = match name.split_once('/') {
            Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => (Some(first), rest),
            _ => (None, name),
        };
        let last = path.rfind('/').map_or(0, |slash| slash + 1);
        let (repository, tag) = match path[last..].split_once(':') {
            Some((_, tag)) => (&path[..path.len() - tag.len() - 1], Some(tag)),
            None => (path, None),
        };
        ImageRef { registry, repository, tag, digest }
    }

    /// `(account, region)` of an ECR private registry host.
    pub fn ecr_registry(&self) -> Option<(&'a str, &'a str)> {
        static ECR: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r"^([0-9]{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$").unwrap()
        });
        let captures = ECR.captures(self.registry?)?;
        Some((captures.get(1)?.as_str(), captures.get(2)?.as_str()))
    }
}

/// One read as answered: its value, or refused (the IAM action).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readable<T> {
    Known(T),
    Denied(&'static str),
}

/// An ECR repository of the project's account, as DescribeRepositories answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repository {
    NotFound,
    Found {
        /// `MUTABLE`, `IMMUTABLE`, or another value ECR adds.
        tag_mutability: String,
        /// The repository's own `imageScanningConfiguration.scanOnPush`.
        scan_on_push: bool,
    },
}

/// A registry's scanning configuration (GetRegistryScanningConfiguration).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryScanning {
    /// `BASIC` or `ENHANCED`.
    pub scan_type: String,
    pub rules: Vec<ScanningRule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanningRule {
    /// `SCAN_ON_PUSH`, `CONTINUOUS_SCAN` or `MANUAL`.
    pub frequency: String,
    /// The rule's WILDCARD repository filters.
    pub filters: Vec<String>,
}

impl RegistryScanning {
    /// Whether a rule scanning on push (or continuously) has a filter matching `repository`.
    fn scans(&self, repository: &str) -> bool {
        self.rules
            .iter()
            .filter(|rule| rule.frequency == "SCAN_ON_PUSH" || rule.frequency == "CONTINUOUS_SCAN")
            .any(|rule| rule.filters.iter().any(|filter| filter_matches(filter, repository)))
    }
}

/// ECR's WILDCARD filter: without `*`, any name containing it; with `*`, the whole name, each
/// `*` standing for zero or more characters.
fn filter_matches(filter: &str, name: &str) -> bool {
    if !filter.contains('*') {
        return name.contains(filter);
    }
    let parts: Vec<&str> = filter.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// What was read for a project's image: set only for an ECR repository of its account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageFacts {
    pub repository: Option<Readable<Repository>>,
    pub registry: Option<Readable<RegistryScanning>>,
}

/// `(region, repository)` of a subject's image when it is in an ECR repository of the project's
/// own account: the images whose repository is read.
fn own_repository(subject: &Subject<CodeBuildProject>) -> Option<(&str, &str)> {
    let image = ImageRef::parse(subject.resource.environment.image.as_deref()?);
    let (account, region) = image.ecr_registry()?;
    (subject.item.account_id.as_deref() == Some(account)).then_some((region, image.repository))
}

impl Rule for TrustedImage {
    const ID: &'static str = ID;
    const SEVERITY: Severity = Severity::High;
    const AREA: Area = Area::PipelineIntegrity;
    const WEIGHT: u32 = 4;
    const REMEDIATION: &'static str = "Build with a CodeBuild image or one from an ECR repository of the account (or an \
         allowed registry), pulled with imagePullCredentialsType SERVICE_ROLE, by a fixed tag or digest; make the \
         repository's tags immutable and scan it on push.";
    const READS: &'static [&'static str] = &["ecr:DescribeRepositories", "ecr:GetRegistryScanningConfiguration"];
    const PERIODIC: bool = true;
    const INPUTS: &'static [&'static str] = &["environment.image", "environment.imagePullCredentialsType"];
    type Resource = CodeBuildProject;
    type Params = Params;
    type Facts = ImageFacts;

    async fn gather(aws: &Aws, _: &Params, subjects: &[Subject<CodeBuildProject>]) -> Result<Vec<ImageFacts>> {
        // Each repository and each region's registry once, however many projects build from them.
        let mut by_region: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (region, repository) in subjects.iter().filter_map(own_repository) {
            by_region.entry(region).or_default().insert(repository);
        }
        let mut repositories = BTreeMap::new();
        let mut registries = BTreeMap::new();
        for (region, names) in by_region {
            let names: Vec<&str> = names.into_iter().collect();
            for (name, repository) in readers::repositories(aws, region, names).await? {
                repositories.insert((region, name), repository);
            }
            registries.insert(region, readers::registry_scanning(aws, region).await?);
        }
        Ok(subjects
            .iter()
            .map(|subject| match own_repository(subject) {
                None => ImageFacts::default(),
                Some((region, name)) => ImageFacts {
                    repository: repositories.get(&(region, name.to_owned())).cloned(),
                    registry: registries.get(region).cloned(),
                },
            })
            .collect())
    }

    fn evaluate(subject: &Subject<CodeBuildProject>, facts: &ImageFacts, params: &Params) -> Verdict {
        let environment = &subject.resource.environment;
        let Some(text) = environment.image.as_deref().filter(|image| !image.is_empty()) else {
            return Verdict::not_applicable("the project declares no build image");
        };
        let image = ImageRef::parse(text);
        let (mut findings, mut unread) = (Vec::new(), Vec::new());

        let own_ecr = subject.item.account_id.as_deref().map(|account| format!("{account}.dkr.ecr."));
        let allowed: Vec<&str> = if params.allowed_image_prefixes.is_empty() {
            [CODEBUILD_IMAGES].into_iter().chain(own_ecr.as_deref()).collect()
        } else {
            params.allowed_image_prefixes.iter().map(String::as_str).collect()
        };
        let account_unknown = own_ecr.is_none() && params.allowed_image_prefixes.is_empty();
        if account_unknown && image.ecr_registry().is_some() {
            // A template scanned without the account: the registry may or may not be the account's.
            unread.push("the project's account is unknown, so whether the ECR registry is the account's".to_owned());
        } else if !allowed.iter().any(|prefix| text.starts_with(prefix)) {
            let from = if params.allowed_image_prefixes.is_empty() {
                "neither a CodeBuild image nor in an ECR repository of the account"
            } else {
                "not under allowedImagePrefixes"
            };
            findings.push(format!("image `{text}` is {from}"));
        }
        if image.ecr_registry().is_some() && environment.image_pull_credentials_type.as_deref() != Some("SERVICE_ROLE")
        {
            findings.push(format!(
                "ECR image pulled with CodeBuild's credentials (imagePullCredentialsType {}), not the service role",
                environment.image_pull_credentials_type.as_deref().unwrap_or("CODEBUILD")
            ));
        }
        if let Some((region, repository)) = own_repository(subject) {
            let name = format!("repository `{repository}` ({region})");
            match &facts.repository {
                None => unread.push(format!("{name} was not read")),
                Some(Readable::Denied(action)) => unread.push(format!("{name}: {action} denied")),
                Some(Readable::Known(Repository::NotFound)) => findings.push(format!("{name} does not exist")),
                Some(Readable::Known(Repository::Found { tag_mutability, scan_on_push })) => {
                    if tag_mutability != "IMMUTABLE" {
                        findings.push(format!("{name} has tag mutability {tag_mutability}"));
                    }
                    match &facts.registry {
                        None => unread.push(format!("the registry scanning configuration of {region} was not read")),
                        Some(Readable::Denied(action)) => unread.push(format!("{region} registry: {action} denied")),
                        Some(Readable::Known(registry)) => {
                            let by_repository = registry.scan_type != "ENHANCED" && *scan_on_push;
                            if !registry.scans(repository) && !by_repository {
                                findings.push(format!(
                                    "{name} is not scanned on push ({} scanning)",
                                    registry.scan_type.to_ascii_lowercase()
                                ));
                            }
                        }
                    }
                }
            }
        }
        if image.digest.is_none() {
            match image.tag {
                None => findings.push(format!("image `{text}` has no tag (it runs whatever `latest` is)")),
                Some("latest") => findings.push(format!("image `{text}` runs whatever `latest` is")),
                Some(_) if params.require_digest => {
                    findings.push(format!("image `{text}` is not pinned by digest (requireDigest)"));
                }
                Some(_) => {}
            }
        }
        if !findings.is_empty() {
            findings.extend(unread.into_iter().map(|what| format!("not read: {what}")));
            return Verdict::non_compliant(findings.join("; "));
        }
        if !unread.is_empty() {
            return Verdict::not_applicable(format!("cannot judge the build image: {}", unread.join("; ")));
        }
        Verdict::compliant(format!("image `{text}` comes from an allowed source, by a fixed reference"))
    }
}

#[cfg(test)]
mod tests;
