//! `--format html`: one self-contained page (inline CSS, no script, no external asset): the
//! overall grade and areas, each pipeline's grade with its failing checks grouped by resource
//! (the pipeline, its projects, its roles) and the remediation text, then what is not part of a
//! pipeline, then every result.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use pipesec_engine::Compliance;

use super::{Report, SEC11_BP07, SEC11_BP07_URL, place, resource_label, title};
use crate::runner::Finding;
use crate::score::{Area, Score};

const STYLE: &str = r"
:root { --ink:#1d2330; --muted:#5b6475; --line:#dde2ea; --bg:#f5f7fa; --card:#fff;
  --A:#1f8a4c; --B:#5c9d2f; --C:#c29100; --D:#d4661c; --F:#c0392b;
  --CRITICAL:#8e1b1b; --HIGH:#c0392b; --MEDIUM:#d4661c; --LOW:#7a8594; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif; color:var(--ink); background:var(--bg); }
main { max-width:1100px; margin:0 auto; padding:24px; }
h1 { font-size:26px; margin:0 0 4px; } h2 { font-size:20px; margin:32px 0 12px; } h3 { font-size:16px; margin:18px 0 8px; }
.muted { color:var(--muted); } code { font:13px ui-monospace,SFMono-Regular,Menlo,monospace; }
.summary, .card { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:18px 20px; margin:12px 0; }
.summary { display:flex; gap:28px; align-items:center; flex-wrap:wrap; }
.grade { display:inline-flex; width:64px; height:64px; border-radius:50%; color:#fff; font-size:34px; font-weight:700;
  align-items:center; justify-content:center; flex:none; }
.grade.small { width:40px; height:40px; font-size:22px; }
.grade.A { background:var(--A); } .grade.B { background:var(--B); } .grade.C { background:var(--C); }
.grade.D { background:var(--D); } .grade.F { background:var(--F); } .grade.none { background:var(--LOW); }
.areas { display:grid; grid-template-columns:190px 220px 48px; gap:4px 10px; align-items:center; font-size:14px; }
.bar { height:10px; background:var(--line); border-radius:5px; overflow:hidden; }
.bar span { display:block; height:100%; background:var(--A); }
.card header { display:flex; gap:14px; align-items:center; }
.card header h2 { margin:0; }
.resource { border-top:1px solid var(--line); margin-top:12px; padding-top:8px; }
.check { margin:8px 0 12px; padding-left:12px; border-left:4px solid var(--line); }
.check.CRITICAL { border-color:var(--CRITICAL); } .check.HIGH { border-color:var(--HIGH); }
.check.MEDIUM { border-color:var(--MEDIUM); } .check.LOW { border-color:var(--LOW); }
.sev { display:inline-block; min-width:74px; text-align:center; font-size:11px; font-weight:700; color:#fff; border-radius:4px; padding:1px 6px; margin-right:6px; }
.sev.CRITICAL { background:var(--CRITICAL); } .sev.HIGH { background:var(--HIGH); } .sev.MEDIUM { background:var(--MEDIUM); } .sev.LOW { background:var(--LOW); }
.fix { color:var(--muted); font-size:14px; } .fix b { color:var(--ink); font-weight:600; }
.clean { color:var(--A); font-weight:600; }
table { border-collapse:collapse; width:100%; font-size:13px; background:var(--card); }
th, td { text-align:left; border-bottom:1px solid var(--line); padding:6px 8px; vertical-align:top; }
td.COMPLIANT { color:var(--A); } td.NON_COMPLIANT { color:var(--F); font-weight:600; } td.NOT_APPLICABLE { color:var(--muted); }
details summary { cursor:pointer; font-weight:600; margin:24px 0 8px; }
";

/// Text for HTML: `&`, `<`, `>`, quotes escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn grade_badge(score: &Score, small: bool) -> String {
    let (class, letter) = score.grade.map_or(("none".to_owned(), "–".to_owned()), |g| (g.to_string(), g.to_string()));
    format!("<span class=\"grade {class}{}\">{letter}</span>", if small { " small" } else { "" })
}

fn areas(score: &Score) -> String {
    let mut out = String::from("<div class=\"areas\">");
    for area in Area::ALL {
        let value = score.areas[&area];
        let width = value.unwrap_or(0.0);
        let text = value.map_or_else(|| "—".to_owned(), |value| format!("{value:.0}"));
        let _ = write!(
            out,
            "<span>{} <span class=\"muted\">({}%)</span></span><div class=\"bar\"><span style=\"width:{width:.0}%\"></span></div><span>{text}</span>",
            escape(area.title()),
            area.weight()
        );
    }
    out.push_str("</div>");
    out
}

fn check(report: &Report, finding: &Finding) -> String {
    let remediation = report.rule(finding.rule).map_or("", |rule| rule.remediation);
    let location = finding.location.as_ref().map_or_else(String::new, |location| {
        let line = location.line.map_or_else(String::new, |line| format!(":{line}"));
        let property = location.property.as_deref().map_or_else(String::new, |p| format!(" {}", escape(p)));
        let action = location.action.as_deref().map_or_else(String::new, |a| format!(" (plan: {})", escape(a)));
        let property = property + &action;
        format!(" <span class=\"muted\"><code>{}{line}</code>{property}</span>", escape(&location.file))
    });
    format!(
        "<div class=\"check {sev}\"><div><span class=\"sev {sev}\">{sev}</span><b>{title}</b> <code class=\"muted\">{id}</code>{location}</div>\
         <div>{annotation}</div><div class=\"fix\"><b>Fix:</b> {remediation}</div></div>",
        sev = finding.severity.as_str(),
        title = escape(&title(finding.rule)),
        id = escape(finding.rule),
        annotation = escape(finding.annotation.as_deref().unwrap_or("")),
        remediation = escape(remediation),
    )
}

/// A resource's name, and its id where that is something else (muted).
fn resource_name(finding: &Finding) -> String {
    let name = finding.display_name();
    if name == finding.resource_id {
        escape(name)
    } else {
        format!("{} <span class=\"muted\"><code>{}</code></span>", escape(name), escape(&finding.resource_id))
    }
}

/// Failing checks grouped by resource, most severe first within each.
fn grouped(report: &Report, failures: &[&Finding]) -> String {
    // By account, region, type and id (two resources may share a name), shown by name.
    let spans = report.spans_accounts();
    let mut by_resource: BTreeMap<(String, String, String), Vec<&Finding>> = BTreeMap::new();
    for finding in failures {
        let at = place(finding.account_id.as_deref(), finding.region.as_deref());
        by_resource.entry((finding.resource_type.clone(), resource_label(finding), at)).or_default().push(finding);
    }
    // The resource with the most severe finding first.
    let mut resources: Vec<_> = by_resource.into_iter().collect();
    resources.sort_by_key(|(_, findings)| std::cmp::Reverse(findings.iter().map(|f| f.severity).max()));
    let mut out = String::new();
    for ((resource_type, _, at), findings) in &resources {
        let shown_at = if spans { format!(" · {}", escape(at)) } else { String::new() };
        let _ = write!(
            out,
            "<div class=\"resource\"><h3>{} <span class=\"muted\">{}{shown_at}</span></h3>",
            resource_name(findings[0]),
            escape(resource_type)
        );
        for finding in findings {
            out.push_str(&check(report, finding));
        }
        out.push_str("</div>");
    }
    out
}

pub fn render(report: &Report) -> String {
    let failures = report.failures();
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>pipesec report</title><style>{STYLE}</style></head><body><main>"
    );
    let _ = write!(
        out,
        "<h1>Pipeline security report</h1><p class=\"muted\">pipesec {} — {} checks against <a href=\"{SEC11_BP07_URL}\">{SEC11_BP07}</a>, \
         Regularly assess security properties of the pipelines.</p>",
        escape(report.command),
        report.findings.len()
    );
    let _ = write!(
        out,
        "<section class=\"summary\">{}<div><div style=\"font-size:22px;font-weight:700\">Overall score {}</div>\
         <div>{} failing, {} passing, {} not applicable</div></div>{}</section>",
        grade_badge(&report.overall, false),
        report.overall.score.map_or_else(|| "—".to_owned(), |score| format!("{score:.0} / 100")),
        report.count(Compliance::NonCompliant),
        report.count(Compliance::Compliant),
        report.count(Compliance::NotApplicable),
        areas(&report.overall),
    );

    if !report.unseen.is_empty() {
        out.push_str(
            "<section class=\"card\"><h2>Not seen</h2><p>Nothing of these was evaluated, so the run cannot pass:</p><ul>",
        );
        for unseen in &report.unseen {
            let _ = write!(out, "<li>{}</li>", escape(&unseen.to_string()));
        }
        out.push_str("</ul></section>");
    }
    if !report.pipelines.is_empty() {
        out.push_str("<h2>Pipelines</h2>");
    }
    for group in &report.pipelines {
        let mine: Vec<&Finding> = failures.iter().copied().filter(|finding| group.contains(finding)).collect();
        let at = if report.spans_accounts() {
            format!("{} · ", escape(&place(group.pipeline.account_id.as_deref(), group.pipeline.region.as_deref())))
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "<section class=\"card\"><header>{}<div><h2>{}</h2><div class=\"muted\">{at}score {} · {} resources · {} failing checks</div></div></header>{}",
            grade_badge(&group.score, true),
            escape(&group.name),
            group.score.score.map_or_else(|| "—".to_owned(), |score| format!("{score:.0}")),
            group.members.len(),
            mine.len(),
            areas(&group.score),
        );
        if mine.is_empty() {
            out.push_str("<p class=\"clean\">No failing checks.</p>");
        } else {
            out.push_str(&grouped(report, &mine));
        }
        out.push_str("</section>");
    }

    let outside: Vec<&Finding> = failures
        .iter()
        .copied()
        .filter(|finding| !report.pipelines.iter().any(|group| group.contains(finding)))
        .collect();
    if !outside.is_empty() {
        let heading = if report.pipelines.is_empty() { "Failing checks" } else { "Not part of a pipeline" };
        let _ = write!(out, "<h2>{heading}</h2><section class=\"card\">{}</section>", grouped(report, &outside));
    } else if report.findings.is_empty() {
        out.push_str("<p>Nothing was evaluated: no resource of the types the rules evaluate was found.</p>");
    } else if failures.is_empty() && report.unseen.is_empty() {
        out.push_str("<p class=\"clean\">No failing checks.</p>");
    } else if failures.is_empty() {
        out.push_str("<p>No failing checks among the resources that could be seen.</p>");
    }

    out.push_str("<details><summary>Every result</summary><table><thead><tr><th>rule</th><th>resource</th><th>compliance</th><th>annotation</th></tr></thead><tbody>");
    for finding in &report.findings {
        let _ = write!(
            out,
            "<tr><td><code>{}</code></td><td>{}<div class=\"muted\">{}</div></td><td class=\"{c}\">{c}</td><td>{}</td></tr>",
            escape(finding.rule),
            resource_name(finding),
            escape(&finding.resource_type),
            escape(finding.annotation.as_deref().unwrap_or("")),
            c = finding.compliance.as_str(),
        );
    }
    out.push_str("</tbody></table></details></main></body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample;

    #[test]
    fn the_page_is_self_contained_and_escaped() {
        let page = render(&sample());
        assert!(page.starts_with("<!DOCTYPE html>") && page.trim_end().ends_with("</html>"));
        for external in ["<script", "<link", "src=", "@import", "url("] {
            assert!(!page.contains(external), "{external}");
        }
        assert!(page.contains("&lt;script&gt;"), "annotations are escaped");
        assert!(!page.contains("<script>"));
    }

    #[test]
    fn pipelines_show_their_grade_and_failing_checks_with_remediation() {
        let page = render(&sample());
        let release = page.find("<h2>release</h2>").expect("the pipeline's card");
        let outside = page.find("Not part of a pipeline").expect("the rest");
        let privileged = page.find("CodeBuild project privileged mode disabled").unwrap();
        assert!(release < privileged && privileged < outside, "the privileged project belongs to the release pipeline");
        assert!(page.contains("grade F small"));
        let secrets_fix = report_remediation("codebuild-project-no-plaintext-secrets");
        assert!(page.contains(&escape(&secrets_fix)));
        let critical = page[outside..].find("CRITICAL").unwrap();
        let low = page[outside..].find("sev LOW").unwrap();
        assert!(critical < low, "critical findings first");
    }

    #[test]
    fn resources_show_their_name_and_the_id_where_it_differs() {
        let page = render(&sample());
        let heading = "<h3>payments <span class=\"muted\"><code>0e6c4a1d-5b7f-4c2e-9a8d-3f1b2c4d5e6f</code></span>";
        assert!(page.contains(heading), "{page}");
        assert!(
            page.contains("<h3>images <span class=\"muted\">AWS::CodeBuild::Project</span></h3>"),
            "no id repeated"
        );
        assert_eq!(
            page.matches("0e6c4a1d-5b7f-4c2e-9a8d-3f1b2c4d5e6f").count(),
            2,
            "the card and the table of every result"
        );
    }

    fn report_remediation(id: &str) -> String {
        pipesec_rules::catalog().into_iter().find(|rule| rule.id == id).unwrap().remediation.to_owned()
    }
}
