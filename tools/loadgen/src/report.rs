//! The report of a run ([`Report`]): what was asked, what the bots measured (round trips per
//! operation, throughput, refusals by code, errors by kind, snapshots) and what the server said
//! about itself (tick time, CPU, memory), with a per-second timeline. Serialised as JSON as is;
//! [`std::fmt::Display`] gives the terminal summary and [`crate::html`] the page.

use std::collections::BTreeMap;
use std::fmt;

use hdrhistogram::Histogram;
use necpsim::protocol::error_message;
use serde::Serialize;

use crate::bots::Plan;
use crate::stats::{Op, Stats, new_histogram};

/// One operation's numbers.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OpReport {
    /// Replies received (accepted or refused).
    pub count: u64,
    /// Replies per second over the run.
    pub per_s: f64,
    /// Of which refusals.
    pub refused: u64,
    /// Round-trip percentiles and maximum, milliseconds.
    pub rtt_ms_p50: f64,
    /// 90th percentile.
    pub rtt_ms_p90: f64,
    /// 99th percentile.
    pub rtt_ms_p99: f64,
    /// 99.9th percentile.
    pub rtt_ms_p999: f64,
    /// Largest.
    pub rtt_ms_max: f64,
}

/// A refusal code's count.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RefusalCount {
    /// How many replies were refused with it.
    pub count: u64,
    /// What the code means.
    pub message: String,
}

/// One second of the run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Sample {
    /// Seconds since the start.
    pub t_s: f64,
    /// Bots connected.
    pub bots: u64,
    /// Replies in this second.
    pub replies: u64,
    /// 99th percentile round trip of this second's replies, milliseconds.
    pub rtt_ms_p99: Option<f64>,
    /// 99th percentile server tick of this second, milliseconds (from `/metrics` bucket deltas).
    pub tick_ms_p99: Option<f64>,
    /// Snapshots received in this second.
    pub snapshots: u64,
    /// Errors so far.
    pub errors: u64,
}

/// What the server's `/metrics` said over the run.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ServerSide {
    /// Median tick duration, milliseconds.
    pub tick_ms_p50: Option<f64>,
    /// 99th percentile tick duration, milliseconds.
    pub tick_ms_p99: Option<f64>,
    /// Median CPU time of the tick thread per tick, milliseconds.
    pub tick_cpu_ms_p50: Option<f64>,
    /// 99th percentile CPU time of the tick thread per tick, milliseconds.
    pub tick_cpu_ms_p99: Option<f64>,
    /// CPU the server used, percent of one core.
    pub cpu_percent: Option<f64>,
    /// The server's largest resident memory seen, MiB.
    pub rss_mb: Option<f64>,
    /// Why `/metrics` could not be read, if it could not.
    pub metrics_error: Option<String>,
}

/// Everything a run measured.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    /// The scenario's name.
    pub scenario: String,
    /// Bots asked for.
    pub clients: u32,
    /// The run's length, seconds (ramp included): to the deadline, or to the last counted reply
    /// when a reply to a request in flight at the deadline came later. The rates divide by it.
    pub duration_s: f64,
    /// The ramp, seconds.
    pub ramp_s: f64,
    /// The seed.
    pub seed: u64,
    /// How many bots played which role.
    pub roles: Plan,
    /// Bots that connected and were welcomed.
    pub connections: u64,
    /// Bots that could not connect.
    pub connect_failures: u64,
    /// Failures that are not refusals (lost or closed connections, timeouts, requests left
    /// unanswered when their bot stopped, failed connects, snapshots that did not decode).
    pub errors: u64,
    /// Those failures by kind (`closed CODE` for a server's close).
    pub errors_by_kind: BTreeMap<String, u64>,
    /// Requests the server refused (the game's rules and rate limits).
    pub refusals: u64,
    /// Refusals by code.
    pub refusals_by_code: BTreeMap<u16, RefusalCount>,
    /// Replies received, all operations.
    pub replies: u64,
    /// Replies per second.
    pub replies_per_s: f64,
    /// Round-trip percentiles over all measured operations, milliseconds.
    pub rtt_ms_p50: f64,
    /// 90th percentile.
    pub rtt_ms_p90: f64,
    /// 99th percentile.
    pub rtt_ms_p99: f64,
    /// 99.9th percentile.
    pub rtt_ms_p999: f64,
    /// Per operation.
    pub operations: BTreeMap<&'static str, OpReport>,
    /// Movement inputs sent (fire and forget).
    pub inputs: u64,
    /// Snapshots received and decoded.
    pub snapshots: u64,
    /// Snapshots per second.
    pub snapshots_per_s: f64,
    /// Snapshots that did not decode (also among `errors`, as `snapshot KIND`).
    pub snapshot_errors: u64,
    /// Combat sessions created.
    pub sessions_created: u64,
    /// Shots answered `Acted`.
    pub acted: u64,
    /// Economy commands acknowledged (orders and transfers; durable when acknowledged).
    pub economy_acks: u64,
    /// Transfers acknowledged.
    pub durable_transfers: u64,
    /// Transfers acknowledged per second.
    pub durable_transfers_per_s: f64,
    /// The tick rate from the server's welcome.
    pub server_tick_rate_hz: Option<f64>,
    /// One tick's budget, 1000 / tick rate, milliseconds.
    pub server_tick_budget_ms: Option<f64>,
    /// 99th percentile server tick over the run, milliseconds.
    pub server_tick_ms_p99: Option<f64>,
    /// Median server tick, milliseconds.
    pub server_tick_ms_p50: Option<f64>,
    /// 99th percentile CPU time the server's tick thread spent per tick, milliseconds: the
    /// tick's own work, without the time it waited for a core on a busy machine.
    pub server_tick_cpu_ms_p99: Option<f64>,
    /// Median CPU time of the server's tick thread per tick, milliseconds.
    pub server_tick_cpu_ms_p50: Option<f64>,
    /// Server CPU, percent of one core.
    pub server_cpu_percent: Option<f64>,
    /// Server resident memory (largest seen), MiB.
    pub server_rss_mb: Option<f64>,
    /// Why `/metrics` could not be read, if it could not.
    pub metrics_error: Option<String>,
    /// One sample a second.
    pub timeline: Vec<Sample>,
}

/// What the run was, for [`Report::build`].
#[derive(Debug)]
pub struct RunFacts<'a> {
    /// The scenario's name.
    pub scenario: &'a str,
    /// Bots asked for.
    pub clients: u32,
    /// Seconds the run lasted.
    pub elapsed_s: f64,
    /// The ramp, seconds.
    pub ramp_s: f64,
    /// The seed.
    pub seed: u64,
    /// The roles.
    pub plan: &'a Plan,
}

fn ms(histogram: &Histogram<u64>, quantile: f64) -> f64 {
    if histogram.is_empty() {
        0.0
    } else {
        histogram.value_at_quantile(quantile) as f64 / 1000.0
    }
}

impl Report {
    /// Assembles the report from the bots' `stats`, the server side and the timeline.
    pub fn build(facts: &RunFacts<'_>, stats: &Stats, server: ServerSide, timeline: Vec<Sample>) -> Report {
        let elapsed = facts.elapsed_s.max(1e-9);
        let mut all = new_histogram();
        let mut operations = BTreeMap::new();
        for (op, histogram, refused) in stats.ops() {
            if histogram.is_empty() {
                continue;
            }
            let _ = all.add(&histogram);
            operations.insert(
                op.name(),
                OpReport {
                    count: histogram.len(),
                    per_s: histogram.len() as f64 / elapsed,
                    refused,
                    rtt_ms_p50: ms(&histogram, 0.5),
                    rtt_ms_p90: ms(&histogram, 0.9),
                    rtt_ms_p99: ms(&histogram, 0.99),
                    rtt_ms_p999: ms(&histogram, 0.999),
                    rtt_ms_max: histogram.max() as f64 / 1000.0,
                },
            );
        }
        let refusals_by_code: BTreeMap<u16, RefusalCount> = stats
            .refusals()
            .into_iter()
            .map(|(code, count)| {
                let message = error_message(code);
                (code, RefusalCount { count, message })
            })
            .collect();
        let errors_by_kind = stats.errors();
        let tick_rate = stats.tick_rate_hz().map(f64::from);
        let transfers = Stats::get(&stats.transfers);
        let snapshots = Stats::get(&stats.snapshots);
        Report {
            scenario: facts.scenario.to_owned(),
            clients: facts.clients,
            duration_s: facts.elapsed_s,
            ramp_s: facts.ramp_s,
            seed: facts.seed,
            roles: facts.plan.clone(),
            connections: Stats::get(&stats.connected),
            connect_failures: Stats::get(&stats.connect_failures),
            errors: errors_by_kind.values().sum(),
            errors_by_kind,
            refusals: refusals_by_code.values().map(|r| r.count).sum(),
            refusals_by_code,
            replies: all.len(),
            replies_per_s: all.len() as f64 / elapsed,
            rtt_ms_p50: ms(&all, 0.5),
            rtt_ms_p90: ms(&all, 0.9),
            rtt_ms_p99: ms(&all, 0.99),
            rtt_ms_p999: ms(&all, 0.999),
            operations,
            inputs: Stats::get(&stats.inputs),
            snapshots,
            snapshots_per_s: snapshots as f64 / elapsed,
            snapshot_errors: Stats::get(&stats.snapshot_errors),
            sessions_created: Stats::get(&stats.sessions),
            acted: Stats::get(&stats.acted),
            economy_acks: Stats::get(&stats.economy_acks),
            durable_transfers: transfers,
            durable_transfers_per_s: transfers as f64 / elapsed,
            server_tick_rate_hz: tick_rate,
            server_tick_budget_ms: tick_rate.filter(|hz| *hz > 0.0).map(|hz| 1000.0 / hz),
            server_tick_ms_p99: server.tick_ms_p99,
            server_tick_ms_p50: server.tick_ms_p50,
            server_tick_cpu_ms_p99: server.tick_cpu_ms_p99,
            server_tick_cpu_ms_p50: server.tick_cpu_ms_p50,
            server_cpu_percent: server.cpu_percent,
            server_rss_mb: server.rss_mb,
            metrics_error: server.metrics_error,
            timeline,
        }
    }

    /// An operation's numbers, if it happened.
    pub fn op(&self, op: Op) -> Option<&OpReport> {
        self.operations.get(op.name())
    }
}

/// `value` with `unit`, or "n/a".
pub(crate) fn maybe(value: Option<f64>, unit: &str) -> String {
    value.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.2}{unit}"))
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let roles = &self.roles;
        writeln!(
            f,
            "scenario {} | {} clients ({} roaming, {} fighting in {} groups of {}v{}, {} trading, {} transferring) | {:.1} s | seed {}",
            self.scenario,
            self.clients,
            roles.roaming,
            roles.fighting,
            roles.groups,
            roles.team_size,
            roles.team_size,
            roles.trading,
            roles.transferring,
            self.duration_s,
            self.seed
        )?;
        writeln!(
            f,
            "connections {} (failed {}) | errors {} | refusals {} | replies {} ({:.0}/s) | inputs {} | snapshots {} ({:.0}/s, {} not decoded)",
            self.connections,
            self.connect_failures,
            self.errors,
            self.refusals,
            self.replies,
            self.replies_per_s,
            self.inputs,
            self.snapshots,
            self.snapshots_per_s,
            self.snapshot_errors
        )?;
        writeln!(
            f,
            "rtt ms: p50 {:.2} p90 {:.2} p99 {:.2} p99.9 {:.2}",
            self.rtt_ms_p50, self.rtt_ms_p90, self.rtt_ms_p99, self.rtt_ms_p999
        )?;
        writeln!(
            f,
            "{:<15} {:>8} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
            "operation", "count", "per s", "refused", "p50 ms", "p90 ms", "p99 ms", "p99.9", "max ms"
        )?;
        for (name, op) in &self.operations {
            writeln!(
                f,
                "{:<15} {:>8} {:>9.1} {:>8} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
                name,
                op.count,
                op.per_s,
                op.refused,
                op.rtt_ms_p50,
                op.rtt_ms_p90,
                op.rtt_ms_p99,
                op.rtt_ms_p999,
                op.rtt_ms_max
            )?;
        }
        writeln!(
            f,
            "sessions {} | acted {} | economy acks {} | durable transfers {} ({:.1}/s)",
            self.sessions_created,
            self.acted,
            self.economy_acks,
            self.durable_transfers,
            self.durable_transfers_per_s
        )?;
        for (code, refusal) in &self.refusals_by_code {
            writeln!(f, "refused {code} ({}): {}", refusal.message, refusal.count)?;
        }
        for (kind, count) in &self.errors_by_kind {
            writeln!(f, "error {kind}: {count}")?;
        }
        write!(
            f,
            "server: tick p50 {} p99 {} (budget {}; tick thread CPU p50 {} p99 {}) | cpu {} | rss {}",
            maybe(self.server_tick_ms_p50, " ms"),
            maybe(self.server_tick_ms_p99, " ms"),
            maybe(self.server_tick_budget_ms, " ms"),
            maybe(self.server_tick_cpu_ms_p50, " ms"),
            maybe(self.server_tick_cpu_ms_p99, " ms"),
            maybe(self.server_cpu_percent, " %"),
            maybe(self.server_rss_mb, " MiB")
        )?;
        if let Some(error) = &self.metrics_error {
            write!(f, " ({error})")?;
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Duration;

    use necpsim::client::ReceiveError;
    use tokio::time::Instant;

    use super::*;
    use crate::scenario::Scenario;

    /// The report of a clean run of `clients` bots, all welcomed by a 60 Hz server whose tick p99
    /// was `tick_ms_p99`, after `spoil` added to what the bots measured.
    pub(crate) fn report(clients: u32, tick_ms_p99: Option<f64>, spoil: impl FnOnce(&Stats)) -> Report {
        let stats = Stats::new(Instant::now());
        for _ in 0..clients {
            Stats::bump(&stats.connected);
        }
        stats.set_tick_rate(60.0);
        stats.reply(Op::Ping, Duration::from_millis(2), None);
        spoil(&stats);
        let scenario = Scenario::load("mixed").expect("the built-in scenario");
        let plan = crate::bots::plan(clients, &scenario.mix, scenario.fighting.team_size);
        let facts = RunFacts {
            scenario: &scenario.name,
            clients,
            elapsed_s: 10.0,
            ramp_s: 1.0,
            seed: 1,
            plan: &plan,
        };
        let server = ServerSide {
            tick_ms_p99,
            ..ServerSide::default()
        };
        Report::build(&facts, &stats, server, Vec::new())
    }

    #[test]
    fn the_summary_shows_snapshots_that_did_not_decode() {
        let report = report(4, Some(2.0), |stats| {
            stats.snapshot_error(&ReceiveError::MissingBaseline {
                seq: 9,
                baseline_seq: 4,
            });
        });
        assert_eq!((report.snapshot_errors, report.errors), (1, 1));
        let text = report.to_string();
        assert!(text.contains("1 not decoded"), "{text}");
        assert!(text.contains("error snapshot missing baseline: 1"), "{text}");
    }
}
