//! The four reads of one artifact store bucket, in the bucket's region.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use pipesec_engine::{Aws, Result};

use super::{Bucket, BucketSettings, PublicAccessBlock, Readable};

/// How S3 answered one read, short of a failure of the invocation.
enum Answer<T> {
    Read(Readable<T>),
    NoSuchBucket,
}

/// Classifies a read: its value; `absent` (the configuration does not exist: a fact, S3's
/// `absent_code`, if any); refused (AccessDenied: another account's bucket, or a policy that denies the
/// role); the bucket does not exist. Anything else fails the invocation, naming `action`.
fn answer<T, E>(
    aws: &Aws,
    action: &'static str,
    result: std::result::Result<T, SdkError<E, HttpResponse>>,
    absent_code: Option<&str>,
    absent: T,
) -> Result<Answer<T>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let err = match result {
        Ok(value) => return Ok(Answer::Read(Readable::Known(value))),
        Err(err) => err,
    };
    let status = err.raw_response().map(|response| response.status().as_u16());
    match err.code() {
        code if code.is_some() && code == absent_code => Ok(Answer::Read(Readable::Known(absent))),
        Some("NoSuchBucket") => Ok(Answer::NoSuchBucket),
        Some("AccessDenied" | "AllAccessDisabled") => Ok(Answer::Read(Readable::Denied(action))),
        _ if status == Some(403) => Ok(Answer::Read(Readable::Denied(action))),
        _ => Err(aws.error(action, err)),
    }
}

/// `Answer::Read`'s value, or return `Bucket::DoesNotExist` from the calling function.
macro_rules! read_or_missing {
    ($answer:expr) => {
        match $answer? {
            Answer::Read(read) => read,
            Answer::NoSuchBucket => return Ok(Bucket::DoesNotExist),
        }
    };
}

/// Reads `bucket`'s settings in `region` (`None`: the client's region).
pub(super) async fn bucket(aws: &Aws, bucket: &str, region: Option<&str>) -> Result<Bucket> {
    let s3 = aws.s3();
    let in_region = || region.map_or_else(aws_sdk_s3::config::Builder::default, Aws::s3_region);

    let result = s3.get_public_access_block().bucket(bucket).customize().config_override(in_region()).send().await;
    let result = result.map(|output| {
        output.public_access_block_configuration().map(|block| PublicAccessBlock {
            block_public_acls: block.block_public_acls() == Some(true),
            ignore_public_acls: block.ignore_public_acls() == Some(true),
            block_public_policy: block.block_public_policy() == Some(true),
            restrict_public_buckets: block.restrict_public_buckets() == Some(true),
        })
    });
    let public_access_block = read_or_missing!(answer(
        aws,
        "s3:GetBucketPublicAccessBlock",
        result,
        Some("NoSuchPublicAccessBlockConfiguration"),
        None
    ));

    let result = s3.get_bucket_versioning().bucket(bucket).customize().config_override(in_region()).send().await;
    let result = result.map(|output| output.status().map(|status| status.as_str().to_owned()));
    let versioning = read_or_missing!(answer(aws, "s3:GetBucketVersioning", result, None, None));

    let result = s3.get_bucket_policy().bucket(bucket).customize().config_override(in_region()).send().await;
    let result = result.map(|output| output.policy().map(str::to_owned));
    let policy = read_or_missing!(answer(aws, "s3:GetBucketPolicy", result, Some("NoSuchBucketPolicy"), None));

    let result = s3.get_bucket_encryption().bucket(bucket).customize().config_override(in_region()).send().await;
    let result = result.map(|output| {
        let rules = output
            .server_side_encryption_configuration()
            .map(aws_sdk_s3::types::ServerSideEncryptionConfiguration::rules)
            .unwrap_or_default();
        rules
            .iter()
            .filter_map(|rule| rule.apply_server_side_encryption_by_default())
            .map(|default| default.sse_algorithm().as_str().to_owned())
            .collect::<Vec<_>>()
    });
    let encryption = read_or_missing!(answer(
        aws,
        "s3:GetEncryptionConfiguration",
        result,
        Some("ServerSideEncryptionConfigurationNotFoundError"),
        Vec::new()
    ));

    Ok(Bucket::Settings(BucketSettings { public_access_block, versioning, policy, encryption }))
}
