//! A fighter: one of a group of two teams. Seat 0 creates a session of the scenario's kind and
//! publishes its id to the group; every seat joins it on its team, then, while the session is
//! active, fires at a live participant of the other team (found by polling `GetSession`) every
//! `fire_interval_ms` and steers towards it (or towards the world's centre until it is in view).
//! When the session ends, seat 0 creates the next one. Refusals such as 221 (out of range) and
//! 222 (weapon not ready) are counted by code; they are the game's rules, not failures.

use std::time::Duration;

use necpsim::client::Snapshot;
use necpsim::protocol::combat::SessionS2c;
use necpsim::protocol::{
    ActC2s, CreateSessionC2s, GetSessionC2s, JoinSessionC2s, ReplyBodyS2c, RequestC2s, TargetC2s,
};
use tokio::time::Instant;

use super::{Bot, Outcome};
use crate::stats::{Op, Stats};

/// Within this many quantisation steps of its target (15 m at the default 0.01 m precision) a
/// fighter stops walking.
const STOP_WITHIN_STEPS: f32 = 1500.0;
/// `SessionStatus` codes.
const PENDING: u8 = 0;
const ACTIVE: u8 = 1;
/// `ParticipantStatus` code of a live participant.
const ALIVE: u8 = 0;

/// Plays until the deadline or the connection ends.
pub(super) async fn play(bot: &mut Bot, group: u32, seat: u32) {
    let team = (seat % 2) as u8;
    let mut last_session = 0;
    let mut lobby = bot.shared.lobby[group as usize].subscribe();
    while Instant::now() < bot.deadline() {
        let session = if seat == 0 {
            match create(bot).await {
                Some(session) => {
                    bot.shared.lobby[group as usize].send_replace(session);
                    session
                }
                None => return,
            }
        } else {
            let published = tokio::time::timeout_at(
                bot.deadline(),
                lobby.wait_for(|&id| id != 0 && id != last_session),
            )
            .await;
            match published {
                Ok(Ok(id)) => *id,
                _ => return,
            }
        };
        last_session = session;
        let join = RequestC2s::JoinSession(JoinSessionC2s {
            session,
            team,
            role: 0,
        });
        match bot.call(Op::SessionJoin, join).await {
            Outcome::Accepted(_) => {
                if !fight(bot, session, team).await {
                    return;
                }
            }
            Outcome::Failed => return,
            Outcome::Refused | Outcome::TimedOut => {
                tokio::time::sleep(Duration::from_millis(
                    bot.shared.scenario.fighting.poll_interval_ms,
                ))
                .await;
            }
        }
    }
}

/// Creates a session, retrying after refusals; `None` at the deadline or when the connection is
/// gone.
async fn create(bot: &mut Bot) -> Option<u64> {
    let fighting = bot.shared.scenario.fighting;
    let team_size = u16::try_from(bot.shared.plan.team_size).unwrap_or(u16::MAX);
    while Instant::now() < bot.deadline() {
        let create = RequestC2s::CreateSession(CreateSessionC2s {
            kind: fighting.kind,
            zone_id: fighting.zone_id,
            difficulty: 0,
            team_size: Some(team_size),
            time_limit_s: Some(fighting.time_limit_s),
        });
        match bot.call(Op::SessionCreate, create).await {
            Outcome::Accepted(ReplyBodyS2c::SessionCreated { session }) => {
                Stats::bump(&bot.stats().sessions);
                return Some(session);
            }
            Outcome::Failed => return None,
            _ => tokio::time::sleep(Duration::from_millis(fighting.poll_interval_ms)).await,
        }
    }
    None
}

/// Fights `session` until it ends (true) or the run or the connection does (false).
async fn fight(bot: &mut Bot, session: u64, team: u8) -> bool {
    let fighting = bot.shared.scenario.fighting;
    let mut poll = bot.timer(Duration::from_millis(fighting.poll_interval_ms));
    let mut fire = bot.timer(Duration::from_millis(fighting.fire_interval_ms));
    let mut steer = bot.timer(Duration::from_secs_f64(1.0 / fighting.steer_hz));
    let client = bot.client.clone();
    let me = client.welcome().net_id;
    let end = bot.end();
    tokio::pin!(end);
    let mut status = PENDING;
    let mut alive = true;
    let mut target: Option<u32> = None;
    let mut view: Option<Snapshot> = None;
    loop {
        tokio::select! {
            why = &mut end => {
                bot.note_end(why);
                return false;
            }
            _ = poll.tick() => {
                let get = RequestC2s::GetSession(GetSessionC2s { session, log_after: u32::MAX });
                match bot.call(Op::SessionGet, get).await {
                    Outcome::Accepted(ReplyBodyS2c::Session(state)) => {
                        status = state.summary.status;
                        if status > ACTIVE {
                            return true;
                        }
                        let targets;
                        (alive, targets) = read_targets(&state, me, team);
                        if target.is_none_or(|t| !targets.contains(&t)) {
                            target = pick(bot, &targets);
                        }
                    }
                    Outcome::Failed => return false,
                    // A session that cannot be read any more (e.g. removed) is over.
                    Outcome::Refused => return true,
                    Outcome::Accepted(_) | Outcome::TimedOut => {}
                }
            }
            _ = fire.tick(), if status == ACTIVE && alive && target.is_some() => {
                let Some(net_id) = target else { continue };
                let act = RequestC2s::Act(ActC2s { session, ability: None, target: TargetC2s::Entity(net_id) });
                match bot.call(Op::Act, act).await {
                    Outcome::Accepted(ReplyBodyS2c::Acted) => Stats::bump(&bot.stats().acted),
                    Outcome::Failed => return false,
                    _ => {}
                }
            }
            _ = steer.tick() => {
                let [x, y] = heading(view.as_ref(), me, target);
                if !bot.send_input(x, y) {
                    return false;
                }
            }
            snapshot = client.next_snapshot() => match bot.count_snapshot(snapshot) {
                None => return false,
                Some(Some(snapshot)) => view = Some(snapshot),
                Some(None) => {}
            },
        }
    }
}

/// Whether `me` is alive in `state`, and the live participants of the other team.
fn read_targets(state: &SessionS2c, me: u32, team: u8) -> (bool, Vec<u32>) {
    let alive = state
        .participants
        .iter()
        .any(|p| p.net_id == me && p.status == ALIVE);
    let targets = state
        .participants
        .iter()
        .filter(|p| p.team != team && p.status == ALIVE)
        .map(|p| p.net_id)
        .collect();
    (alive, targets)
}

/// One of `targets` at random.
fn pick(bot: &mut Bot, targets: &[u32]) -> Option<u32> {
    (!targets.is_empty()).then(|| targets[bot.below(targets.len() as u64) as usize])
}

/// Where to walk: towards the target when both are in view, else towards the world's centre
/// (where fighters meet); standing still once close.
fn heading(view: Option<&Snapshot>, me: u32, target: Option<u32>) -> [f32; 2] {
    let Some(view) = view else { return [0.0, 0.0] };
    let find = |id: u32| {
        view.states
            .binary_search_by_key(&id, |s| s.id)
            .ok()
            .map(|at| [view.states[at].qx as f32, view.states[at].qy as f32])
    };
    let Some(here) = find(me) else { return [0.0, 0.0] };
    let there = target.and_then(find).unwrap_or([0.0, 0.0]);
    let (dx, dy) = (there[0] - here[0], there[1] - here[1]);
    if dx * dx + dy * dy < STOP_WITHIN_STEPS * STOP_WITHIN_STEPS {
        [0.0, 0.0]
    } else {
        [dx, dy]
    }
}
