//! The durable-transfer workload: each bot keeps up to a window of transfers in flight (sent with
//! `send`, each reply taken through its `PendingReply` as soon as it comes, whichever comes first),
//! starting at most `per_s` a second, to receivers drawn from a Zipf distribution over the bots. An
//! acknowledged transfer is durable: the server acknowledges economy commands only once their
//! tick's batch is committed; refusals skip that wait and often overtake earlier transfers.

use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use necpsim::protocol::{EconomyC2s, EconomyOpC2s, ReplyBodyS2c, RequestC2s};

use super::{Bot, Outcome};
use crate::stats::{Op, Stats};
use crate::zipf::Zipf;

/// A transfer in flight: its reply being awaited and counted.
type Settling = Pin<Box<dyn Future<Output = Outcome> + Send>>;

/// Plays until the deadline or the connection ends; replies in flight at the deadline are still
/// collected, so every sent transfer is counted.
pub(super) async fn play(bot: &mut Bot) {
    let settings = bot.shared.scenario.transferring;
    let bots = bot.shared.plan.roles.len() as u32;
    let zipf = Zipf::new(bots, settings.zipf_alpha);
    let mut pace = bot.timer(Duration::from_secs_f64(1.0 / settings.per_s));
    let mut window: Vec<Settling> = Vec::new();
    let stop = tokio::time::sleep_until(bot.deadline());
    tokio::pin!(stop);
    let mut open = true;
    while open || !window.is_empty() {
        let room = open && window.len() < settings.window as usize;
        tokio::select! {
            () = &mut stop, if open => open = false,
            _ = pace.tick(), if room => {
                let transfer = next_transfer(bot, &zipf);
                match bot.send(Op::Transfer, transfer) {
                    Some(request) => window.push(Box::pin(request.settle())),
                    None => return,
                }
            }
            outcome = first_done(&mut window), if !window.is_empty() => match outcome {
                Outcome::Accepted(ReplyBodyS2c::Transferred { .. }) => {
                    Stats::bump(&bot.stats().economy_acks);
                    Stats::bump(&bot.stats().transfers);
                }
                // The transfers still in the window count as unanswered.
                Outcome::Failed => return,
                Outcome::Accepted(_) | Outcome::Refused | Outcome::TimedOut => {}
            },
        }
    }
}

/// The next transfer: to a receiver drawn from `zipf`, never the bot itself.
fn next_transfer(bot: &mut Bot, zipf: &Zipf) -> RequestC2s {
    let settings = bot.shared.scenario.transferring;
    let bots = bot.shared.plan.roles.len() as u32;
    let mut rank = zipf.sample(f64::from(bot.unit()));
    if rank == bot.index {
        rank = (rank + 1) % bots.max(1);
    }
    RequestC2s::Economy(EconomyC2s {
        idempotency_key: bot.idempotency_key(),
        op: EconomyOpC2s::Transfer {
            to: bot.shared.player(rank),
            currency: settings.currency,
            amount_minor: settings.amount_minor,
        },
    })
}

/// Waits for whichever future of `window` finishes first, whatever its place, and takes it out.
/// Cancel-safe: the unfinished ones stay in the window. Polls them all on each wake; the window
/// is a handful of transfers.
async fn first_done<T>(window: &mut Vec<Pin<Box<dyn Future<Output = T> + Send>>>) -> T {
    std::future::poll_fn(|cx| {
        for at in 0..window.len() {
            if let Poll::Ready(output) = window[at].as_mut().poll(cx) {
                drop(window.swap_remove(at));
                return Poll::Ready(output);
            }
        }
        Poll::Pending
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_later_reply_is_taken_without_waiting_for_an_earlier_one() {
        let first = tokio::time::sleep(Duration::from_secs(5));
        let mut window: Vec<Pin<Box<dyn Future<Output = u32> + Send>>> = vec![
            Box::pin(async move {
                first.await;
                1
            }),
            Box::pin(async { 2 }),
            Box::pin(std::future::pending()),
        ];
        let start = tokio::time::Instant::now();
        assert_eq!(first_done(&mut window).await, 2);
        assert_eq!(start.elapsed(), Duration::ZERO, "not held up by the oldest");
        assert_eq!(window.len(), 2);
        assert_eq!(first_done(&mut window).await, 1);
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        assert_eq!(window.len(), 1, "the one without a reply stays");
    }
}
