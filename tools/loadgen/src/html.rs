//! The report as one self-contained HTML page: a summary table, the operations table, and two
//! inline SVG line charts over the run (round-trip p99 and server tick p99, one point a second,
//! the tick budget drawn as a dashed line). No script, no external resource.

use std::fmt::Write;

use crate::report::{Report, maybe};

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
const MARGIN: f64 = 40.0;

/// The page for `report`.
pub fn render(report: &Report) -> String {
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>loadgen: {scenario}</title>\n\
         <style>body{{font-family:sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}}th{{background:#f4f4f4}}\
         svg{{background:#fcfcfc;border:1px solid #ddd}}</style></head><body>\n\
         <h1>loadgen: {scenario}, {clients} clients, {duration:.0} s</h1>\n",
        scenario = escape(&report.scenario),
        clients = report.clients,
        duration = report.duration_s
    );
    let summary = [
        ("connections", report.connections.to_string()),
        ("connect failures", report.connect_failures.to_string()),
        ("errors", report.errors.to_string()),
        ("refusals", report.refusals.to_string()),
        ("replies / s", format!("{:.1}", report.replies_per_s)),
        (
            "rtt p50 / p90 / p99 / p99.9",
            format!(
                "{:.2} / {:.2} / {:.2} / {:.2} ms",
                report.rtt_ms_p50, report.rtt_ms_p90, report.rtt_ms_p99, report.rtt_ms_p999
            ),
        ),
        ("snapshots / s", format!("{:.1}", report.snapshots_per_s)),
        ("snapshots not decoded", report.snapshot_errors.to_string()),
        ("shots acted", report.acted.to_string()),
        ("economy acknowledgements", report.economy_acks.to_string()),
        (
            "durable transfers / s",
            format!("{:.1}", report.durable_transfers_per_s),
        ),
        ("server tick p99", maybe(report.server_tick_ms_p99, " ms")),
        ("tick thread CPU p99", maybe(report.server_tick_cpu_ms_p99, " ms")),
        ("tick budget", maybe(report.server_tick_budget_ms, " ms")),
        ("server CPU", maybe(report.server_cpu_percent, " %")),
        ("server RSS", maybe(report.server_rss_mb, " MiB")),
    ];
    page.push_str("<table>\n");
    for (name, value) in summary {
        let _ = writeln!(page, "<tr><th>{name}</th><td>{}</td></tr>", escape(&value));
    }
    page.push_str("</table>\n<h2>Operations</h2>\n<table><tr><th>operation</th><th>count</th><th>per s</th>\
                   <th>refused</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th></tr>\n");
    for (name, op) in &report.operations {
        let _ = writeln!(
            page,
            "<tr><th>{name}</th><td>{}</td><td>{:.1}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td>\
             <td>{:.2}</td><td>{:.2}</td></tr>",
            op.count,
            op.per_s,
            op.refused,
            op.rtt_ms_p50,
            op.rtt_ms_p90,
            op.rtt_ms_p99,
            op.rtt_ms_p999,
            op.rtt_ms_max
        );
    }
    page.push_str("</table>\n");
    if !report.refusals_by_code.is_empty() || !report.errors_by_kind.is_empty() {
        page.push_str("<h2>Refusals and errors</h2>\n<table>\n");
        for (code, refusal) in &report.refusals_by_code {
            let _ = writeln!(
                page,
                "<tr><th>refused {code}</th><td>{}</td><td>{}</td></tr>",
                escape(&refusal.message),
                refusal.count
            );
        }
        for (kind, count) in &report.errors_by_kind {
            let _ = writeln!(
                page,
                "<tr><th>error</th><td>{}</td><td>{count}</td></tr>",
                escape(kind)
            );
        }
        page.push_str("</table>\n");
    }
    let points = |value: fn(&crate::report::Sample) -> Option<f64>| -> Vec<(f64, f64)> {
        report
            .timeline
            .iter()
            .filter_map(|s| value(s).map(|v| (s.t_s, v)))
            .collect()
    };
    page.push_str("<h2>Round trip p99 per second (ms)</h2>\n");
    page.push_str(&chart(
        &points(|s| s.rtt_ms_p99),
        None,
        "#1f77b4",
        report.duration_s,
    ));
    page.push_str("<h2>Server tick p99 per second (ms)</h2>\n");
    page.push_str(&chart(
        &points(|s| s.tick_ms_p99),
        report.server_tick_budget_ms,
        "#d62728",
        report.duration_s,
    ));
    page.push_str("\n</body></html>\n");
    page
}

/// A line chart of `points` (seconds, value) as an SVG element, with an optional dashed
/// reference line at `limit`.
fn chart(points: &[(f64, f64)], limit: Option<f64>, colour: &str, duration_s: f64) -> String {
    let top = points
        .iter()
        .map(|p| p.1)
        .chain(limit)
        .fold(0.0f64, f64::max)
        .max(1e-3)
        * 1.1;
    let span = duration_s.max(1.0);
    let x = |t: f64| MARGIN + (t / span) * (WIDTH - 2.0 * MARGIN);
    let y = |v: f64| HEIGHT - MARGIN + -(v / top) * (HEIGHT - 2.0 * MARGIN);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\">\n"
    );
    let _ = writeln!(
        svg,
        "<line x1=\"{m}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#888\"/><line x1=\"{m}\" y1=\"{m}\" x2=\"{m}\" y2=\"{b}\" stroke=\"#888\"/>",
        m = MARGIN,
        b = HEIGHT - MARGIN,
        r = WIDTH - MARGIN
    );
    let _ = writeln!(
        svg,
        "<text x=\"4\" y=\"{}\" font-size=\"11\">{top:.2}</text><text x=\"4\" y=\"{}\" font-size=\"11\">0</text>\
         <text x=\"{}\" y=\"{}\" font-size=\"11\">{span:.0} s</text>",
        MARGIN,
        HEIGHT - MARGIN,
        WIDTH - MARGIN - 20.0,
        HEIGHT - MARGIN + 16.0
    );
    if let Some(limit) = limit {
        let _ = writeln!(
            svg,
            "<line x1=\"{}\" y1=\"{ly:.1}\" x2=\"{}\" y2=\"{ly:.1}\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\
             <text x=\"{}\" y=\"{:.1}\" font-size=\"11\">budget {limit:.2}</text>",
            MARGIN,
            WIDTH - MARGIN,
            WIDTH - MARGIN - 80.0,
            y(limit) - 4.0,
            ly = y(limit)
        );
    }
    if points.is_empty() {
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" font-size=\"13\">no samples</text>",
            WIDTH / 2.0 - 30.0,
            HEIGHT / 2.0
        );
    } else {
        let path: Vec<String> = points
            .iter()
            .map(|&(t, v)| format!("{:.1},{:.1}", x(t), y(v)))
            .collect();
        let _ = writeln!(
            svg,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>",
            path.join(" ")
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// `text` safe inside HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_draw_points_and_the_budget() {
        let svg = chart(&[(0.0, 1.0), (1.0, 2.0)], Some(16.6), "#000", 2.0);
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("polyline") && svg.contains("budget 16.60"));
        assert!(chart(&[], None, "#000", 1.0).contains("no samples"));
        assert_eq!(escape("<a&b>"), "&lt;a&amp;b&gt;");
    }

    #[test]
    fn the_page_shows_snapshots_that_did_not_decode() {
        let report = crate::report::tests::report(4, Some(2.0), |stats| {
            stats.snapshot_error(&necpsim::client::ReceiveError::MissingBaseline {
                seq: 9,
                baseline_seq: 4,
            });
        });
        let page = render(&report);
        assert!(
            page.contains("<tr><th>snapshots not decoded</th><td>1</td></tr>"),
            "{page}"
        );
        assert!(
            page.contains("<tr><th>error</th><td>snapshot missing baseline</td><td>1</td></tr>"),
            "{page}"
        );
    }
}
