//! The AWS clients a rule may use, each built on its first use: once per process from one
//! `SdkConfig`, or from an assumed role ([`Aws::assume_role`]; the Lambda functions never assume
//! one: each evaluates its own account).

use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_config::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_config::config::{ConfigBag, Intercept, ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_config::error::{BoxError, ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::Provider;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::{self as http_client};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

use crate::error::{Error, Result};
use crate::iam::IamReads;

/// Attempts per AWS call, throttling included; the SDK backs off exponentially with jitter.
const MAX_ATTEMPTS: u32 = 6;
/// A connection that takes longer than this to open is retried.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// One attempt of a call that takes longer than this is abandoned and retried: a hung
/// connection must not eat the function's whole timeout (300 s). Overridden, e.g. by tests, with
/// `PIPESEC_ATTEMPT_TIMEOUT_SECONDS`.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);
/// All attempts of one call, backoff included.
const OPERATION_TIMEOUT: Duration = Duration::from_mins(2);
/// AWS Config's guidance for rule sessions: short-lived.
const ASSUMED_ROLE_SESSION: Duration = Duration::from_mins(15);

/// The SDK configuration of a Lambda function: region, credentials and endpoint from the
/// environment Lambda gives the function (`AWS_REGION`, `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`; `AWS_ENDPOINT_URL`, `AWS_USE_FIPS_ENDPOINT` and
/// `AWS_USE_DUALSTACK_ENDPOINT` when set), retries with backoff, timeouts, and an HTTPS client that
/// opens its TLS connector on the first call (`ConnectOnFirstCall`). Not aws-config's default
/// chain (the CLI's, `cli/src/account.rs`): inside Lambda the credentials are always
/// in the environment, and the chain's profile, SSO, web-identity and instance-metadata providers
/// (with the STS client they bring) would only add to every package (bench/README.md).
pub fn lambda_sdk_config() -> SdkConfig {
    let variable = |name: &str| std::env::var(name).ok().filter(|value| !value.trim().is_empty());
    let flag = |name: &str| variable(name).is_some_and(|value| value.trim().eq_ignore_ascii_case("true"));
    let mut config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .credentials_provider(SharedCredentialsProvider::new(EnvironmentVariableCredentialsProvider::new()))
        .retry_config(retry_config())
        .timeout_config(timeout_config())
        .http_client(ConnectOnFirstCall::new())
        .use_fips(flag("AWS_USE_FIPS_ENDPOINT"))
        .use_dual_stack(flag("AWS_USE_DUALSTACK_ENDPOINT"));
    config.set_region(variable("AWS_REGION").or_else(|| variable("AWS_DEFAULT_REGION")).map(Region::new));
    config.set_endpoint_url(variable("AWS_ENDPOINT_URL"));
    config.build()
}

/// The SDK's default HTTPS client (hyper, rustls with aws-lc, proxy from the environment) without
/// its start-up check. That check builds a TLS connector, trust store and all, for every service
/// client and drops it, so a rule process built eight before polling for its first event and then
/// the one it uses on its first call. Calls still share one connector per connection setting.
/// Built as the SDK builds its own default (`build_with_connector_fn`, hidden from the SDK's docs;
/// the version is pinned by Cargo.lock). The start-up it saves is in bench/README.md.
#[derive(Debug)]
struct ConnectOnFirstCall(SharedHttpClient);

impl ConnectOnFirstCall {
    fn new() -> Self {
        ConnectOnFirstCall(http_client::Builder::new().build_with_connector_fn(|settings, components| {
            let mut connector = http_client::Connector::builder().tls_provider(Provider::Rustls(CryptoMode::AwsLc));
            connector.set_connector_settings(settings.cloned());
            if let Some(components) = components {
                connector.set_sleep_impl(components.sleep_impl());
            }
            connector.set_proxy_config(Some(ProxyConfig::from_env()));
            connector.build()
        }))
    }
}

impl HttpClient for ConnectOnFirstCall {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

/// Connect, attempt and operation timeouts: a timed-out attempt is retried like a 5xx.
pub fn timeout_config() -> TimeoutConfig {
    let attempt = std::env::var("PIPESEC_ATTEMPT_TIMEOUT_SECONDS")
        .ok()
        .and_then(|seconds| seconds.trim().parse::<f64>().ok())
        .filter(|seconds| seconds.is_finite() && *seconds > 0.0)
        .map_or(ATTEMPT_TIMEOUT, Duration::from_secs_f64);
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(attempt)
        .operation_timeout(OPERATION_TIMEOUT.max(attempt))
        .build()
}

/// Standard retries: throttling and transient errors, exponential backoff with jitter.
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS)
}

/// An SDK configuration for tests, whose clients are replaced by mocks before any call (see
/// [`Aws::for_tests`]).
#[cfg(any(test, feature = "test-util"))]
pub fn test_sdk_config() -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .build()
}

const OFFLINE_PRINCIPAL: &str = "an offline evaluation";

/// Fails every call of an offline client before it is signed or sent.
#[derive(Debug)]
struct Offline;

impl Intercept for Offline {
    fn name(&self) -> &'static str {
        "pipesec-offline"
    }

    fn read_before_execution(
        &self,
        _: &BeforeSerializationInterceptorContextRef<'_>,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        Err("offline: this evaluation makes no AWS calls".into())
    }
}

/// Clients for the services rules read, and the principal they act as (named in errors).
///
/// Each client is built on its first use: building one costs about as much as a rule's whole
/// evaluation of an item (the SDK parses its endpoint partitions and compiles their patterns),
/// and most rules use two or three of the twelve. A test replaces one with a mock before any call:
/// `Aws::for_tests().with_codebuild(mock)` (feature `test-util`). A clone shares the clients
/// built so far; the engine lends the process's `Aws` rather than cloning it.
#[derive(Debug, Clone)]
pub struct Aws {
    /// What the clients are built from.
    pub sdk_config: SdkConfig,
    /// Who the clients act as, named in errors.
    principal: String,
    config: OnceLock<aws_sdk_config::Client>,
    codebuild: OnceLock<aws_sdk_codebuild::Client>,
    iam: OnceLock<aws_sdk_iam::Client>,
    codepipeline: OnceLock<aws_sdk_codepipeline::Client>,
    /// CloudTrail event history (LookupEvents), for calls made on pipelines.
    cloudtrail: OnceLock<aws_sdk_cloudtrail::Client>,
    /// CloudWatch alarms (DescribeAlarms).
    cloudwatch: OnceLock<aws_sdk_cloudwatch::Client>,
    /// CloudWatch Logs (FilterLogEvents), for build logs.
    logs: OnceLock<aws_sdk_cloudwatchlogs::Client>,
    /// AWS CodeStar Notifications rules, the console's "notify" on a pipeline.
    notifications: OnceLock<aws_sdk_codestarnotifications::Client>,
    /// EventBridge rules on the default event bus.
    eventbridge: OnceLock<aws_sdk_eventbridge::Client>,
    /// S3 bucket settings. One client for every region: a read of a bucket in another region
    /// sets that region on the call ([`Aws::s3_region`]).
    s3: OnceLock<aws_sdk_s3::Client>,
    /// ECR repositories and the registry's scanning configuration. One client for every region,
    /// as for S3 ([`Aws::ecr_region`]).
    ecr: OnceLock<aws_sdk_ecr::Client>,
    /// Secrets Manager secrets' descriptions (never their values).
    secretsmanager: OnceLock<aws_sdk_secretsmanager::Client>,
    /// Parameter Store parameters' descriptions (never their values).
    ssm: OnceLock<aws_sdk_ssm::Client>,
    /// What IAM said in this invocation, so that a sweep in chunks reads each role and policy once
    /// ([`crate::iam::Roles::read`]); the engine forgets it when an invocation starts.
    pub(crate) iam_reads: Arc<Mutex<IamReads>>,
}

/// The client in `$aws.$field`, built from `$aws.sdk_config` on first use; offline clients fail
/// every call (see [`Aws::offline`]).
macro_rules! client {
    ($aws:ident . $field:ident, $service:ident) => {
        $aws.$field.get_or_init(|| {
            let builder = $service::config::Builder::from(&$aws.sdk_config);
            let builder = if $aws.is_offline() { builder.interceptor(Offline) } else { builder };
            $service::Client::from_conf(builder.build())
        })
    };
}

impl Aws {
    pub fn new(sdk_config: &SdkConfig) -> Self {
        Aws::acting_as(sdk_config, "the function's execution role".to_owned())
    }

    /// Clients acting as `principal` as errors name it, e.g. the command line's credentials.
    pub fn named(sdk_config: &SdkConfig, principal: &str) -> Self {
        Aws::acting_as(sdk_config, principal.to_owned())
    }

    fn acting_as(sdk_config: &SdkConfig, principal: String) -> Self {
        Aws {
            sdk_config: sdk_config.clone(),
            principal,
            config: OnceLock::new(),
            codebuild: OnceLock::new(),
            iam: OnceLock::new(),
            codepipeline: OnceLock::new(),
            cloudtrail: OnceLock::new(),
            cloudwatch: OnceLock::new(),
            logs: OnceLock::new(),
            notifications: OnceLock::new(),
            eventbridge: OnceLock::new(),
            s3: OnceLock::new(),
            ecr: OnceLock::new(),
            secretsmanager: OnceLock::new(),
            ssm: OnceLock::new(),
            iam_reads: Arc::default(),
        }
    }

    /// Forgets what IAM said in earlier invocations: a role may have changed since.
    pub fn start_invocation(&self) {
        *self.iam_reads.lock().unwrap_or_else(PoisonError::into_inner) = IamReads::default();
    }

    pub fn config(&self) -> &aws_sdk_config::Client {
        client!(self.config, aws_sdk_config)
    }

    pub fn codebuild(&self) -> &aws_sdk_codebuild::Client {
        client!(self.codebuild, aws_sdk_codebuild)
    }

    pub fn iam(&self) -> &aws_sdk_iam::Client {
        client!(self.iam, aws_sdk_iam)
    }

    pub fn codepipeline(&self) -> &aws_sdk_codepipeline::Client {
        client!(self.codepipeline, aws_sdk_codepipeline)
    }

    pub fn cloudtrail(&self) -> &aws_sdk_cloudtrail::Client {
        client!(self.cloudtrail, aws_sdk_cloudtrail)
    }

    pub fn logs(&self) -> &aws_sdk_cloudwatchlogs::Client {
        client!(self.logs, aws_sdk_cloudwatchlogs)
    }

    pub fn cloudwatch(&self) -> &aws_sdk_cloudwatch::Client {
        client!(self.cloudwatch, aws_sdk_cloudwatch)
    }

    pub fn notifications(&self) -> &aws_sdk_codestarnotifications::Client {
        client!(self.notifications, aws_sdk_codestarnotifications)
    }

    pub fn eventbridge(&self) -> &aws_sdk_eventbridge::Client {
        client!(self.eventbridge, aws_sdk_eventbridge)
    }

    pub fn s3(&self) -> &aws_sdk_s3::Client {
        client!(self.s3, aws_sdk_s3)
    }

    /// A per-call override of [`Aws::s3`]'s region, for a bucket that lives in `region`: S3
    /// answers a request signed for another region with a redirect, not the bucket's settings.
    /// Everything else (credentials, retries, endpoint, mocks, offline) stays the client's.
    pub fn s3_region(region: &str) -> aws_sdk_s3::config::Builder {
        aws_sdk_s3::config::Builder::default().region(aws_config::Region::new(region.to_owned()))
    }

    pub fn ecr(&self) -> &aws_sdk_ecr::Client {
        client!(self.ecr, aws_sdk_ecr)
    }

    /// A per-call override of [`Aws::ecr`]'s region, for a repository in `region` (a registry is
    /// regional: the same name elsewhere is another repository).
    pub fn ecr_region(region: &str) -> aws_sdk_ecr::config::Builder {
        aws_sdk_ecr::config::Builder::default().region(aws_config::Region::new(region.to_owned()))
    }

    pub fn secretsmanager(&self) -> &aws_sdk_secretsmanager::Client {
        client!(self.secretsmanager, aws_sdk_secretsmanager)
    }

    pub fn ssm(&self) -> &aws_sdk_ssm::Client {
        client!(self.ssm, aws_sdk_ssm)
    }

    /// Clients acting as `role_arn`. The role is assumed now, so that a refusal is reported as
    /// such rather than as the failure of a later read.
    pub async fn assume_role(sdk_config: &SdkConfig, role_arn: &str) -> Result<Self> {
        let provider = AssumeRoleProvider::builder(role_arn)
            .session_name("pipesec")
            .session_length(ASSUMED_ROLE_SESSION)
            .configure(sdk_config)
            .build()
            .await;
        let credentials = provider.provide_credentials().await.map_err(|err| Error::AccessDenied {
            action: "sts:AssumeRole",
            principal: "the function's execution role".to_owned(),
            message: format!("cannot assume `{role_arn}`: {}", crate::error::error_chain(&err)),
        })?;
        // The session outlives any invocation (15 minutes at most), so these credentials are
        // used as they are rather than through the provider, which would assume the role again.
        let assumed = sdk_config.to_builder().credentials_provider(SharedCredentialsProvider::new(credentials)).build();
        Ok(Aws::acting_as(&assumed, format!("role `{role_arn}`")))
    }

    /// Clients that never reach AWS: every call fails at once, before anything is sent (no
    /// credentials, no retries), with an error naming the action. Used to evaluate offline
    /// inputs (snapshots, templates) with the rules' own `gather`: a rule that needs no live
    /// read for a resource evaluates as usual, one that does fails with its action named.
    pub fn offline() -> Self {
        let sdk_config = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .retry_config(RetryConfig::disabled())
            .build();
        Aws::acting_as(&sdk_config, OFFLINE_PRINCIPAL.to_owned())
    }

    /// Whether these are the clients of [`Aws::offline`].
    pub fn is_offline(&self) -> bool {
        self.principal == OFFLINE_PRINCIPAL
    }

    /// Classifies a failed call of `action` (e.g. `config:PutEvaluations`).
    #[allow(clippy::needless_pass_by_value)] // by value, to fit `map_err`
    pub fn error<E, R>(&self, action: &'static str, err: SdkError<E, R>) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        Error::from_sdk(action, &self.principal, &err)
    }
}

/// `with_<client>(client)`: the same clients with that one replaced (by a mock).
#[cfg(any(test, feature = "test-util"))]
macro_rules! with_clients {
    ($($method:ident: $field:ident, $service:ident;)*) => {$(
        #[must_use]
        pub fn $method(self, client: $service::Client) -> Self {
            Aws { $field: client.into(), ..self }
        }
    )*};
}

/// Test scaffolding: clients whose calls a test answers with mocks (`aws-smithy-mocks`).
#[cfg(any(test, feature = "test-util"))]
impl Aws {
    /// Clients that no test has mocked yet, acting as the function's execution role.
    pub fn for_tests() -> Self {
        Aws::new(&test_sdk_config())
    }

    /// The same clients, acting as `principal` (as named in errors).
    #[must_use]
    pub fn acting_as_principal(self, principal: &str) -> Self {
        Aws { principal: principal.to_owned(), ..self }
    }

    with_clients! {
        with_config: config, aws_sdk_config;
        with_codebuild: codebuild, aws_sdk_codebuild;
        with_iam: iam, aws_sdk_iam;
        with_codepipeline: codepipeline, aws_sdk_codepipeline;
        with_cloudtrail: cloudtrail, aws_sdk_cloudtrail;
        with_cloudwatch: cloudwatch, aws_sdk_cloudwatch;
        with_logs: logs, aws_sdk_cloudwatchlogs;
        with_notifications: notifications, aws_sdk_codestarnotifications;
        with_eventbridge: eventbridge, aws_sdk_eventbridge;
        with_s3: s3, aws_sdk_s3;
        with_ecr: ecr, aws_sdk_ecr;
        with_secretsmanager: secretsmanager, aws_sdk_secretsmanager;
        with_ssm: ssm, aws_sdk_ssm;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_built_on_first_use_and_kept() {
        let aws = Aws::new(&test_sdk_config());
        assert!(aws.codebuild.get().is_none(), "none at start-up");
        let first: *const aws_sdk_codebuild::Client = aws.codebuild();
        assert!(std::ptr::eq(first, aws.codebuild()), "built once");
        assert!(aws.config.get().is_none() && aws.iam.get().is_none(), "only the one used");
    }

    #[tokio::test]
    async fn offline_clients_fail_every_call_at_once_naming_the_action() {
        let aws = Aws::offline();
        assert!(aws.is_offline() && !Aws::new(&test_sdk_config()).is_offline());
        let started = std::time::Instant::now();
        let err = aws
            .codebuild()
            .batch_get_projects()
            .names("app")
            .send()
            .await
            .map_err(|err| aws.error("codebuild:BatchGetProjects", err))
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(1), "no retry, no network");
        assert!(matches!(err, Error::Aws { action: "codebuild:BatchGetProjects", .. }), "{err}");
        assert!(err.to_string().contains("offline"), "{err}");
        let err = aws.config().select_resource_config().expression("SELECT 1").send().await.unwrap_err();
        assert!(crate::error::error_chain(&err).contains("offline"));
    }
}
