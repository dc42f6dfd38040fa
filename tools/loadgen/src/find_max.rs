//! `--find-max`: runs short phases with more and more bots (×`factor` each time) until the
//! server's tick p99 leaves its budget (1000 / the tick rate of the Welcome, in ms) or cannot be
//! measured, or failures appear, and reports the largest count that held. It needs the server's
//! `/metrics` to judge a phase, so it refuses to start without. Each phase uses fresh player ids,
//! so that no bot meets its predecessor's still-closing connection.

use std::time::Duration;

use serde::Serialize;

use crate::report::Report;
use crate::{LoadgenError, RunOptions, run};

/// Pause between phases, so the server sees the last phase's bots leave.
const SETTLE: Duration = Duration::from_secs(2);

/// How to search.
#[derive(Debug, Clone, Copy)]
pub struct FindMaxOptions {
    /// Bots in the first phase.
    pub start: u32,
    /// Each next phase has this many times more bots (at least one more).
    pub factor: f64,
    /// Length of one phase.
    pub phase: Duration,
    /// Stop after a phase of at least this many bots.
    pub limit: u32,
}

/// One phase of the search.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Phase {
    /// Bots.
    pub clients: u32,
    /// Whether the server held: every bot connected, no errors (snapshots that did not decode
    /// included), tick p99 measured and within budget.
    pub held: bool,
    /// Why not, when it did not.
    pub reason: Option<String>,
    /// The phase's report.
    pub report: Report,
}

/// What the search found.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FindMaxReport {
    /// The largest bot count that held, if any did.
    pub max_clients_held: Option<u32>,
    /// The tick budget, milliseconds.
    pub tick_budget_ms: Option<f64>,
    /// Every phase, in order.
    pub phases: Vec<Phase>,
}

/// Why `report` does not hold, if it does not: every reason, separated by "; ".
pub fn verdict(report: &Report) -> Option<String> {
    let mut reasons = Vec::new();
    if report.connections < u64::from(report.clients) {
        reasons.push(format!(
            "{} of {} bots connected",
            report.connections, report.clients
        ));
    }
    if report.errors > 0 {
        let kinds: Vec<String> = report
            .errors_by_kind
            .iter()
            .map(|(kind, count)| format!("{kind} {count}"))
            .collect();
        reasons.push(format!("{} errors ({})", report.errors, kinds.join(", ")));
    }
    match (report.server_tick_ms_p99, report.server_tick_budget_ms) {
        (Some(p99), Some(budget)) if p99 > budget => {
            reasons.push(format!("tick p99 {p99:.2} ms over the {budget:.2} ms budget"));
        }
        (Some(_), Some(_)) => {}
        // Without it the phase cannot be judged, and passing it would overstate the server.
        (None, _) => reasons.push(match &report.metrics_error {
            Some(error) => format!("tick p99 not measured ({error})"),
            None => "tick p99 not measured".to_owned(),
        }),
        (Some(_), None) => reasons.push("tick budget unknown: no bot was welcomed".to_owned()),
    }
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

/// Runs the search from `base` (whose `clients` is ignored); refused when `base` has no
/// `/metrics` address to measure the tick.
pub async fn find_max(base: &RunOptions, search: &FindMaxOptions) -> Result<FindMaxReport, LoadgenError> {
    if base.metrics.is_none() {
        return Err(LoadgenError::Options(
            "--find-max judges each phase by the server's tick p99, which needs --metrics".into(),
        ));
    }
    let mut options = base.clone();
    options.duration = search.phase;
    options.ramp = base.ramp.min(search.phase / 3);
    let mut clients = search.start.max(1);
    let mut found = FindMaxReport {
        max_clients_held: None,
        tick_budget_ms: None,
        phases: Vec::new(),
    };
    loop {
        options.clients = clients;
        let report = run(&options).await?;
        options.first_player += u64::from(clients);
        let reason = verdict(&report);
        found.tick_budget_ms = found.tick_budget_ms.or(report.server_tick_budget_ms);
        let held = reason.is_none();
        if held {
            found.max_clients_held = Some(clients);
        }
        found.phases.push(Phase {
            clients,
            held,
            reason,
            report,
        });
        if !held || clients >= search.limit {
            return Ok(found);
        }
        tokio::time::sleep(SETTLE).await;
        let next = (f64::from(clients) * search.factor).round() as u32;
        clients = next.max(clients + 1).min(search.limit);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use necpsim::client::ReceiveError;
    use necpsim::net::auth::TokenKey;

    use super::*;
    use crate::Scenario;
    use crate::report::tests::report;

    #[test]
    fn a_clean_phase_within_the_budget_holds() {
        assert_eq!(verdict(&report(4, Some(16.0), |_| {})), None);
    }

    #[test]
    fn a_phase_over_the_budget_fails() {
        let reason = verdict(&report(4, Some(17.0), |_| {}));
        assert_eq!(
            reason.as_deref(),
            Some("tick p99 17.00 ms over the 16.67 ms budget")
        );
    }

    #[test]
    fn a_phase_with_undecodable_snapshots_fails() {
        let report = report(4, Some(2.0), |stats| {
            stats.snapshot_error(&ReceiveError::MissingBaseline {
                seq: 9,
                baseline_seq: 4,
            });
        });
        assert_eq!(
            verdict(&report).as_deref(),
            Some("1 errors (snapshot missing baseline 1)")
        );
    }

    #[test]
    fn a_phase_whose_tick_was_not_measured_fails() {
        let mut report = report(4, None, |_| {});
        assert_eq!(verdict(&report).as_deref(), Some("tick p99 not measured"));
        report.metrics_error = Some("connection refused".into());
        assert_eq!(
            verdict(&report).as_deref(),
            Some("tick p99 not measured (connection refused)")
        );
    }

    #[test]
    fn every_reason_is_given() {
        let mut report = report(4, None, |stats| stats.error("connection lost"));
        report.connections = 3;
        assert_eq!(
            verdict(&report).as_deref(),
            Some("3 of 4 bots connected; 1 errors (connection lost 1); tick p99 not measured")
        );
    }

    #[tokio::test]
    async fn the_search_refuses_to_start_without_metrics() {
        let options = RunOptions {
            server: "127.0.0.1:9".parse().expect("addr"),
            fingerprint: [0; 32],
            tokens: Arc::new(TokenKey::from_secret(&[7; 32]).expect("key")),
            scenario: Scenario::load("mixed").expect("the built-in scenario"),
            clients: 1,
            duration: Duration::from_secs(1),
            ramp: Duration::ZERO,
            seed: 1,
            metrics: None,
            first_player: 100,
            per_source_address: 1,
            progress: false,
        };
        let search = FindMaxOptions {
            start: 1,
            factor: 2.0,
            phase: Duration::from_secs(1),
            limit: 1,
        };
        let refused = find_max(&options, &search).await;
        assert!(
            matches!(&refused, Err(LoadgenError::Options(why)) if why.contains("--metrics")),
            "{refused:?}"
        );
    }
}
