//! `--find-max`: runs short phases with more and more bots (×`factor` each time) until the
//! server's tick p99 leaves its budget (1000 / the tick rate of the Welcome, in ms) or failures
//! appear, and reports the largest count that held. Each phase uses fresh player ids, so that no
//! bot meets its predecessor's still-closing connection.

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
    /// Whether the server held: every bot connected, no errors, tick p99 within budget.
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

/// Why `report` does not hold, if it does not.
pub fn verdict(report: &Report) -> Option<String> {
    if report.connections < u64::from(report.clients) {
        return Some(format!(
            "{} of {} bots connected",
            report.connections, report.clients
        ));
    }
    if report.errors > 0 {
        return Some(format!("{} errors", report.errors));
    }
    match (report.server_tick_ms_p99, report.server_tick_budget_ms) {
        (Some(p99), Some(budget)) if p99 > budget => {
            Some(format!("tick p99 {p99:.2} ms over the {budget:.2} ms budget"))
        }
        _ => None,
    }
}

/// Runs the search from `base` (whose `clients` is ignored).
pub async fn find_max(base: &RunOptions, search: &FindMaxOptions) -> Result<FindMaxReport, LoadgenError> {
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
