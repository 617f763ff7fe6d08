//! Secrets Manager and Parameter Store reads: descriptions only, never a value.

use std::collections::BTreeMap;

use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretError;
use aws_sdk_ssm::types::ParameterStringFilter;
use jiff::Timestamp;
use pipesec_engine::{Aws, Result};

use super::{Parameter, Readable, Secret};

/// DescribeParameters' limit of values in one `Name` filter.
const PARAMETERS_PER_CALL: usize = 50;

const DESCRIBE_SECRET: &str = "secretsmanager:DescribeSecret";
const DESCRIBE_PARAMETERS: &str = "ssm:DescribeParameters";

fn is_access_denied(code: Option<&str>) -> bool {
    matches!(code, Some("AccessDeniedException" | "AccessDenied"))
}

fn timestamp(time: &aws_sdk_secretsmanager::primitives::DateTime) -> Option<Timestamp> {
    time.to_millis().ok().and_then(|millis| Timestamp::from_millisecond(millis).ok())
}

/// The secret `id` (name or ARN), described in `region` (a secret ARN's) or the client's.
pub(super) async fn secret(aws: &Aws, id: &str, region: Option<&str>) -> Result<Readable<Secret>> {
    // A per-call region, as for S3 and ECR: a secret given by ARN may live in another region.
    let in_region = region.map_or_else(aws_sdk_secretsmanager::config::Builder::default, |region| {
        aws_sdk_secretsmanager::config::Builder::default()
            .region(aws_sdk_secretsmanager::config::Region::new(region.to_owned()))
    });
    let answer =
        aws.secretsmanager().describe_secret().secret_id(id).customize().config_override(in_region).send().await;
    match answer {
        Ok(secret) => Ok(Readable::Known(Secret::Found {
            rotation_enabled: secret.rotation_enabled() == Some(true),
            last_rotated: secret.last_rotated_date().and_then(timestamp),
            created: secret.created_date().and_then(timestamp),
        })),
        Err(err) if err.as_service_error().is_some_and(DescribeSecretError::is_resource_not_found_exception) => {
            Ok(Readable::Known(Secret::NotFound))
        }
        Err(err) if is_access_denied(err.code()) => Ok(Readable::Denied(DESCRIBE_SECRET)),
        Err(err) => Err(aws.error(DESCRIBE_SECRET, err)),
    }
}

/// The parameters among `names`, by name; a name Parameter Store does not know is `NotFound`.
pub(super) async fn parameters(aws: &Aws, names: Vec<&str>) -> Result<BTreeMap<String, Readable<Parameter>>> {
    let mut found = BTreeMap::new();
    for batch in names.chunks(PARAMETERS_PER_CALL) {
        let filter = ParameterStringFilter::builder()
            .key("Name")
            .option("Equals")
            .set_values(Some(batch.iter().map(|name| (*name).to_owned()).collect()))
            .build()
            .map_err(|err| pipesec_engine::Error::Aws {
                action: DESCRIBE_PARAMETERS,
                code: "InvalidRequest".to_owned(),
                message: err.to_string(),
            })?;
        let mut pages = aws
            .ssm()
            .describe_parameters()
            .parameter_filters(filter)
            .max_results(i32::try_from(PARAMETERS_PER_CALL).unwrap_or(50))
            .into_paginator()
            .send();
        let mut denied = false;
        while let Some(page) = pages.next().await {
            let page = match page {
                Ok(page) => page,
                Err(err) if is_access_denied(err.code()) => {
                    denied = true;
                    break;
                }
                Err(err) => return Err(aws.error(DESCRIBE_PARAMETERS, err)),
            };
            for parameter in page.parameters() {
                let Some(name) = parameter.name() else { continue };
                let last_modified = parameter
                    .last_modified_date()
                    .and_then(|time| time.to_millis().ok())
                    .and_then(|millis| Timestamp::from_millisecond(millis).ok());
                let kind = parameter.r#type().map_or("String", |kind| kind.as_str()).to_owned();
                found.insert(name.to_owned(), Readable::Known(Parameter::Found { kind, last_modified }));
            }
        }
        for name in batch {
            let answer =
                if denied { Readable::Denied(DESCRIBE_PARAMETERS) } else { Readable::Known(Parameter::NotFound) };
            found.entry((*name).to_owned()).or_insert(answer);
        }
    }
    Ok(found)
}
