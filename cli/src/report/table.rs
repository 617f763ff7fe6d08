//! `--format table`: the score, the pipelines' grades and the findings, most severe first.

use std::fmt::Write as _;

use comfy_table::{ContentArrangement, Table, presets};
use pipesec_engine::Compliance;

use super::{Options, Report, place, resource_label};
use crate::runner::Finding;
use crate::score::{Area, Score};

/// Columns when the terminal's width is unknown (`COLUMNS` overrides).
const DEFAULT_WIDTH: u16 = 140;

fn table(header: &[&str]) -> Table {
    let width = std::env::var("COLUMNS").ok().and_then(|columns| columns.parse().ok()).unwrap_or(DEFAULT_WIDTH);
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(width)
        .set_header(header.to_vec());
    table
}

fn percent(score: Option<f64>) -> String {
    score.map_or_else(|| "—".to_owned(), |score| format!("{score:.0}"))
}

fn grade(score: &Score) -> String {
    score.grade.map_or_else(|| "—".to_owned(), String::from)
}

fn resource(finding: &Finding, spans_accounts: bool) -> String {
    // The name, then the id on a line of its own where it differs (a project's UUID is long).
    let mut text = resource_label(finding).replacen(" (", "\n(", 1);
    if spans_accounts {
        text = format!("{}\n{text}", place(finding.account_id.as_deref(), finding.region.as_deref()));
    }
    if let Some(location) = &finding.location {
        match (&location.property, location.line) {
            (Some(property), Some(line)) => write!(text, "\n{}:{line} {property}", location.file),
            (Some(property), None) => write!(text, "\n{} {property}", location.file),
            _ => write!(text, "\n{}", location.file),
        }
        .unwrap_or_default();
        if let Some(action) = &location.action {
            write!(text, " (plan: {action})").unwrap_or_default();
        }
    }
    text
}

pub fn render(report: &Report, options: &Options) -> String {
    let mut out = String::new();
    let overall = &report.overall;
    let spans = report.spans_accounts();
    let resources: std::collections::BTreeSet<(&str, &str)> =
        report.findings.iter().map(|f| (f.resource_type.as_str(), f.resource_id.as_str())).collect();
    let _ = writeln!(
        out,
        "pipesec: {} checks of {} resources: {} NON_COMPLIANT, {} COMPLIANT, {} NOT_APPLICABLE",
        report.findings.len(),
        resources.len(),
        report.count(Compliance::NonCompliant),
        report.count(Compliance::Compliant),
        report.count(Compliance::NotApplicable),
    );
    if !report.unseen.is_empty() {
        let _ = writeln!(out, "NOT SEEN, nothing of these was evaluated (the run cannot pass):");
        for unseen in &report.unseen {
            let _ = writeln!(out, "  {unseen}");
        }
    }
    let areas: Vec<String> =
        Area::ALL.iter().map(|area| format!("{} {}", area.title(), percent(overall.areas[area]))).collect();
    let _ = writeln!(out, "Score {} / 100, grade {} ({})\n", percent(overall.score), grade(overall), areas.join(", "));

    if !report.pipelines.is_empty() {
        let mut header =
            vec!["pipeline", "grade", "score", "infra", "access", "integrity", "monitoring", "findings", "resources"];
        if spans {
            header.insert(0, "account region");
        }
        let mut pipelines = table(&header);
        for group in &report.pipelines {
            let mut row = vec![group.name.clone(), grade(&group.score), percent(group.score.score)];
            if spans {
                row.insert(0, place(group.pipeline.account_id.as_deref(), group.pipeline.region.as_deref()));
            }
            row.extend(Area::ALL.iter().map(|area| percent(group.score.areas[area])));
            row.push(group.score.failed.to_string());
            row.push(group.members.len().to_string());
            pipelines.add_row(row);
        }
        let _ = writeln!(out, "Pipelines\n{pipelines}\n");
    }

    let failures = report.failures();
    if report.findings.is_empty() {
        // "No findings" would read as a clean account: say that nothing was looked at.
        let _ = writeln!(out, "Nothing was evaluated: no resource of the types the rules evaluate was found.");
    } else if failures.is_empty() && !report.unseen.is_empty() {
        let _ = writeln!(out, "No findings among the resources that could be seen; some types were not seen (above).");
    } else if failures.is_empty() {
        let _ = writeln!(out, "No findings.");
    } else {
        let mut findings = table(&["severity", "rule", "resource", "finding"]);
        for finding in &failures {
            findings.add_row(vec![
                finding.severity.as_str().to_owned(),
                finding.rule.to_owned(),
                resource(finding, spans),
                finding.annotation.clone().unwrap_or_default(),
            ]);
        }
        let _ = writeln!(out, "Findings, most severe first\n{findings}");
    }
    if options.all {
        let mut all = table(&["rule", "resource", "compliance", "annotation"]);
        for finding in &report.findings {
            all.add_row(vec![
                finding.rule.to_owned(),
                resource(finding, spans),
                finding.compliance.as_str().to_owned(),
                finding.annotation.clone().unwrap_or_default(),
            ]);
        }
        let _ = writeln!(out, "\nEvery result\n{all}");
    } else if report.count(Compliance::NotApplicable) > 0 {
        let _ = writeln!(
            out,
            "\n{} NOT_APPLICABLE results not shown (--all lists them).",
            report.count(Compliance::NotApplicable)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Unseen;
    use crate::report::tests::sample;

    #[test]
    fn the_table_shows_score_pipelines_and_findings_most_severe_first() {
        let text = render(&sample(), &Options::default());
        assert!(text.contains("5 checks of 3 resources: 3 NON_COMPLIANT"), "{text}");
        assert!(text.contains("Score "), "{text}");
        assert!(text.contains("release"), "{text}");
        let critical = text.find("CRITICAL").unwrap();
        let high = text.find("HIGH").unwrap();
        assert!(critical < high, "{text}");
        assert!(text.contains("templates/build.yaml:12") && text.contains("Properties.EncryptionKey"), "{text}");
        assert!(text.contains("1 NOT_APPLICABLE results not shown"), "{text}");
        let payments = text.lines().position(|line| line.contains("┆ payments ")).expect("the name");
        let id = text.lines().nth(payments + 1).unwrap();
        assert!(id.contains("┆ (0e6c4a1d-5b7f-4c2e-9a8d-3f1b2c4d5e6f) "), "the id below, where it differs: {text}");
        let all = render(&sample(), &Options { all: true, ..Options::default() });
        assert!(all.contains("needs live reads") && all.contains("COMPLIANT"), "{all}");
    }

    #[test]
    fn no_findings_is_said_only_of_what_was_looked_at() {
        let mut clean = sample();
        clean.findings.retain(|finding| !finding.is_failure());
        assert!(render(&clean, &Options::default()).contains("No findings."));

        let mut blind = clean.clone();
        blind.unseen.push(Unseen {
            region: "us-east-1".into(),
            resource_type: "AWS::CodeBuild::Project".into(),
            reason: "AWS Config's configuration recorder `default` does not record it".into(),
        });
        let text = render(&blind, &Options::default());
        assert!(!text.contains("No findings."), "{text}");
        assert!(
            text.contains("NOT SEEN") && text.contains("AWS::CodeBuild::Project in us-east-1: AWS Config's"),
            "{text}"
        );

        blind.findings.clear();
        let text = render(&blind, &Options::default());
        assert!(text.contains("0 checks of 0 resources") && text.contains("Nothing was evaluated"), "{text}");
        assert!(!text.contains("No findings"), "{text}");
    }
}
