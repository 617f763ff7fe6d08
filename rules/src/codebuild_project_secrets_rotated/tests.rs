use std::collections::BTreeMap;

use jiff::Timestamp;
use pipesec_engine::Compliance;
use rstest::rstest;

use super::*;
use crate::common::secret_rotation::{Parameter, Readable};
use crate::testing::{FakeSecrets, subject};

async fn verdict_with(fixture: &str, params: &Params) -> Verdict {
    let subjects = [subject(ID, fixture)];
    let facts = SecretsRotated::gather(&FakeSecrets::new().aws(), params, &subjects).await.unwrap();
    SecretsRotated::evaluate(&subjects[0], &facts[0], params)
}

#[rstest]
#[case::rotated_secret_and_young_secure_string("compliant-rotated", Compliance::Compliant)]
#[case::secret_by_arn_never_rotated_yet("compliant-secret-by-arn", Compliance::Compliant)]
#[case::rotation_off("non-compliant-rotation-off", Compliance::NonCompliant)]
#[case::stale_secret("non-compliant-stale-secret", Compliance::NonCompliant)]
#[case::old_secure_string("non-compliant-old-parameter", Compliance::NonCompliant)]
#[case::missing_secret("non-compliant-missing-secret", Compliance::NonCompliant)]
#[case::no_references("no-references", Compliance::NotApplicable)]
#[tokio::test]
async fn scenario(#[case] fixture: &str, #[case] expected: Compliance) {
    let verdict = verdict_with(fixture, &Params::default()).await;
    assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
}

#[rstest]
#[case::shorter_than_the_last_rotation("compliant-rotated", 5, Compliance::NonCompliant)]
#[case::longer_than_the_last_rotation("non-compliant-stale-secret", 365, Compliance::Compliant)]
#[tokio::test]
async fn max_age_days(#[case] fixture: &str, #[case] days: u32, #[case] expected: Compliance) {
    let verdict = verdict_with(fixture, &Params { max_age_days: Some(days) }).await;
    assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
}

#[tokio::test]
async fn reasons_name_the_secret_and_the_variable_never_a_value() {
    let reason = |fixture| async move { verdict_with(fixture, &Params::default()).await.reason };
    assert_eq!(
        reason("non-compliant-rotation-off").await,
        "secret `legacy/token` (variable `LEGACY_TOKEN`) has rotation off"
    );
    assert_eq!(
        reason("non-compliant-stale-secret").await,
        "secret `old/token` (variable `OLD_TOKEN`) last rotated 200 days ago"
    );
    assert_eq!(
        reason("non-compliant-old-parameter").await,
        "SecureString parameter `/legacy/api-key` (variable `API_KEY`) last changed 400 days ago"
    );
    assert_eq!(
        reason("non-compliant-missing-secret").await,
        "secret `deleted/db` (variable `DB_PASSWORD`) does not exist"
    );
}

#[tokio::test]
async fn each_secret_once_in_its_region_and_parameters_in_one_call() {
    let fake = FakeSecrets::new();
    let fixtures = ["compliant-rotated", "compliant-rotated", "compliant-secret-by-arn", "non-compliant-old-parameter"];
    let subjects: Vec<Subject<CodeBuildProject>> = fixtures.iter().map(|fixture| subject(ID, fixture)).collect();
    let facts = SecretsRotated::gather(&fake.aws(), &Params::default(), &subjects).await.unwrap();
    assert_eq!(fake.describe_secret.num_calls(), 2);
    assert_eq!(fake.describe_parameters.num_calls(), 1);
    let mut regions = fake.regions.0.lock().unwrap().clone();
    regions.sort();
    assert_eq!(regions, ["eu-west-1", "us-east-1"]);
    assert_eq!(facts[1], facts[0]);
}

#[tokio::test]
async fn no_reference_no_read_and_offline_the_read_is_named() {
    let offline = Aws::offline();
    let facts = SecretsRotated::gather(&offline, &Params::default(), &[subject(ID, "no-references")]).await.unwrap();
    assert_eq!(facts, vec![References::default()]);
    let err = SecretsRotated::gather(&offline, &Params::default(), &[subject(ID, "non-compliant-rotation-off")])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("secretsmanager:DescribeSecret"), "{err}");
}

#[test]
fn a_refused_read_is_not_applicable_unless_something_known_is_wrong() {
    let project = subject::<CodeBuildProject>(ID, "compliant-rotated");
    let mut facts = References {
        as_of: Some(Timestamp::now()),
        secrets: BTreeMap::from([("prod/db".to_owned(), Readable::Denied("secretsmanager:DescribeSecret"))]),
        parameters: BTreeMap::from([
            (
                "/prod/api/key".to_owned(),
                Readable::Known(Parameter::Found { kind: "SecureString".to_owned(), last_modified: None }),
            ),
            ("/prod/region".to_owned(), Readable::Known(Parameter::NotFound)),
        ]),
    };
    let verdict = SecretsRotated::evaluate(&project, &facts, &Params::default());
    assert_eq!(verdict.compliance, Compliance::NonCompliant, "{}", verdict.reason);
    assert!(
        verdict
            .reason
            .ends_with("not read: secret `prod/db` (variable `DB_PASSWORD`): secretsmanager:DescribeSecret denied"),
        "{}",
        verdict.reason
    );
    facts.parameters.insert(
        "/prod/region".to_owned(),
        Readable::Known(Parameter::Found { kind: "String".to_owned(), last_modified: None }),
    );
    let verdict = SecretsRotated::evaluate(&project, &facts, &Params::default());
    assert_eq!(verdict.compliance, Compliance::NotApplicable, "{}", verdict.reason);
}
