//! # codepipeline-artifact-store-secured
//!
//! Every S3 bucket a pipeline keeps its artifacts in — the single `artifactStore`, or one per
//! region in `artifactStores` — holds every source revision and build output the pipeline
//! deploys. Whoever can replace an object there changes what is deployed; whoever can read it
//! reads the source. Each bucket must:
//!
//! - block public access: the bucket's public access block has all four settings on
//!   (`BlockPublicAcls`, `IgnorePublicAcls`, `BlockPublicPolicy`, `RestrictPublicBuckets`);
//! - keep object versions (versioning `Enabled`), so an overwritten artifact can be found and
//!   restored;
//! - deny requests without TLS in its bucket policy: a statement with `Effect` `Deny`, every
//!   principal (`"*"` or `{"AWS": "*"}`), action `s3:*` or `*`, a resource covering every object
//!   of the bucket (`arn:aws:s3:::<bucket>/*`, `arn:aws:s3:::<bucket>*`, `*`…), and a condition
//!   that is only `Bool` or `BoolIfExists` on `aws:SecureTransport` `"false"`. A statement with
//!   `NotPrincipal`, `NotAction`, `NotResource`, a narrower action list or further conditions
//!   applies to fewer requests and does not count;
//! - encrypt by default with KMS (`aws:kms` or `aws:kms:dsse`); S3's own default since 2023,
//!   SSE-S3 (`AES256`), is named.
//!
//! A bucket that does not exist is NON_COMPLIANT: the pipeline cannot run, and anyone could
//! create a bucket of that name and receive its artifacts. A bucket the function's role cannot
//! read (another account's bucket, or a policy that denies the role: S3 answers AccessDenied) is
//! not judged compliant: the rule is NOT_APPLICABLE naming the reads that were refused, unless
//! what it could read already makes the pipeline NON_COMPLIANT.
//!
//! Reads: GetPublicAccessBlock, GetBucketVersioning, GetBucketPolicy and GetBucketEncryption
//! (IAM actions `s3:GetBucketPublicAccessBlock`, `s3:GetBucketVersioning`,
//! `s3:GetBucketPolicy`, `s3:GetEncryptionConfiguration`), once per bucket per invocation
//! whatever the number of pipelines sharing it. A missing configuration
//! (`NoSuchPublicAccessBlockConfiguration`, `NoSuchBucketPolicy`,
//! `ServerSideEncryptionConfigurationNotFoundError`) is a fact, not an error. Each bucket is read
//! in the region it serves: the pipeline's own region for `artifactStore`, the map's key for
//! `artifactStores` (CodePipeline requires each store's bucket in that region); the one S3
//! client sets the region per call.
//!
//! Not covered: the account-level public access block (S3 applies it on top of the bucket's;
//! a bucket relying on it alone is NON_COMPLIANT here), object ownership and ACLs, the KMS key's
//! policy (see codepipeline-artifacts-cmk-encrypted for the key the pipeline encrypts with).
//! A template scan cannot read the buckets and says so (NOT_APPLICABLE naming the read).
//!
//! Parity (each covers a part, for any bucket rather than a pipeline's): AWS Config managed
//! rules `s3-bucket-level-public-access-prohibited`, `s3-bucket-versioning-enabled`,
//! `s3-bucket-ssl-requests-only`, `s3-default-encryption-kms`; Security Hub controls S3.8
//! (bucket-level public access block), S3.5 (SSL requests only), S3.14 (versioning), S3.17
//! (KMS encryption at rest); Prowler `s3_bucket_level_public_access_block`,
//! `s3_bucket_secure_transport_policy`, `s3_bucket_object_versioning`,
//! `s3_bucket_default_encryption` / `s3_bucket_kms_encryption`; Checkov (templates)
//! CKV_AWS_53–56 (public access block settings), CKV_AWS_21 (versioning), CKV_AWS_145 (KMS).
//!
//! - **Resource**: `AWS::CodePipeline::Pipeline`
//! - **Trigger**: configuration change (including oversized), and periodic sweep (a change to
//!   a bucket does not notify the pipeline's rules)
//! - **Parameters**: none
//!
//! | scenario | verdict |
//! |---|---|
//! | every bucket: public access blocked, versioning on, TLS-deny policy, KMS default encryption | COMPLIANT |
//! | a bucket without a public access block, or with one setting off | NON_COMPLIANT, naming the settings |
//! | versioning never enabled, or suspended | NON_COMPLIANT |
//! | no bucket policy, or none of its statements denies requests without TLS | NON_COMPLIANT |
//! | no default encryption, or SSE-S3 (`AES256`) | NON_COMPLIANT |
//! | the bucket does not exist | NON_COMPLIANT |
//! | a cross-region store's bucket fails a check | NON_COMPLIANT, naming the bucket and region |
//! | a read refused (AccessDenied), nothing else wrong | NOT_APPLICABLE, naming the reads |
//! | a read refused, and a finding in what was read | NON_COMPLIANT, the refused reads named too |
//! | the pipeline declares no artifact store | NOT_APPLICABLE |
//! | the bucket is unknown before deployment (template) | NOT_APPLICABLE |

use std::collections::{BTreeMap, BTreeSet};

use pipesec_engine::resources::PipelineConfiguration;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Area, Aws, NoParameters, Result, Rule, Severity, Verdict, unknown};

mod readers;
mod tls_policy;

pub use tls_policy::denies_insecure_transport;

pub const ID: &str = "codepipeline-artifact-store-secured";

#[derive(Debug)]
pub struct ArtifactStoreSecured;

/// One bucket setting as read: its value, or the read was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readable<T> {
    Known(T),
    /// S3 answered AccessDenied to this IAM action.
    Denied(&'static str),
}

/// A bucket's public access block (`GetPublicAccessBlock`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)] // S3's four settings, as S3 names them
pub struct PublicAccessBlock {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

/// What S3 says about one bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bucket {
    /// NoSuchBucket: the name is free.
    DoesNotExist,
    Settings(BucketSettings),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketSettings {
    /// `None`: NoSuchPublicAccessBlockConfiguration.
    pub public_access_block: Readable<Option<PublicAccessBlock>>,
    /// The versioning status: `Enabled`, `Suspended`, or `None` for never enabled.
    pub versioning: Readable<Option<String>>,
    /// The policy document; `None`: NoSuchBucketPolicy.
    pub policy: Readable<Option<String>>,
    /// Every default encryption algorithm of the bucket's rules (`AES256`, `aws:kms`,
    /// `aws:kms:dsse`); empty: ServerSideEncryptionConfigurationNotFoundError.
    pub encryption: Readable<Vec<String>>,
}

/// The pipeline's buckets as S3 answered, by name (names are global; the region only routes).
pub type Buckets = BTreeMap<String, Bucket>;

/// The buckets of a pipeline's artifact stores, with the region each is read in (`None`: the
/// client's own region).
fn store_buckets(subject: &Subject<PipelineConfiguration>) -> impl Iterator<Item = (&str, Option<&str>)> {
    subject.resource.pipeline.artifact_stores().filter_map(|(region, store)| {
        let bucket = store.location.as_deref().filter(|bucket| !bucket.is_empty() && !unknown::is_unknown(bucket))?;
        let region = region.or(subject.item.aws_region.as_deref()).filter(|region| !unknown::is_unknown(region));
        Some((bucket, region))
    })
}

impl Rule for ArtifactStoreSecured {
    const ID: &'static str = ID;
    const SEVERITY: Severity = Severity::High;
    const AREA: Area = Area::PipelineIntegrity;
    const WEIGHT: u32 = 3;
    const REMEDIATION: &'static str = "On every artifact store bucket: turn on all four public access block settings and \
         versioning, add a bucket policy statement denying s3:* when aws:SecureTransport is false, and set default \
         encryption to aws:kms.";
    const READS: &'static [&'static str] = &[
        "s3:GetBucketPublicAccessBlock",
        "s3:GetBucketVersioning",
        "s3:GetBucketPolicy",
        "s3:GetEncryptionConfiguration",
    ];
    const PERIODIC: bool = true;
    const INPUTS: &'static [&'static str] = &["pipeline.artifactStore", "pipeline.artifactStores"];
    // Only the buckets are read: one unknown before deployment is named by `evaluate`.
    const UNKNOWN_TOLERANT: &'static [&'static str] =
        &["pipeline.artifactStore.location", "pipeline.artifactStores.*.location"];
    type Resource = PipelineConfiguration;
    type Params = NoParameters;
    type Facts = Buckets;

    async fn gather(aws: &Aws, _: &NoParameters, subjects: &[Subject<PipelineConfiguration>]) -> Result<Vec<Buckets>> {
        // Each bucket once, however many pipelines share it.
        let distinct: BTreeSet<(&str, Option<&str>)> = subjects.iter().flat_map(store_buckets).collect();
        let mut read = Buckets::new();
        for (bucket, region) in distinct {
            if !read.contains_key(bucket) {
                read.insert(bucket.to_owned(), readers::bucket(aws, bucket, region).await?);
            }
        }
        Ok(subjects
            .iter()
            .map(|subject| {
                store_buckets(subject)
                    .filter_map(|(bucket, _)| read.get(bucket).map(|found| (bucket.to_owned(), found.clone())))
                    .collect()
            })
            .collect())
    }

    fn evaluate(subject: &Subject<PipelineConfiguration>, buckets: &Buckets, _: &NoParameters) -> Verdict {
        let pipeline = &subject.resource.pipeline;
        if pipeline.artifact_stores().next().is_none() {
            return Verdict::not_applicable("the pipeline declares no artifact store");
        }
        let partition = subject.item.arn.as_deref().and_then(|arn| arn.split(':').nth(1)).unwrap_or("aws");
        let (mut findings, mut unread) = (Vec::new(), Vec::new());
        let mut judged = BTreeSet::new();
        for (region, store) in pipeline.artifact_stores() {
            let bucket = store.location.as_deref().unwrap_or_default();
            let name = match region {
                None => format!("bucket `{bucket}`"),
                Some(region) => format!("bucket `{bucket}` ({region})"),
            };
            if bucket.is_empty() {
                findings.push(format!(
                    "the artifact store{} has no bucket",
                    region.map(|r| format!(" in {r}")).unwrap_or_default()
                ));
                continue;
            }
            if unknown::is_unknown(bucket) {
                unread.push(format!(
                    "the artifact store bucket is unknown before deployment: `{}`",
                    unknown::intrinsic(bucket).unwrap_or_default()
                ));
                continue;
            }
            if !judged.insert(bucket) {
                continue;
            }
            match buckets.get(bucket) {
                None => unread.push(format!("{name} was not read")),
                Some(Bucket::DoesNotExist) => {
                    findings.push(format!("{name} does not exist (anyone could create it and receive the artifacts)"));
                }
                Some(Bucket::Settings(settings)) => {
                    let (problems, denied) = judge(settings, bucket, partition);
                    if !problems.is_empty() {
                        findings.push(format!("{name}: {}", problems.join(", ")));
                    }
                    if !denied.is_empty() {
                        unread.push(format!("{name}: {} denied", denied.join(", ")));
                    }
                }
            }
        }
        if !findings.is_empty() {
            // What could not be read is named after what is known to be wrong.
            findings.extend(unread.into_iter().map(|what| format!("not read: {what}")));
            return Verdict::non_compliant(findings.join("; "));
        }
        if !unread.is_empty() {
            return Verdict::not_applicable(format!("cannot judge the artifact store: {}", unread.join("; ")));
        }
        Verdict::compliant(
            "every artifact store bucket blocks public access, keeps versions, denies requests without TLS and \
             encrypts with KMS by default",
        )
    }
}

/// The problems of one bucket's settings, most important first, and the IAM actions refused.
fn judge(settings: &BucketSettings, bucket: &str, partition: &str) -> (Vec<String>, Vec<&'static str>) {
    let (mut problems, mut denied) = (Vec::new(), Vec::new());
    match &settings.public_access_block {
        Readable::Denied(action) => denied.push(*action),
        Readable::Known(None) => problems.push("no public access block".to_owned()),
        Readable::Known(Some(block)) => {
            let off: Vec<&str> = [
                ("BlockPublicAcls", block.block_public_acls),
                ("IgnorePublicAcls", block.ignore_public_acls),
                ("BlockPublicPolicy", block.block_public_policy),
                ("RestrictPublicBuckets", block.restrict_public_buckets),
            ]
            .into_iter()
            .filter_map(|(setting, on)| (!on).then_some(setting))
            .collect();
            if !off.is_empty() {
                problems.push(format!("public access block off: {}", off.join(", ")));
            }
        }
    }
    match &settings.policy {
        Readable::Denied(action) => denied.push(*action),
        Readable::Known(None) => problems.push("no bucket policy denying requests without TLS".to_owned()),
        Readable::Known(Some(policy)) => {
            if !denies_insecure_transport(policy, bucket, partition) {
                problems.push("the bucket policy does not deny requests without TLS".to_owned());
            }
        }
    }
    match &settings.encryption {
        Readable::Denied(action) => denied.push(*action),
        Readable::Known(algorithms) if algorithms.is_empty() => problems.push("no default encryption".to_owned()),
        Readable::Known(algorithms) => {
            if !algorithms.iter().any(|algorithm| algorithm == "aws:kms" || algorithm == "aws:kms:dsse") {
                problems.push(format!("default encryption {}, not aws:kms", algorithms.join("/")));
            }
        }
    }
    match &settings.versioning {
        Readable::Denied(action) => denied.push(*action),
        Readable::Known(Some(status)) if status == "Enabled" => {}
        Readable::Known(Some(status)) => problems.push(format!("versioning {status}")),
        Readable::Known(None) => problems.push("versioning never enabled".to_owned()),
    }
    (problems, denied)
}

#[cfg(test)]
mod tests;
