//! Typed views of the resources pipesec evaluates, read from a configuration item's
//! `configuration`. Each accepts the shapes real items take (see the field comments); the
//! template scanner and the CLI map their inputs onto the same views.

pub mod codebuild;
pub mod codepipeline;

pub use codebuild::{CodeBuildProject, CodeBuildReportGroup};
pub use codepipeline::PipelineConfiguration;
