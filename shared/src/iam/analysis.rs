//! Whether a role's policies grant more than a build or a pipeline needs: pure functions over
//! parsed documents and policy ARNs.

use std::fmt;

use super::document::{DocumentError, Effect, PolicyDocument, Statement};

/// Verbs that begin the name of a read-only action (compared case-insensitively). An action
/// whose name begins with anything else is a write action; so is a wildcard that could match
/// one (`s3:*`, `s3:Put*`, `s3:*Object`). `s3:Get*` only matches reads.
pub const READ_ONLY_VERBS: &[&str] =
    &["Get", "BatchGet", "List", "Describe", "Head", "Query", "Scan", "Select", "Search", "Lookup", "View"];

/// Where a policy comes from; how findings name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PolicyId {
    /// Attached, owned by AWS (`arn:<partition>:iam::aws:policy/…`): judged by its name.
    AwsManaged(String),
    /// Attached, owned by the account: judged by its default version's document.
    CustomerManaged(String),
    /// Embedded in the role, by name.
    Inline(String),
}

impl PolicyId {
    /// The policy's ARN; inline policies have none.
    pub fn arn(&self) -> Option<&str> {
        match self {
            PolicyId::AwsManaged(arn) | PolicyId::CustomerManaged(arn) => Some(arn),
            PolicyId::Inline(_) => None,
        }
    }
}

impl fmt::Display for PolicyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyId::AwsManaged(arn) => write!(f, "AWS managed policy `{arn}`"),
            PolicyId::CustomerManaged(arn) => write!(f, "policy `{arn}`"),
            PolicyId::Inline(name) => write!(f, "inline policy `{name}`"),
        }
    }
}

/// A policy of a role and, when it was read, its document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub id: PolicyId,
    /// `None` when the document was not read (AWS managed policies are judged by name).
    pub document: Option<Result<PolicyDocument, DocumentError>>,
}

/// Which statement of a document: its `Sid`, else its position in `Statement` (from 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatementRef {
    Sid(String),
    Index(usize),
}

impl StatementRef {
    fn of(index: usize, statement: &Statement) -> Self {
        match statement.sid.as_deref().map(str::trim) {
            Some(sid) if !sid.is_empty() => StatementRef::Sid(sid.to_owned()),
            _ => StatementRef::Index(index),
        }
    }
}

impl fmt::Display for StatementRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatementRef::Sid(sid) => write!(f, "statement `{sid}`"),
            StatementRef::Index(index) => write!(f, "Statement[{index}]"),
        }
    }
}

/// How broad an AWS managed policy is, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManagedAccess {
    /// `AdministratorAccess`, its `AdministratorAccess-…` variants, `job-function/…Administrator`.
    Administrator,
    /// `PowerUserAccess`: every service but IAM.
    PowerUser,
    /// `…FullAccess…` (`IAMFullAccess`, `AmazonS3FullAccess`, `CloudWatchFullAccessV2`) and
    /// `…AdminAccess` (`AWSCodeBuildAdminAccess`): everything on one service.
    FullServiceAccess,
}

/// What makes a policy over-privileged. One problem per statement, the most serious.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    BroadManagedPolicy(ManagedAccess),
    /// An Allow with `NotAction`: every action of every service but those listed.
    AllowNotAction,
    /// An Allow of `*` (or `*:*`): every action of every service.
    EveryAction,
    /// `iam:PassRole` on every role: the role can hand any role, an admin one too, to a service.
    PassRoleOnEveryRole,
    /// Write actions on every resource (`*`, or `NotResource`).
    WriteOnEveryResource {
        actions: Vec<String>,
    },
    /// The document could not be read, so it cannot be shown to be least-privilege.
    Unreadable(DocumentError),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::BroadManagedPolicy(ManagedAccess::Administrator) => f.write_str("grants administrator access"),
            Problem::BroadManagedPolicy(ManagedAccess::PowerUser) => f.write_str("grants power-user access"),
            Problem::BroadManagedPolicy(ManagedAccess::FullServiceAccess) => {
                f.write_str("grants full access to a service")
            }
            Problem::AllowNotAction => f.write_str("allows every action but its NotAction list"),
            Problem::EveryAction => f.write_str("allows every action (`*`)"),
            Problem::PassRoleOnEveryRole => f.write_str("allows iam:PassRole on every role"),
            Problem::WriteOnEveryResource { actions } => {
                write!(f, "allows write actions on every resource: {}", actions.join(", "))
            }
            Problem::Unreadable(err) => write!(f, "cannot be analysed ({err})"),
        }
    }
}

/// One reason a role is over-privileged: the policy, the statement (none for a policy judged
/// as a whole) and the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub policy: PolicyId,
    pub statement: Option<StatementRef>,
    pub problem: Problem,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.statement {
            Some(statement) => write!(f, "{} {statement} {}", self.policy, self.problem),
            None => write!(f, "{} {}", self.policy, self.problem),
        }
    }
}

/// Every finding over `policies`, skipping those whose ARN is in `allowed_policy_arns`.
pub fn findings(policies: &[Policy], allowed_policy_arns: &[String]) -> Vec<Finding> {
    policies
        .iter()
        .filter(|policy| !policy.id.arn().is_some_and(|arn| allowed_policy_arns.iter().any(|allowed| allowed == arn)))
        .flat_map(Policy::findings)
        .collect()
}

impl Policy {
    /// The findings of this policy: by name for an AWS managed policy, then by document.
    pub fn findings(&self) -> Vec<Finding> {
        let finding = |statement, problem| Finding { policy: self.id.clone(), statement, problem };
        let mut found = Vec::new();
        if let PolicyId::AwsManaged(arn) = &self.id
            && let Some(access) = broad_aws_managed_policy(arn)
        {
            found.push(finding(None, Problem::BroadManagedPolicy(access)));
        }
        match &self.document {
            Some(Ok(document)) => found
                .extend(document.problems().into_iter().map(|(statement, problem)| finding(Some(statement), problem))),
            Some(Err(err)) => found.push(finding(None, Problem::Unreadable(err.clone()))),
            None => {}
        }
        found
    }
}

impl PolicyDocument {
    /// The problem of each statement that has one.
    pub fn problems(&self) -> Vec<(StatementRef, Problem)> {
        self.statements
            .iter()
            .enumerate()
            .filter_map(|(index, statement)| Some((StatementRef::of(index, statement), statement.problem()?)))
            .collect()
    }
}

impl Statement {
    /// The most serious problem of this statement, if it has one. A Deny never has one.
    pub fn problem(&self) -> Option<Problem> {
        if self.effect == Effect::Deny {
            return None;
        }
        if self.not_action.is_some() {
            return Some(Problem::AllowNotAction);
        }
        let actions = self.action.as_deref().unwrap_or_default();
        if actions.iter().any(|action| matches_every_action(action)) {
            return Some(Problem::EveryAction);
        }
        // An Allow with NotResource covers every resource but those listed.
        let resources = self.resource.as_deref().unwrap_or_default();
        let everywhere = self.not_resource.is_some() || resources.iter().any(|r| is_every_resource(r));
        let every_role = everywhere || resources.iter().any(|r| covers_every_role(r));
        if every_role && actions.iter().any(|action| action_matches(action, "iam:PassRole")) {
            return Some(Problem::PassRoleOnEveryRole);
        }
        let writes: Vec<String> = actions
            .iter()
            .filter(|action| !is_read_only(action) && !has_no_resource_level_permissions(action))
            .cloned()
            .collect();
        (everywhere && !writes.is_empty()).then_some(Problem::WriteOnEveryResource { actions: writes })
    }
}

/// Whether an action pattern (`s3:Get*`, `iam:Pass?ole`, `*`) matches an action, as IAM
/// compares them: case-insensitively, `*` for any run of characters, `?` for one.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    let (pattern, text) = (pattern.trim().as_bytes(), action.as_bytes());
    let (mut p, mut t) = (0, 0);
    // The last `*` seen and the text position it was tried at, to backtrack to.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c.eq_ignore_ascii_case(&text[t]) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    star = Some((star_p, star_t + 1));
                    p = star_p + 1;
                    t = star_t + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// `*` or `*:*`: every action of every service.
pub fn matches_every_action(pattern: &str) -> bool {
    matches!(pattern.trim(), "*" | "*:*")
}

/// Write actions IAM only grants on `*` (they support no resource-level permissions): allowing
/// them on every resource is the only way to allow them, so it is not over-privilege.
pub const WITHOUT_RESOURCE_LEVEL_PERMISSIONS: &[&str] =
    &["config:PutEvaluations", "cloudwatch:PutMetricData", "xray:PutTraceSegments", "xray:PutTelemetryRecords"];

/// Whether an exact action (no wildcard) is one of [`WITHOUT_RESOURCE_LEVEL_PERMISSIONS`].
pub fn has_no_resource_level_permissions(action: &str) -> bool {
    WITHOUT_RESOURCE_LEVEL_PERMISSIONS.iter().any(|listed| listed.eq_ignore_ascii_case(action.trim()))
}

/// Whether every action a pattern can match is read-only: its name (after `service:`) begins,
/// before any wildcard, with one of [`READ_ONLY_VERBS`].
pub fn is_read_only(pattern: &str) -> bool {
    let Some((_, name)) = pattern.trim().split_once(':') else {
        return false;
    };
    let literal = &name[..name.find(['*', '?']).unwrap_or(name.len())];
    READ_ONLY_VERBS.iter().any(|verb| {
        literal.len() >= verb.len()
            && literal.is_char_boundary(verb.len())
            && literal[..verb.len()].eq_ignore_ascii_case(verb)
    })
}

/// `*`, or an ARN pattern whose every part is `*` (`arn:*`, `arn:*:*:*:*:*`).
pub fn is_every_resource(resource: &str) -> bool {
    let resource = resource.trim();
    resource == "*"
        || resource.strip_prefix("arn:").is_some_and(|rest| rest.split(':').all(|part| part.is_empty() || part == "*"))
}

/// Every role of an account or more: `*`, `arn:…:iam::…:role/*`, `arn:…:iam::…:*`.
fn covers_every_role(resource: &str) -> bool {
    let resource = resource.trim();
    let Some([_, service, _, _, path]) = arn_parts(resource) else {
        return is_every_resource(resource);
    };
    matches!(service, "iam" | "*") && matches!(path, "*" | "role/*" | "role*")
}

/// `partition, service, region, account, resource` of an ARN.
fn arn_parts(arn: &str) -> Option<[&str; 5]> {
    let mut parts = arn.strip_prefix("arn:")?.splitn(5, ':');
    Some([parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?])
}

/// Whether `text` is a policy ARN: `arn:<partition>:iam::<account id or aws>:policy/<path/><name>`.
pub fn is_policy_arn(text: &str) -> bool {
    arn_parts(text.trim()).is_some_and(|[partition, service, region, account, resource]| {
        partition.starts_with("aws")
            && service == "iam"
            && region.is_empty()
            && !account.is_empty()
            && resource.strip_prefix("policy/").is_some_and(|path| !path.is_empty() && !path.ends_with('/'))
    })
}

/// The name of an AWS managed policy (`arn:<any partition>:iam::aws:policy/<path>/<name>`), or
/// `None` for any other ARN.
pub fn aws_managed_policy_name(arn: &str) -> Option<&str> {
    let arn = arn.trim();
    let [_, _, _, account, resource] = arn_parts(arn)?;
    if is_policy_arn(arn) && account == "aws" { resource.rsplit('/').next() } else { None }
}

/// How broad an AWS managed policy is, if it is one of the broad ones (see [`ManagedAccess`]).
pub fn broad_aws_managed_policy(arn: &str) -> Option<ManagedAccess> {
    let name = aws_managed_policy_name(arn)?;
    let job_function = arn.contains(":policy/job-function/");
    if name == "AdministratorAccess"
        || name.starts_with("AdministratorAccess-")
        || (job_function && name.ends_with("Administrator"))
    {
        Some(ManagedAccess::Administrator)
    } else if name == "PowerUserAccess" {
        Some(ManagedAccess::PowerUser)
    } else if name.contains("FullAccess") || name.ends_with("AdminAccess") {
        Some(ManagedAccess::FullServiceAccess)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case::exact("iam:PassRole", "iam:PassRole", true)]
    #[case::case_insensitive("IAM:passrole", "iam:PassRole", true)]
    #[case::service_wildcard("iam:*", "iam:PassRole", true)]
    #[case::prefix_wildcard("iam:Pass*", "iam:PassRole", true)]
    #[case::inner_wildcard("iam:*Role", "iam:PassRole", true)]
    #[case::single_character("iam:Pass?ole", "iam:PassRole", true)]
    #[case::everything("*", "iam:PassRole", true)]
    #[case::backtracking("s3:*Object*Acl", "s3:PutObjectVersionAcl", true)]
    #[case::other_service("s3:*", "iam:PassRole", false)]
    #[case::other_action("iam:Get*", "iam:PassRole", false)]
    #[case::too_short("iam:Pass", "iam:PassRole", false)]
    #[case::question_mark_needs_a_character("iam:PassRole?", "iam:PassRole", false)]
    fn action_patterns(#[case] pattern: &str, #[case] action: &str, #[case] expected: bool) {
        assert_eq!(action_matches(pattern, action), expected);
    }

    #[rstest]
    #[case::get("s3:GetObject", true)]
    #[case::lower_case("s3:getobject", true)]
    #[case::get_wildcard("s3:Get*", true)]
    #[case::get_inner_wildcard("s3:Get*Acl", true)]
    #[case::batch_get("dynamodb:BatchGetItem", true)]
    #[case::describe("ec2:Describe*", true)]
    #[case::list("s3:ListBucket", true)]
    #[case::query("dynamodb:Query", true)]
    #[case::put("s3:PutObject", false)]
    #[case::batch_write("dynamodb:BatchWriteItem", false)]
    #[case::service_wildcard("s3:*", false)]
    #[case::leading_wildcard("s3:*Object", false)]
    #[case::partial_verb_wildcard("s3:G*", false)]
    #[case::pass_role("iam:PassRole", false)]
    #[case::no_service("*", false)]
    fn read_only_actions(#[case] pattern: &str, #[case] expected: bool) {
        assert_eq!(is_read_only(pattern), expected);
    }

    #[rstest]
    #[case::star("*", true)]
    #[case::arn_star("arn:*", true)]
    #[case::all_parts("arn:*:*:*:*:*", true)]
    #[case::bucket("arn:aws:s3:::bucket/*", false)]
    #[case::every_bucket("arn:aws:s3:::*", false)]
    fn every_resource(#[case] resource: &str, #[case] expected: bool) {
        assert_eq!(is_every_resource(resource), expected);
    }

    #[rstest]
    #[case::aws_managed("arn:aws:iam::aws:policy/AdministratorAccess", true)]
    #[case::with_path("arn:aws-cn:iam::aws:policy/job-function/ViewOnlyAccess", true)]
    #[case::customer_managed("arn:aws:iam::123456789012:policy/ci", true)]
    #[case::name("AdministratorAccess", false)]
    #[case::role("arn:aws:iam::123456789012:role/ci", false)]
    #[case::no_name("arn:aws:iam::aws:policy/", false)]
    #[case::other_service("arn:aws:s3:::policy/ci", false)]
    fn policy_arns(#[case] text: &str, #[case] expected: bool) {
        assert_eq!(is_policy_arn(text), expected);
    }

    #[rstest]
    #[case::admin("arn:aws:iam::aws:policy/AdministratorAccess", Some(ManagedAccess::Administrator))]
    #[case::gov_cloud("arn:aws-us-gov:iam::aws:policy/AdministratorAccess", Some(ManagedAccess::Administrator))]
    #[case::china("arn:aws-cn:iam::aws:policy/PowerUserAccess", Some(ManagedAccess::PowerUser))]
    #[case::admin_variant("arn:aws:iam::aws:policy/AdministratorAccess-Amplify", Some(ManagedAccess::Administrator))]
    #[case::job_function(
        "arn:aws:iam::aws:policy/job-function/SystemAdministrator",
        Some(ManagedAccess::Administrator)
    )]
    #[case::job_function_read_only("arn:aws:iam::aws:policy/job-function/ViewOnlyAccess", None)]
    #[case::iam_full_access("arn:aws:iam::aws:policy/IAMFullAccess", Some(ManagedAccess::FullServiceAccess))]
    #[case::full_access_v2("arn:aws:iam::aws:policy/CloudWatchFullAccessV2", Some(ManagedAccess::FullServiceAccess))]
    #[case::service_admin("arn:aws:iam::aws:policy/AWSCodeBuildAdminAccess", Some(ManagedAccess::FullServiceAccess))]
    #[case::read_only("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", None)]
    #[case::customer_managed_with_the_name("arn:aws:iam::123456789012:policy/AdministratorAccess", None)]
    #[case::not_a_policy("arn:aws:iam::aws:role/AdministratorAccess", None)]
    fn aws_managed_policies(#[case] arn: &str, #[case] expected: Option<ManagedAccess>) {
        assert_eq!(broad_aws_managed_policy(arn), expected);
    }

    fn statement(json: &str) -> Statement {
        let document = PolicyDocument::parse(&format!(r#"{{"Statement": {json}}}"#)).unwrap();
        document.statements.into_iter().next().unwrap()
    }

    fn writes(actions: &[&str]) -> Problem {
        Problem::WriteOnEveryResource { actions: actions.iter().map(|a| (*a).to_owned()).collect() }
    }

    #[rstest]
    #[case::scoped_writes(
        r#"{"Effect":"Allow","Action":["s3:PutObject","s3:GetObject"],"Resource":"arn:aws:s3:::artifacts/*"}"#,
        None
    )]
    #[case::reads_everywhere(r#"{"Effect":"Allow","Action":["s3:Get*","ec2:Describe*"],"Resource":"*"}"#, None)]
    #[case::writes_only_grantable_on_everything(
        r#"{"Effect":"Allow","Action":["config:PutEvaluations","cloudwatch:PutMetricData"],"Resource":"*"}"#,
        None
    )]
    #[case::write_everywhere(
        r#"{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"*"}"#,
        Some(writes(&["s3:PutObject"]))
    )]
    #[case::service_wildcard_everywhere(
        r#"{"Effect":"Allow","Action":"s3:*","Resource":["*"]}"#,
        Some(writes(&["s3:*"]))
    )]
    #[case::not_resource(
        r#"{"Effect":"Allow","Action":"s3:DeleteObject","NotResource":"arn:aws:s3:::logs/*"}"#,
        Some(writes(&["s3:DeleteObject"]))
    )]
    #[case::every_action(r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#, Some(Problem::EveryAction))]
    #[case::every_action_scoped(
        r#"{"Effect":"Allow","Action":["*:*"],"Resource":"arn:aws:s3:::b"}"#,
        Some(Problem::EveryAction)
    )]
    #[case::not_action(r#"{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}"#, Some(Problem::AllowNotAction))]
    #[case::pass_role_everywhere(
        r#"{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"}"#,
        Some(Problem::PassRoleOnEveryRole)
    )]
    #[case::pass_role_on_every_role(
        r#"{"Effect":"Allow","Action":"iam:Pass*","Resource":"arn:aws:iam::123456789012:role/*"}"#,
        Some(Problem::PassRoleOnEveryRole)
    )]
    #[case::pass_role_scoped(
        r#"{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::123456789012:role/deployer"}"#,
        None
    )]
    #[case::deny_everything(r#"{"Effect":"Deny","Action":"*","Resource":"*"}"#, None)]
    #[case::deny_not_action(r#"{"Effect":"Deny","NotAction":"s3:GetObject","Resource":"*"}"#, None)]
    fn statements(#[case] json: &str, #[case] expected: Option<Problem>) {
        assert_eq!(statement(json).problem(), expected);
    }

    fn inline(name: &str, json: &str) -> Policy {
        Policy { id: PolicyId::Inline(name.to_owned()), document: Some(PolicyDocument::parse(json)) }
    }

    #[test]
    fn findings_name_the_policy_and_the_statement() {
        let policies = [
            Policy {
                id: PolicyId::AwsManaged("arn:aws:iam::aws:policy/AdministratorAccess".to_owned()),
                document: None,
            },
            inline(
                "deploy",
                r#"{"Statement":[{"Effect":"Allow","Action":"logs:PutLogEvents","Resource":"*"},
                                 {"Sid":"Artifacts","Effect":"Allow","Action":"s3:PutObject","Resource":"*"}]}"#,
            ),
            inline("legacy", r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#),
        ];
        let text: Vec<String> = findings(&policies, &[]).iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "AWS managed policy `arn:aws:iam::aws:policy/AdministratorAccess` grants administrator access",
                "inline policy `deploy` Statement[0] allows write actions on every resource: logs:PutLogEvents",
                "inline policy `deploy` statement `Artifacts` allows write actions on every resource: s3:PutObject",
                "inline policy `legacy` Statement[0] allows every action (`*`)",
            ]
        );
    }

    #[test]
    fn allowed_policies_are_never_reported() {
        let arn = "arn:aws:iam::123456789012:policy/break-glass";
        let policies = [
            Policy {
                id: PolicyId::CustomerManaged(arn.to_owned()),
                document: Some(PolicyDocument::parse(
                    r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
                )),
            },
            Policy { id: PolicyId::AwsManaged("arn:aws:iam::aws:policy/PowerUserAccess".to_owned()), document: None },
        ];
        let allowed = [arn.to_owned(), "arn:aws:iam::aws:policy/PowerUserAccess".to_owned()];
        assert_eq!(findings(&policies, &allowed), []);
        assert_eq!(findings(&policies, &allowed[..1]).len(), 1);
    }

    #[test]
    fn an_unreadable_document_is_a_finding() {
        let found = inline("broken", "%7Bnot json").findings();
        assert_eq!(found.len(), 1);
        assert!(found[0].to_string().starts_with("inline policy `broken` cannot be analysed"), "{}", found[0]);
    }
}
