//! IAM policy analysis: is a role over-privileged for a build or a pipeline?
//!
//! [`Roles::read`] gathers what IAM holds for a set of roles (each distinct role and each
//! distinct customer managed policy read once); [`Role::findings`] and the functions under it
//! decide, purely, over parsed [`PolicyDocument`]s.
//!
//! A role is over-privileged when it holds:
//! - an AWS managed policy (any partition) granting administrator access (`AdministratorAccess`
//!   and its variants, `job-function/…Administrator`), `PowerUserAccess`, or full access to a
//!   service (`…FullAccess…`, `…AdminAccess`: `IAMFullAccess`, `AmazonS3FullAccess`, …);
//! - an Allow statement with `NotAction`;
//! - an Allow statement with the action `*`, whatever its resources;
//! - an Allow statement with `iam:PassRole` (also through `iam:Pass*`, `iam:*`) on every role;
//! - an Allow statement with a write action on every resource (`*`, or any `NotResource`).
//!   Write means "not read-only": an action is read-only when its name begins with one of
//!   [`READ_ONLY_VERBS`]; wildcards count as write unless every match is read-only.
//!
//! Deliberate limits, to keep the analysis simple and predictable:
//! - A Deny statement never makes a role over-privileged, and is not subtracted from the Allow
//!   statements either: an Allow of `*` is reported even if a Deny takes most of it back.
//! - `Condition` elements are ignored: a conditional Allow is judged as if unconditional.
//! - AWS managed policies are judged by name only; their documents are not read. A narrow AWS
//!   managed policy never makes a role over-privileged.
//! - Permissions boundaries, session policies, SCPs and resource-based policies are not read.
//! - Sensitive reads on every resource (`secretsmanager:GetSecretValue` on `*`) are reads, and
//!   not reported.
//! - A document that cannot be parsed is reported: it cannot be shown to be least-privilege.

mod analysis;
mod document;
mod read;

pub use analysis::{
    Finding, ManagedAccess, Policy, PolicyId, Problem, READ_ONLY_VERBS, StatementRef, action_matches,
    aws_managed_policy_name, broad_aws_managed_policy, findings, is_every_resource, is_policy_arn, is_read_only,
    matches_every_action,
};
pub use document::{DocumentError, Effect, PolicyDocument, Statement};
pub use read::{IamReads, READ_ACTIONS, Role, RoleFacts, Roles, role_name};
