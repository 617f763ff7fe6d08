use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_ecr::Client as Ecr;
use aws_sdk_ecr::config::Region;
use aws_sdk_ecr::config::http::HttpResponse;
use aws_sdk_ecr::operation::describe_repositories::{DescribeRepositoriesError, DescribeRepositoriesOutput};
use aws_sdk_ecr::operation::get_registry_scanning_configuration::GetRegistryScanningConfigurationOutput;
// The SDK body type; aws-sdk-ecr does not re-export it.
use aws_sdk_ecr::types::error::RepositoryNotFoundException;
use aws_sdk_ecr::types::{
    ImageScanningConfiguration, ImageTagMutability, RegistryScanningConfiguration, RegistryScanningRule,
    Repository as EcrRepository, ScanFrequency, ScanType, ScanningRepositoryFilter, ScanningRepositoryFilterType,
};
use aws_sdk_s3::primitives::SdkBody;
use aws_smithy_mocks::{
    MockResponse, MockResponseInterceptor, Rule as MockRule, RuleMode, create_mock_http_client, mock, mock_client,
};
use pipesec_engine::Compliance;
use rstest::rstest;
use serde::Deserialize;

use super::*;
use crate::testing::{RequestRegions, fixture_path, list, subject};

/// The account's registries as `fixtures/<id>/ecr.json` describes them, by region, served by a
/// mocked ECR that answers as ECR does: a batch naming a missing repository fails whole with
/// RepositoryNotFoundException. Each call's region is the one its request was built for.
#[derive(Debug, Deserialize)]
struct EcrFixture {
    registries: HashMap<String, FakeRegistry>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FakeRegistry {
    scan_type: String,
    rules: Vec<FakeRule>,
    repositories: HashMap<String, FakeRepository>,
}

#[derive(Debug, Deserialize)]
struct FakeRule {
    frequency: String,
    filters: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FakeRepository {
    tag_mutability: String,
    scan_on_push: bool,
}

struct FakeEcr {
    describe: MockRule,
    scanning: MockRule,
    regions: RequestRegions,
}

impl FakeEcr {
    fn from_fixture() -> Self {
        let path = fixture_path(ID, "ecr");
        let state: Arc<EcrFixture> = Arc::new(serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap());
        let regions = RequestRegions::default();

        // The mock sees the input only: the region is the one `RequestRegions` recorded for this request.
        let (ecr, seen) = (Arc::clone(&state), regions.clone());
        let describe = mock!(Ecr::describe_repositories).then_compute_response(move |request| {
            let region = seen.0.lock().unwrap().last().cloned().unwrap_or_default();
            let registry = &ecr.registries[&region];
            let mut repositories = Vec::new();
            for name in request.repository_names() {
                let Some(repository) = registry.repositories.get(name) else {
                    return MockResponse::Error(DescribeRepositoriesError::RepositoryNotFoundException(
                        RepositoryNotFoundException::builder()
                            .message(format!("The repository with name '{name}' does not exist"))
                            .build(),
                    ));
                };
                repositories.push(
                    EcrRepository::builder()
                        .repository_name(name)
                        .image_tag_mutability(ImageTagMutability::from(repository.tag_mutability.as_str()))
                        .image_scanning_configuration(
                            ImageScanningConfiguration::builder().scan_on_push(repository.scan_on_push).build(),
                        )
                        .build(),
                );
            }
            MockResponse::Output(DescribeRepositoriesOutput::builder().set_repositories(Some(repositories)).build())
        });
        let (ecr, seen) = (state, regions.clone());
        let scanning = mock!(Ecr::get_registry_scanning_configuration).then_compute_response(move |_| {
            let region = seen.0.lock().unwrap().last().cloned().unwrap_or_default();
            let registry = &ecr.registries[&region];
            let rules = registry.rules.iter().map(|rule| {
                let filters = rule.filters.iter().map(|filter| {
                    ScanningRepositoryFilter::builder()
                        .filter(filter)
                        .filter_type(ScanningRepositoryFilterType::Wildcard)
                        .build()
                        .unwrap()
                });
                RegistryScanningRule::builder()
                    .scan_frequency(ScanFrequency::from(rule.frequency.as_str()))
                    .set_repository_filters(Some(filters.collect()))
                    .build()
                    .unwrap()
            });
            let configuration = RegistryScanningConfiguration::builder()
                .scan_type(ScanType::from(registry.scan_type.as_str()))
                .set_rules(Some(rules.collect()))
                .build();
            MockResponse::Output(
                GetRegistryScanningConfigurationOutput::builder()
                    .registry_id("123456789012")
                    .scanning_configuration(configuration)
                    .build(),
            )
        });
        FakeEcr { describe, scanning, regions }
    }

    fn aws(&self) -> Aws {
        let mock = MockResponseInterceptor::new()
            .rule_mode(RuleMode::MatchAny)
            .with_rule(&self.describe)
            .with_rule(&self.scanning);
        let config = aws_sdk_ecr::Config::builder()
            .with_test_defaults_v2()
            .region(Region::new("us-east-1"))
            .http_client(create_mock_http_client())
            .interceptor(self.regions.clone())
            .interceptor(mock)
            .build();
        Aws::for_tests().with_ecr(Ecr::from_conf(config))
    }
}

async fn verdict_with(fixture: &str, params: &Params) -> Verdict {
    let subjects = [subject(ID, fixture)];
    let facts = TrustedImage::gather(&FakeEcr::from_fixture().aws(), params, &subjects).await.unwrap();
    TrustedImage::evaluate(&subjects[0], &facts[0], params)
}

#[rstest]
#[case::codebuild_image("compliant-codebuild-image", Compliance::Compliant)]
#[case::own_ecr("compliant-own-ecr", Compliance::Compliant)]
#[case::enhanced_scanning_by_digest("compliant-enhanced-scanning", Compliance::Compliant)]
#[case::docker_hub("non-compliant-docker-hub", Compliance::NonCompliant)]
#[case::other_account("non-compliant-other-account", Compliance::NonCompliant)]
#[case::codebuild_credentials("non-compliant-codebuild-credentials", Compliance::NonCompliant)]
#[case::latest("non-compliant-latest", Compliance::NonCompliant)]
#[case::mutable_unscanned("non-compliant-mutable-unscanned", Compliance::NonCompliant)]
#[case::repository_missing("non-compliant-repository-missing", Compliance::NonCompliant)]
#[tokio::test]
async fn scenario(#[case] fixture: &str, #[case] expected: Compliance) {
    let verdict = verdict_with(fixture, &Params::default()).await;
    assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
}

#[rstest]
#[case::docker_hub_allowed("non-compliant-docker-hub", &["node:"], false, Compliance::Compliant)]
#[case::other_account_allowed("non-compliant-other-account", &["999999999999.dkr.ecr.us-east-1.amazonaws.com/shared/"], false, Compliance::Compliant)]
#[case::list_replaces_the_default("compliant-codebuild-image", &["node:"], false, Compliance::NonCompliant)]
#[case::tag_without_digest("compliant-own-ecr", &[], true, Compliance::NonCompliant)]
#[case::digest("compliant-enhanced-scanning", &[], true, Compliance::Compliant)]
#[tokio::test]
async fn parameters(
    #[case] fixture: &str,
    #[case] prefixes: &[&str],
    #[case] require_digest: bool,
    #[case] expected: Compliance,
) {
    let params = Params { allowed_image_prefixes: list(prefixes), require_digest };
    let verdict = verdict_with(fixture, &params).await;
    assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
}

#[tokio::test]
async fn reasons_name_the_image_the_repository_and_each_problem() {
    let reason = |fixture| async move { verdict_with(fixture, &Params::default()).await.reason };
    assert_eq!(
        reason("non-compliant-docker-hub").await,
        "image `node:20` is neither a CodeBuild image nor in an ECR repository of the account"
    );
    assert_eq!(
        reason("non-compliant-mutable-unscanned").await,
        "repository `app-builder` (us-east-1) has tag mutability MUTABLE; repository `app-builder` (us-east-1) is not \
         scanned on push (basic scanning)"
    );
    assert!(reason("non-compliant-codebuild-credentials").await.contains("imagePullCredentialsType CODEBUILD"));
    assert!(reason("non-compliant-latest").await.contains("runs whatever `latest` is"));
    assert_eq!(
        reason("non-compliant-repository-missing").await,
        "repository `deleted-builder` (us-east-1) does not exist"
    );
}

#[tokio::test]
async fn repositories_are_read_once_in_batches_in_their_region_and_missing_ones_isolated() {
    let fake = FakeEcr::from_fixture();
    let fixtures = [
        "compliant-own-ecr",
        "non-compliant-latest",
        "non-compliant-codebuild-credentials",
        "non-compliant-mutable-unscanned",
        "non-compliant-repository-missing",
        "compliant-enhanced-scanning",
        "compliant-codebuild-image",
        "non-compliant-other-account",
    ];
    let subjects: Vec<Subject<CodeBuildProject>> = fixtures.iter().map(|fixture| subject(ID, fixture)).collect();
    let facts = TrustedImage::gather(&fake.aws(), &Params::default(), &subjects).await.unwrap();
    // us-east-1: one batch of 3 names fails on the missing one, halves [build-images/node] and
    // [app-builder, deleted-builder], the second fails and splits: 5 calls; eu-west-1: 1.
    assert_eq!(fake.describe.num_calls(), 6);
    assert_eq!(fake.scanning.num_calls(), 2, "one registry read per region");
    let regions = fake.regions.0.lock().unwrap().clone();
    assert_eq!(regions.iter().filter(|region| *region == "eu-west-1").count(), 2, "{regions:?}");
    assert_eq!(facts[6], ImageFacts::default(), "a CodeBuild image reads nothing");
    assert_eq!(facts[7], ImageFacts::default(), "another account's repository is not read");
    assert_eq!(facts[4].repository, Some(Readable::Known(Repository::NotFound)));
}

#[tokio::test]
async fn a_refused_read_is_not_applicable_unless_something_known_is_wrong() {
    let denied = || {
        HttpResponse::new(
            400.try_into().unwrap(),
            SdkBody::from(
                r#"{"__type":"AccessDeniedException","message":"not authorized to perform ecr:DescribeRepositories"}"#,
            ),
        )
    };
    let describe = mock!(Ecr::describe_repositories).then_http_response(denied);
    let scanning = mock!(Ecr::get_registry_scanning_configuration).then_http_response(denied);
    let aws = Aws::for_tests().with_ecr(mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&describe, &scanning]));
    let subjects = [subject(ID, "compliant-own-ecr"), subject(ID, "non-compliant-latest")];
    let facts = TrustedImage::gather(&aws, &Params::default(), &subjects).await.unwrap();
    let unknown = TrustedImage::evaluate(&subjects[0], &facts[0], &Params::default());
    assert_eq!(unknown.compliance, Compliance::NotApplicable, "{}", unknown.reason);
    assert!(unknown.reason.contains("ecr:DescribeRepositories denied"), "{}", unknown.reason);
    let known = TrustedImage::evaluate(&subjects[1], &facts[1], &Params::default());
    assert_eq!(known.compliance, Compliance::NonCompliant, "{}", known.reason);
    assert!(
        known.reason.ends_with("not read: repository `build-images/node` (us-east-1): ecr:DescribeRepositories denied"),
        "{}",
        known.reason
    );
}

#[tokio::test]
async fn offline_only_projects_with_an_own_ecr_image_need_a_read() {
    let offline = Aws::offline();
    let facts = TrustedImage::gather(&offline, &Params::default(), &[subject(ID, "compliant-codebuild-image")]).await;
    assert_eq!(facts.unwrap(), vec![ImageFacts::default()]);
    let err =
        TrustedImage::gather(&offline, &Params::default(), &[subject(ID, "compliant-own-ecr")]).await.unwrap_err();
    assert!(err.to_string().contains("ecr:DescribeRepositories"), "{err}");
}

#[rstest]
#[case("aws/codebuild/standard:7.0", None, "aws/codebuild/standard", Some("7.0"), None)]
#[case("node", None, "node", None, None)]
#[case("library/node:20", None, "library/node", Some("20"), None)]
#[case("localhost:5000/app:1", Some("localhost:5000"), "app", Some("1"), None)]
#[case("registry.example.com:5000/team/app", Some("registry.example.com:5000"), "team/app", None, None)]
#[case(
    "123456789012.dkr.ecr.us-east-1.amazonaws.com/a/b:1@sha256:ab",
    Some("123456789012.dkr.ecr.us-east-1.amazonaws.com"),
    "a/b",
    Some("1"),
    Some("sha256:ab")
)]
#[case(
    "public.ecr.aws/docker/library/node@sha256:ab",
    Some("public.ecr.aws"),
    "docker/library/node",
    None,
    Some("sha256:ab")
)]
fn image_references(
    #[case] image: &str,
    #[case] registry: Option<&str>,
    #[case] repository: &str,
    #[case] tag: Option<&str>,
    #[case] digest: Option<&str>,
) {
    assert_eq!(ImageRef::parse(image), ImageRef { registry, repository, tag, digest });
}

#[rstest]
#[case("123456789012.dkr.ecr.us-east-1.amazonaws.com/app", Some(("123456789012", "us-east-1")))]
#[case("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/app", Some(("123456789012", "us-gov-west-1")))]
#[case("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app", Some(("123456789012", "cn-north-1")))]
#[case("123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example/app", None)]
#[case("public.ecr.aws/app", None)]
#[case("aws/codebuild/standard:7.0", None)]
fn ecr_registries(#[case] image: &str, #[case] expected: Option<(&str, &str)>) {
    assert_eq!(ImageRef::parse(image).ecr_registry(), expected);
}

#[rstest]
#[case("build-images/*", "build-images/node", true)]
#[case("build-images/*", "app/build-images/node", false)]
#[case("*", "anything", true)]
#[case("*-prod", "api-prod", true)]
#[case("*-prod", "api-prod-old", false)]
#[case("a*b*c", "a-x-b-y-c", true)]
#[case("a*b*c", "a-c-b", false)]
#[case("build", "app-build-images", true)]
#[case("build", "app", false)]
fn scanning_filters(#[case] filter: &str, #[case] name: &str, #[case] matches: bool) {
    assert_eq!(filter_matches(filter, name), matches);
}

#[test]
fn require_digest_takes_true_or_false() {
    let parse = |raw: &str| pipesec_engine::params::parse::<Params>(Some(raw)).map(|parsed| parsed.rule.require_digest);
    assert!(parse(r#"{"requireDigest": "TRUE"}"#).unwrap());
    assert!(!parse(r#"{"requireDigest": ""}"#).unwrap());
    assert!(parse(r#"{"requireDigest": "yes"}"#).unwrap_err().to_string().contains("requireDigest"));
}

#[test]
fn without_the_account_an_ecr_image_is_not_judged_by_the_default_sources() {
    let mut project = subject::<CodeBuildProject>(ID, "compliant-own-ecr");
    project.item.account_id = None;
    let verdict = TrustedImage::evaluate(&project, &ImageFacts::default(), &Params::default());
    assert_eq!(verdict.compliance, Compliance::NotApplicable, "{}", verdict.reason);
    assert!(verdict.reason.contains("the project's account is unknown"), "{}", verdict.reason);
    let mut hub = subject::<CodeBuildProject>(ID, "non-compliant-docker-hub");
    hub.item.account_id = None;
    let verdict = TrustedImage::evaluate(&hub, &ImageFacts::default(), &Params::default());
    assert_eq!(verdict.compliance, Compliance::NonCompliant, "not an ECR image: judged as ever: {}", verdict.reason);
}
