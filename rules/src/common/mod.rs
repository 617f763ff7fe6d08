//! The building blocks rules share: parameter types, exemptions, KMS keys, the secret detector, the
//! rotation of referenced secrets, event patterns, business hours, CloudTrail lookups, pipeline
//! structure and the live CodeBuild read. Rules use these and never each other (a test checks), so
//! changing one rule changes no other.

pub mod anomaly;
pub mod business_hours;
pub mod cloudtrail;
pub mod codebuild_live;
pub mod event_pattern;
pub mod exemptions;
pub mod kms;
pub mod params;
pub mod pipeline;
pub mod secret_rotation;
pub mod secrets;
