//! A roaming player: movement inputs as datagrams at the scenario's rate, in a direction that
//! wanders (a new heading every `turn_interval_ms`), snapshots read and decoded as they come, and
//! a ping every `ping_interval_ms` for the round trip.

use std::time::Duration;

use super::{Bot, Outcome};
use crate::stats::Op;

/// Plays until the deadline or the connection ends.
pub(super) async fn play(bot: &mut Bot) {
    let scenario = bot.shared.scenario.roaming;
    let mut input = bot.timer(Duration::from_secs_f64(1.0 / scenario.input_hz));
    let mut turn = bot.timer(Duration::from_millis(scenario.turn_interval_ms));
    let mut ping = bot.timer(Duration::from_millis(scenario.ping_interval_ms));
    let client = bot.client.clone();
    let end = bot.end();
    tokio::pin!(end);
    let mut heading = [0.0f32, 0.0];
    loop {
        tokio::select! {
            why = &mut end => return bot.note_end(why),
            _ = turn.tick() => {
                let angle = bot.unit() * std::f32::consts::TAU;
                heading = [angle.cos(), angle.sin()];
            }
            _ = input.tick() => {
                if !bot.send_input(heading[0], heading[1]) {
                    return;
                }
            }
            _ = ping.tick() => {
                let ping = necpsim::protocol::RequestC2s::Ping(necpsim::protocol::PingC2s { client_time_us: 0 });
                if let Outcome::Failed = bot.call(Op::Ping, ping).await {
                    return;
                }
            }
            snapshot = client.next_snapshot() => {
                if bot.count_snapshot(snapshot).is_none() {
                    return;
                }
            }
        }
    }
}
