//! ECR reads in one region: repositories by name, batched, and the registry's scanning
//! configuration.

use aws_sdk_ecr::error::ProvideErrorMetadata;
use aws_sdk_ecr::operation::describe_repositories::DescribeRepositoriesError;
use pipesec_engine::{Aws, Result};

use super::{Readable, RegistryScanning, Repository, ScanningRule};

/// DescribeRepositories' limit of names per call.
pub const REPOSITORIES_PER_CALL: usize = 100;

const DESCRIBE: &str = "ecr:DescribeRepositories";
const SCANNING: &str = "ecr:GetRegistryScanningConfiguration";

fn is_access_denied(code: Option<&str>) -> bool {
    matches!(code, Some("AccessDeniedException" | "AccessDenied"))
}

/// Every repository of `names` (distinct) in `region`'s registry of the calling account. ECR
/// fails a whole call with RepositoryNotFoundException when one name does not exist: such a
/// batch is split in halves until each missing name is alone, so an existing repository is
/// answered once and a missing one costs a few calls more.
pub(super) async fn repositories(
    aws: &Aws,
    region: &str,
    names: Vec<&str>,
) -> Result<Vec<(String, Readable<Repository>)>> {
    let mut found = Vec::with_capacity(names.len());
    let mut batches: Vec<Vec<&str>> = names.chunks(REPOSITORIES_PER_CALL).map(<[&str]>::to_vec).collect();
    while let Some(batch) = batches.pop() {
        let answer = aws
            .ecr()
            .describe_repositories()
            .set_repository_names(Some(batch.iter().map(|name| (*name).to_owned()).collect()))
            .customize()
            .config_override(Aws::ecr_region(region))
            .send()
            .await;
        match answer {
            Ok(output) => {
                for repository in output.repositories() {
                    let Some(name) = repository.repository_name() else { continue };
                    let scan_on_push = repository
                        .image_scanning_configuration()
                        .is_some_and(aws_sdk_ecr::types::ImageScanningConfiguration::scan_on_push);
                    let tag_mutability =
                        repository.image_tag_mutability().map_or("MUTABLE", |mutability| mutability.as_str());
                    found.push((
                        name.to_owned(),
                        Readable::Known(Repository::Found { tag_mutability: tag_mutability.to_owned(), scan_on_push }),
                    ));
                }
            }
            Err(err)
                if err.as_service_error().is_some_and(DescribeRepositoriesError::is_repository_not_found_exception) =>
            {
                if let [name] = batch[..] {
                    found.push((name.to_owned(), Readable::Known(Repository::NotFound)));
                } else {
                    let (first, second) = batch.split_at(batch.len() / 2);
                    batches.push(first.to_vec());
                    batches.push(second.to_vec());
                }
            }
            Err(err) if is_access_denied(err.code()) => {
                found.extend(batch.iter().map(|name| ((*name).to_owned(), Readable::Denied(DESCRIBE))));
            }
            Err(err) => return Err(aws.error(DESCRIBE, err)),
        }
    }
    Ok(found)
}

/// The registry scanning configuration of the calling account in `region`.
pub(super) async fn registry_scanning(aws: &Aws, region: &str) -> Result<Readable<RegistryScanning>> {
    let answer = aws
        .ecr()
        .get_registry_scanning_configuration()
        .customize()
        .config_override(Aws::ecr_region(region))
        .send()
        .await;
    let output = match answer {
        Ok(output) => output,
        Err(err) if is_access_denied(err.code()) => return Ok(Readable::Denied(SCANNING)),
        Err(err) => return Err(aws.error(SCANNING, err)),
    };
    let Some(configuration) = output.scanning_configuration() else {
        // Never configured: basic scanning without rules, ECR's default.
        return Ok(Readable::Known(RegistryScanning { scan_type: "BASIC".to_owned(), rules: Vec::new() }));
    };
    Ok(Readable::Known(RegistryScanning {
        scan_type: configuration.scan_type().map_or("BASIC", |scan_type| scan_type.as_str()).to_owned(),
        rules: configuration
            .rules()
            .iter()
            .map(|rule| ScanningRule {
                frequency: rule.scan_frequency().as_str().to_owned(),
                filters: rule.repository_filters().iter().map(|filter| filter.filter().to_owned()).collect(),
            })
            .collect(),
    }))
}
