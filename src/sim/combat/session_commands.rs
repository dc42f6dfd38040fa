//! The session operations clients call: create, join, leave, end, get and list. Each either
//! changes the [`Sessions`] store and replies, or replies with a typed refusal and changes nothing.

use bevy_ecs::entity::Entity;
use bevy_ecs::world::World;
use bumpalo::Bump;

use super::fighter::Fighter;
use super::kinds::{Member, ParticipantStatus, Role, SessionId, SessionKind, SessionStatus, Team};
use super::lifecycle::{Now, end_session, leading_team, release_fighter};
use super::log::LogEvent;
use super::rules::CombatRules;
use super::sessions::{Participant, Session, Sessions};
use crate::config::TeamMode;
use crate::sim::command::{ClientId, ListQuery, Refusal, ReplyTo, SessionSettings};
use crate::sim::gameplay::{Clients, NetId, Vitals};
use crate::sim::output::{Outbox, Reply, ReplyBody, SessionView, SimEvent, Span, count_refusal, respond};
use crate::sim::resources::{SimCounters, Tick};

/// Page size of a list that names none.
pub const DEFAULT_LIST_LIMIT: u32 = 50;
/// Largest page a list may ask for.
pub const MAX_LIST_LIMIT: u32 = 100;

/// Replies to `to` with `result`'s body or its refusal.
fn reply(world: &mut World, to: ReplyTo, result: Result<ReplyBody, Refusal>) {
    let body = result.unwrap_or_else(ReplyBody::Refused);
    respond(world, to, body);
}

/// Creates a pending session.
pub(crate) fn create(world: &mut World, to: ReplyTo, settings: SessionSettings) {
    let result = try_create(world, to.client, settings);
    reply(world, to, result);
}

fn try_create(world: &mut World, client: ClientId, settings: SessionSettings) -> Result<ReplyBody, Refusal> {
    let rules = world.resource::<CombatRules>();
    let kind = rules.kind(settings.kind);
    let team_size = settings.team_size.unwrap_or(kind.default_team_size);
    let time_limit_s = settings.time_limit_s.unwrap_or(kind.default_time_limit_s);
    let teams = kind.teams;
    let participants = teams.participants(team_size, kind.npcs.len());
    let max = u64::from(rules.limits.max_participants);
    if team_size < teams.smallest_team_size()
        || participants > max
        || !(1..=kind.max_time_limit_s).contains(&time_limit_s)
    {
        return Err(Refusal::InvalidSettings);
    }
    let log_capacity = usize::from(rules.limits.log_capacity);
    let expiry_ns = rules.limits.pending_expiry_ns;
    let max_open = rules.limits.max_open_sessions;
    let max_open_per_creator = rules.limits.max_open_sessions_per_creator;
    let now = Now::of(world);
    let tick = now.tick;
    if world.resource::<crate::sim::resources::LoadShed>().0 {
        return Err(Refusal::Busy);
    }
    let mut sessions = world.resource_mut::<Sessions>();
    if sessions.open_count() >= max_open || sessions.open_created_by(client) >= max_open_per_creator {
        return Err(Refusal::TooManySessions);
    }
    let id = sessions
        .create(log_capacity, tick, |session| {
            session.kind = Some(settings.kind);
            session.difficulty = Some(settings.difficulty);
            session.zone_id = settings.zone_id;
            session.creator = Some(client);
            session.created_ns = now.clock.0;
            session.teams = teams;
            session.team_size = team_size;
            session.time_limit_s = time_limit_s;
            // Exactly its size, not the next power of two: an ended session stays in memory.
            session.participants.reserve_exact(participants as usize);
            session.log.push(
                tick,
                LogEvent::StateChanged {
                    status: SessionStatus::Pending,
                },
            );
        })
        .id;
    sessions.look_at(id, now.tick_of(now.clock.0 + expiry_ns));
    world
        .resource_mut::<Outbox>()
        .events
        .push(SimEvent::SessionChanged {
            session: id,
            status: SessionStatus::Pending,
        });
    Ok(ReplyBody::SessionCreated { session: id })
}

/// Adds the client's player to a session.
pub(crate) fn join(world: &mut World, to: ReplyTo, session: SessionId, team: Team, role: Role) {
    let result = try_join(world, to.client, session, team, role);
    reply(world, to, result);
}

fn try_join(
    world: &mut World,
    client: ClientId,
    id: SessionId,
    team: Team,
    role: Role,
) -> Result<ReplyBody, Refusal> {
    let entity = world
        .resource::<Clients>()
        .entity(client)
        .ok_or(Refusal::NotJoined)?;
    if world.get::<Fighter>(entity).is_some() {
        return Err(Refusal::AlreadyInSession);
    }
    let net_id = world.get::<NetId>(entity).map_or(0, |id| id.0);
    let max_health = world.get::<Vitals>(entity).map_or(1.0, |v| v.max_health);
    let rules = world.resource::<CombatRules>();
    let roles = rules.roles.ok_or(Refusal::InvalidSettings)?;
    let loadout = roles[role as usize];
    let magazine = rules
        .weapons
        .get(usize::from(loadout.weapon))
        .map_or(0, |w| w.magazine);
    let burst = rules.limits.action_burst;
    let base_speed = world
        .resource::<crate::sim::resources::ActiveConfig>()
        .0
        .gameplay
        .characters
        .player
        .speed_mps;
    let tick = world.resource::<Tick>().0;
    let mut sessions = world.resource_mut::<Sessions>();
    let session = sessions.get_mut(id).ok_or(Refusal::SessionNotFound)?;
    if !session.status().is_open() {
        return Err(Refusal::SessionClosed);
    }
    let team_allowed = match session.teams {
        TeamMode::TwoTeams => matches!(team, Team::TeamA | Team::TeamB),
        TeamMode::Solo => team == Team::Solo,
        TeamMode::VersusNpcs => team == Team::TeamA,
    };
    if !team_allowed {
        return Err(Refusal::WrongTeam);
    }
    let on_team = session
        .participants
        .iter()
        .filter(|p| p.team == team && matches!(p.member, Member::Player(_)))
        .count();
    if on_team >= usize::from(session.team_size) {
        return Err(Refusal::TeamFull);
    }
    let slot = session.participants.len() as u16;
    session.participants.push(Participant::new(
        Member::Player(client),
        entity,
        net_id,
        team,
        role,
        max_health,
    ));
    session.log.push(tick, LogEvent::Joined { participant: slot });
    sessions.touch(id);
    let fighter = Fighter::new(id, slot, team, Some(role), base_speed, magazine, burst);
    world.entity_mut(entity).insert(fighter);
    if let Some(mut vitals) = world.get_mut::<Vitals>(entity) {
        vitals.health = vitals.max_health;
    }
    Ok(ReplyBody::SessionJoined { session: id, slot })
}

/// Takes the client's player out of a session.
pub(crate) fn leave(world: &mut World, to: ReplyTo, session: SessionId) {
    let result = try_leave(world, to.client, session);
    reply(world, to, result);
}

fn try_leave(world: &mut World, client: ClientId, id: SessionId) -> Result<ReplyBody, Refusal> {
    let session = world
        .resource::<Sessions>()
        .get(id)
        .ok_or(Refusal::SessionNotFound)?;
    if !session.status().is_open() {
        return Err(Refusal::SessionClosed);
    }
    let slot = session
        .slot_of(Member::Player(client))
        .ok_or(Refusal::NotInSession)?;
    let entity = session.participant(slot).and_then(|p| p.entity);
    if session.participant(slot).is_some_and(|p| p.entity.is_none()) {
        return Err(Refusal::NotInSession);
    }
    withdraw(world, id, slot, entity);
    Ok(ReplyBody::SessionLeft { session: id })
}

/// Takes the participant at `slot` out of session `id`: before the start its place is freed; in
/// the fight it is recorded as extracted (alive, in an extract zone) or disconnected.
pub(crate) fn withdraw(world: &mut World, id: SessionId, slot: u16, entity: Option<Entity>) {
    let tick = world.resource::<Tick>().0;
    if let Some(entity) = entity {
        release_fighter(world, entity);
    }
    let mut sessions = world.resource_mut::<Sessions>();
    let Some(session) = sessions.get_mut(id) else {
        return;
    };
    let pending = session.status() == SessionStatus::Pending;
    let extract = session.kind == Some(SessionKind::ExtractZone);
    session.log.push(tick, LogEvent::Left { participant: slot });
    if pending {
        session.participants.remove(usize::from(slot));
    } else if let Some(participant) = session.participant_mut(slot) {
        participant.status = if extract && participant.is_alive() {
            ParticipantStatus::Extracted
        } else {
            ParticipantStatus::Disconnected
        };
        participant.entity = None;
    }
    sessions.touch(id);
    if pending {
        renumber_from(world, id, slot);
    }
}

/// After a pending participant's removal, tells the fighters behind it their new slots.
fn renumber_from(world: &mut World, id: SessionId, from: u16) {
    let count = world
        .resource::<Sessions>()
        .get(id)
        .map_or(0, |s| s.participants.len());
    for slot in usize::from(from)..count {
        let entity = world
            .resource::<Sessions>()
            .get(id)
            .and_then(|s| s.participants.get(slot))
            .and_then(|p| p.entity);
        if let Some(mut fighter) = entity.and_then(|e| world.get_mut::<Fighter>(e)) {
            fighter.slot = slot as u16;
        }
    }
}

/// Ends a session at its creator's request: an active one ends, a pending one is aborted.
pub(crate) fn end(world: &mut World, to: ReplyTo, session: SessionId) {
    let result = try_end(world, to.client, session);
    reply(world, to, result);
}

fn try_end(world: &mut World, client: ClientId, id: SessionId) -> Result<ReplyBody, Refusal> {
    let session = world
        .resource::<Sessions>()
        .get(id)
        .ok_or(Refusal::SessionNotFound)?;
    if session.creator != Some(client) {
        return Err(Refusal::NotSessionOwner);
    }
    match session.status() {
        SessionStatus::Active => {}
        // Calling off a session that never started frees its creator's place under
        // `max_open_sessions_per_creator` at once instead of after the pending expiry.
        SessionStatus::Pending => {
            end_session(world, id, SessionStatus::Aborted, None);
            return Ok(ReplyBody::SessionEnded {
                session: id,
                winner: None,
            });
        }
        SessionStatus::Ended | SessionStatus::Aborted => return Err(Refusal::SessionClosed),
    }
    let winner = leading_team(session);
    end_session(world, id, SessionStatus::Ended, winner);
    Ok(ReplyBody::SessionEnded { session: id, winner })
}

/// A read of the session store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionRead {
    /// One session, with its log after `log_after`.
    Get {
        /// The session.
        session: SessionId,
        /// The newest log entry the reader holds.
        log_after: u32,
    },
    /// A page of summaries.
    List(ListQuery),
}

/// Answers this tick's reads, in order, once every change of the tick's input is applied. The
/// outbox and the store are borrowed once for the whole batch, and every get's session is looked
/// up before the first is answered, so that the loop can prefetch the records it reaches next.
pub(crate) fn answer_reads(world: &mut World, reads: &[(ReplyTo, SessionRead)], bump: &Bump) {
    if reads.is_empty() {
        return;
    }
    let tick = world.resource::<Tick>().0;
    world.resource_scope(|world, mut outbox: bevy_ecs::world::Mut<Outbox>| {
        world.resource_scope(|world, mut counters: bevy_ecs::world::Mut<SimCounters>| {
            let sessions = world.resource::<Sessions>();
            let targets = bumpalo::collections::Vec::from_iter_in(
                reads.iter().map(|(_, read)| match read {
                    SessionRead::Get { session, .. } => sessions.get(*session),
                    SessionRead::List(_) => None,
                }),
                bump,
            );
            for (i, (&(to, read), &target)) in reads.iter().zip(&targets).enumerate() {
                prefetch_ahead(&targets, i);
                let body = answer(sessions, read, target, &mut outbox);
                count_refusal(&mut counters, &body);
                outbox.replies.push(Reply::new(to, tick, body));
            }
        });
    });
}

/// How many reads ahead a get's session record is prefetched; its participants and log follow at
/// half the distance, once the record itself has arrived. A get in a large store misses cache
/// twice in a row (record, then participants and log); prefetching overlaps those misses across
/// gets.
const PREFETCH_DISTANCE: usize = 8;

fn prefetch_ahead(targets: &[Option<&Session>], at: usize) {
    if let Some(&Some(session)) = targets.get(at + PREFETCH_DISTANCE) {
        crate::sim::prefetch::prefetch(session);
    }
    if let Some(&Some(session)) = targets.get(at + PREFETCH_DISTANCE / 2) {
        session.prefetch_contents();
    }
}

/// Answers one read; `target` is the session a get names, if it exists.
fn answer(
    sessions: &Sessions,
    read: SessionRead,
    target: Option<&Session>,
    outbox: &mut Outbox,
) -> ReplyBody {
    match read {
        SessionRead::Get { log_after, .. } => target
            .map_or(ReplyBody::Refused(Refusal::SessionNotFound), |session| {
                ReplyBody::Session(write_view(session, log_after, outbox))
            }),
        SessionRead::List(query) => {
            let limit = query.limit.unwrap_or(DEFAULT_LIST_LIMIT);
            if !(1..=MAX_LIST_LIMIT).contains(&limit) {
                return ReplyBody::Refused(Refusal::InvalidSettings);
            }
            let start = outbox.summaries.len();
            sessions.list(&query.filter, query.offset, limit, &mut outbox.summaries);
            ReplyBody::SessionList {
                summaries: Span::since(&outbox.summaries, start),
            }
        }
    }
}

/// Appends `session`'s participants and its log entries after `log_after` to `outbox` and
/// describes them.
pub fn write_view(session: &Session, log_after: u32, outbox: &mut Outbox) -> SessionView {
    let start = outbox.participants.len();
    outbox
        .participants
        .extend(session.participants.iter().map(|participant| participant.view));
    let participants = Span::since(&outbox.participants, start);
    let start = outbox.log.len();
    let (older, newer) = session.log.after(log_after);
    outbox.log.extend_from_slice(older);
    outbox.log.extend_from_slice(newer);
    let log = Span::since(&outbox.log, start);
    SessionView {
        summary: session.summary(),
        zone_id: session.zone_id,
        difficulty: session.difficulty.unwrap_or(super::kinds::Difficulty::Normal),
        team_size: session.team_size,
        time_limit_s: session.time_limit_s,
        started_tick: session.started_tick,
        ended_tick: session.ended_tick,
        winner: session.winner,
        participants,
        log,
    }
}
