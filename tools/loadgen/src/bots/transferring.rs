//! The durable-transfer workload: each bot keeps up to a window of transfers in flight (sent with
//! `send`, each reply awaited through its `PendingReply` as soon as it comes), starting at most
//! `per_s` a second, to receivers drawn from a Zipf distribution over the bots. An acknowledged
//! transfer is durable: the server acknowledges economy commands only once their tick's batch is
//! committed.

use std::collections::VecDeque;
use std::time::Duration;

use necpsim::client::PendingReply;
use necpsim::protocol::{EconomyC2s, EconomyOpC2s, ReplyBodyS2c, RequestC2s};
use tokio::time::Instant;

use super::{Bot, Outcome};
use crate::stats::{Op, Stats};
use crate::zipf::Zipf;

/// Plays until the deadline or the connection ends; replies in flight at the deadline are still
/// collected, so every sent transfer is counted.
pub(super) async fn play(bot: &mut Bot) {
    let settings = bot.shared.scenario.transferring;
    let bots = bot.shared.plan.roles.len() as u32;
    let zipf = Zipf::new(bots, settings.zipf_alpha);
    let mut pace = bot.timer(Duration::from_secs_f64(1.0 / settings.per_s));
    let mut window: VecDeque<(Instant, PendingReply)> = VecDeque::new();
    let stop = tokio::time::sleep_until(bot.deadline());
    tokio::pin!(stop);
    let mut open = true;
    while open || !window.is_empty() {
        let room = open && window.len() < settings.window as usize;
        tokio::select! {
            () = &mut stop, if open => open = false,
            _ = pace.tick(), if room => {
                if !send(bot, &zipf, &mut window) {
                    return;
                }
            }
            settled = settle_oldest(bot, &mut window), if !window.is_empty() => {
                if !settled {
                    return;
                }
            }
        }
    }
}

/// Sends one transfer into the window; false when the connection is gone.
fn send(bot: &mut Bot, zipf: &Zipf, window: &mut VecDeque<(Instant, PendingReply)>) -> bool {
    let settings = bot.shared.scenario.transferring;
    let bots = bot.shared.plan.roles.len() as u32;
    let mut rank = zipf.sample(f64::from(bot.unit()));
    if rank == bot.index {
        rank = (rank + 1) % bots.max(1);
    }
    let transfer = RequestC2s::Economy(EconomyC2s {
        idempotency_key: bot.idempotency_key(),
        op: EconomyOpC2s::Transfer {
            to: bot.shared.player(rank),
            currency: settings.currency,
            amount_minor: settings.amount_minor,
        },
    });
    let sent = Instant::now();
    match bot.client.send(transfer) {
        Ok(pending) => {
            window.push_back((sent, pending));
            true
        }
        Err(error) => {
            bot.failed(&error);
            false
        }
    }
}

/// Waits for the oldest transfer in flight (cancel-safe: it stays in the window until its reply
/// is taken); false when the connection is gone.
async fn settle_oldest(bot: &Bot, window: &mut VecDeque<(Instant, PendingReply)>) -> bool {
    let Some((sent, pending)) = window.front_mut() else {
        return true;
    };
    let outcome = bot.settle(Op::Transfer, *sent, pending).await;
    window.pop_front();
    match outcome {
        Outcome::Accepted(ReplyBodyS2c::Transferred { .. }) => {
            Stats::bump(&bot.stats().economy_acks);
            Stats::bump(&bot.stats().transfers);
            true
        }
        Outcome::Failed => false,
        Outcome::Accepted(_) | Outcome::Refused | Outcome::TimedOut => true,
    }
}
