//! The life of a session: a pending session starts when its teams are full (a raid spawns its NPCs
//! then) or is aborted when it waits too long; an active one ends when one side remains or its time
//! limit passes; finished ones are forgotten in the order they closed, after the retention time or
//! sooner when more than the configured number are kept. Ending pays the rewards and releases
//! every fighter. Only sessions that changed this tick or reached a deadline are looked
//! at, so ten thousand quiet sessions cost nothing per tick.

use bevy_ecs::entity::Entity;
use bevy_ecs::world::World;

use super::fighter::{Fighter, NpcBrain};
use super::kinds::{Member, Role, SessionId, SessionKind, SessionStatus, Team};
use super::log::LogEvent;
use super::rewards::pay_rewards;
use super::rules::CombatRules;
use super::sessions::{Participant, Session, Sessions};
use crate::config::TeamMode;
use crate::sim::gameplay::{Defense, Motion, MotionHandle, Vitals, point_in_unit_disc, spawn_body_at};
use crate::sim::output::{Outbox, SimEvent};
use crate::sim::resources::{ActiveConfig, FrameArena, GameClock, SimRng, Tick, TickRate};

/// What the sweep decided for one session.
#[derive(Debug, Clone, Copy)]
enum Transition {
    Start,
    Close(SessionStatus, Option<Team>),
}

/// Now: the tick, the game time and the game time per tick.
#[derive(Debug, Clone, Copy)]
pub(super) struct Now {
    pub(super) tick: u64,
    pub(super) clock: GameClock,
    dt_ns: u64,
}

impl Now {
    pub(super) fn of(world: &World) -> Now {
        Now {
            tick: world.resource::<Tick>().0,
            clock: *world.resource::<GameClock>(),
            dt_ns: TickRate(world.resource::<CombatRules>().rate_hz).dt_ns(),
        }
    }

    /// Whether the moment `at_ns` of game time has come.
    fn reached(self, at_ns: u64) -> bool {
        self.clock.reached(at_ns, self.dt_ns)
    }

    /// The tick at which the moment `at_ns` comes, at the rate in force.
    pub(super) fn tick_of(self, at_ns: u64) -> u64 {
        self.clock.tick_of(self.tick, at_ns, self.dt_ns)
    }
}

/// Starts, ends, aborts and forgets sessions as their state requires.
pub(crate) fn update_sessions(world: &mut World) {
    let now = Now::of(world);
    let tick = now.tick;
    world.resource_scope(|world, mut arena: bevy_ecs::world::Mut<FrameArena>| {
        let bump = arena.bump();
        let mut due = bumpalo::collections::Vec::new_in(bump);
        let rules_changed = world.is_resource_changed::<CombatRules>();
        let mut sessions = world.resource_mut::<Sessions>();
        if rules_changed {
            sessions.touch_all();
        }
        sessions.take_due(tick, &mut due);
        let mut changes = bumpalo::collections::Vec::with_capacity_in(due.len(), bump);
        let rules = world.resource::<CombatRules>();
        let sessions = world.resource::<Sessions>();
        let mut later = bumpalo::collections::Vec::new_in(bump);
        for &id in &due {
            let Some(session) = sessions.get(id) else {
                continue;
            };
            if let Some(change) = transition(session, rules, now) {
                changes.push((id, change));
            } else if let Some(at) = next_deadline(session, rules, now) {
                later.push((id, at));
            }
        }
        let mut sessions = world.resource_mut::<Sessions>();
        for (id, at) in later {
            sessions.look_at(id, at);
        }
        for (id, change) in changes {
            match change {
                Transition::Start => start_session(world, id),
                Transition::Close(status, winner) => end_session(world, id, status, winner),
            }
        }
        let limits = world.resource::<CombatRules>().limits;
        let now_ns = world.resource::<GameClock>().0;
        world.resource_mut::<Sessions>().forget_closed(
            now_ns,
            limits.ended_retention_ns,
            limits.max_ended_sessions,
        );
    });
}

fn transition(session: &Session, rules: &CombatRules, now: Now) -> Option<Transition> {
    session.kind?;
    match session.status() {
        SessionStatus::Pending if is_ready(session) => Some(Transition::Start),
        SessionStatus::Pending if now.reached(session.created_ns + rules.limits.pending_expiry_ns) => {
            Some(Transition::Close(SessionStatus::Aborted, None))
        }
        SessionStatus::Pending => None,
        SessionStatus::Active => {
            if let Some(winner) = last_side_standing(session) {
                return Some(Transition::Close(SessionStatus::Ended, winner));
            }
            now.reached(ends_ns(session))
                .then(|| Transition::Close(SessionStatus::Ended, leading_team(session)))
        }
        SessionStatus::Ended | SessionStatus::Aborted => None,
    }
}

/// When a session with no change due is next to be looked at, under the rules in force (they
/// may have changed since its last deadline was set, the tick rate among them). Closed sessions
/// are never looked at again: they are forgotten in the order they closed.
fn next_deadline(session: &Session, rules: &CombatRules, now: Now) -> Option<u64> {
    match session.status() {
        SessionStatus::Pending => Some(now.tick_of(session.created_ns + rules.limits.pending_expiry_ns)),
        SessionStatus::Active => Some(now.tick_of(ends_ns(session))),
        SessionStatus::Ended | SessionStatus::Aborted => None,
    }
}

/// The game time at which an active session's time limit passes.
fn ends_ns(session: &Session) -> u64 {
    session.started_ns + u64::from(session.time_limit_s) * 1_000_000_000
}

/// Whether every team has its full number of players.
fn is_ready(session: &Session) -> bool {
    let players = |team: Team| {
        session
            .participants
            .iter()
            .filter(|p| p.team == team && matches!(p.member, Member::Player(_)))
            .count()
    };
    let size = usize::from(session.team_size);
    match session.teams {
        TeamMode::TwoTeams => players(Team::TeamA) == size && players(Team::TeamB) == size,
        TeamMode::Solo => players(Team::Solo) == size,
        TeamMode::VersusNpcs => players(Team::TeamA) == size,
    }
}

/// Living participants of team A, team B and solo.
fn alive_by_team(session: &Session) -> [u32; 3] {
    let mut alive = [0u32; 3];
    for participant in session.participants.iter().filter(|p| p.is_alive()) {
        alive[participant.team as usize] += 1;
    }
    alive
}

/// `Some(winner)` when at most one side still fights: in a free-for-all the last one alive (or
/// nobody), otherwise the last team with a living participant (or none).
fn last_side_standing(session: &Session) -> Option<Option<Team>> {
    let [a, b, solo] = alive_by_team(session);
    if session.teams == TeamMode::Solo {
        return (solo <= 1).then(|| (solo == 1).then_some(Team::Solo));
    }
    match (a > 0, b > 0) {
        (true, true) => None,
        (true, false) => Some(Some(Team::TeamA)),
        (false, true) => Some(Some(Team::TeamB)),
        (false, false) => Some(None),
    }
}

/// The team with strictly more living participants than the other, when a session is ended
/// early or by its time limit; a free-for-all has no winning team.
pub(crate) fn leading_team(session: &Session) -> Option<Team> {
    let [a, b, _] = alive_by_team(session);
    match (session.teams, a.cmp(&b)) {
        (TeamMode::Solo, _) | (_, std::cmp::Ordering::Equal) => None,
        (_, std::cmp::Ordering::Greater) => Some(Team::TeamA),
        (_, std::cmp::Ordering::Less) => Some(Team::TeamB),
    }
}

fn start_session(world: &mut World, id: SessionId) {
    let now = Now::of(world);
    let tick = now.tick;
    let mut sessions = world.resource_mut::<Sessions>();
    let Some(session) = sessions.get_mut(id) else {
        return;
    };
    session.status = Some(SessionStatus::Active);
    session.started_tick = tick;
    session.started_ns = now.clock.0;
    let ends = now.tick_of(ends_ns(session));
    session.log.push(
        tick,
        LogEvent::StateChanged {
            status: SessionStatus::Active,
        },
    );
    let kind = session.kind;
    let difficulty = session.difficulty;
    sessions.look_at(id, ends);
    world
        .resource_mut::<Outbox>()
        .events
        .push(SimEvent::SessionChanged {
            session: id,
            status: SessionStatus::Active,
        });
    if let (Some(kind), Some(difficulty)) = (kind, difficulty) {
        spawn_npcs(world, id, kind, difficulty);
    }
}

/// Spawns the session type's NPCs around the players' centre, on team B.
fn spawn_npcs(world: &mut World, id: SessionId, kind: SessionKind, difficulty: super::kinds::Difficulty) {
    let rules = world.resource::<CombatRules>();
    let kind_rule = rules.kind(kind);
    if kind_rule.npcs.is_empty() {
        return;
    }
    let factors = rules.difficulty(difficulty).clone();
    let radius = kind_rule.npc_spawn_radius_m;
    let kinds = kind_rule.npcs.clone();
    let burst = rules.limits.action_burst;
    let centre = players_centre(world, id);
    let bounds = world.resource::<ActiveConfig>().0.gameplay.world.bounds.clone();
    for npc_kind in kinds {
        let Some(npc) = world
            .resource::<CombatRules>()
            .npcs
            .get(usize::from(npc_kind))
            .copied()
        else {
            continue;
        };
        let [dx, dy] = point_in_unit_disc(&mut world.resource_mut::<SimRng>().0);
        let point = [
            (centre[0] + dx * radius).clamp(bounds.min_x_m, bounds.max_x_m),
            (centre[1] + dy * radius).clamp(bounds.min_y_m, bounds.max_y_m),
        ];
        let (entity, net_id) = spawn_body_at(world, point, npc.speed_mps, false);
        let max_health = npc.max_health * factors.npc_health_factor;
        let Some(session) = world.resource_mut::<Sessions>().into_inner().get_mut(id) else {
            return;
        };
        let slot = session.participants.len() as u16;
        let member = Member::Npc(npc_kind);
        session.participants.push(Participant::new(
            member,
            entity,
            net_id.0,
            Team::TeamB,
            Role::Assault,
            max_health,
        ));
        world.entity_mut(entity).insert((
            Vitals {
                health: max_health,
                max_health,
            },
            Defense::new(npc.armor, npc.resistance_pct),
            Fighter::new(id, slot, Team::TeamB, None, npc.speed_mps, 0, burst),
            NpcBrain {
                kind: npc_kind,
                target: None,
                next_attack_tick: 0,
                damage_factor: factors.npc_damage_factor,
            },
        ));
    }
}

/// The mean position of the session's players in the world.
fn players_centre(world: &World, id: SessionId) -> [f32; 2] {
    let Some(session) = world.resource::<Sessions>().get(id) else {
        return [0.0; 2];
    };
    let motion = world.resource::<Motion>();
    let (mut sum, mut count) = ([0.0f32; 2], 0.0f32);
    for entity in session.participants.iter().filter_map(|p| p.entity) {
        if let Some(handle) = world.get::<MotionHandle>(entity) {
            let [x, y] = motion.position(*handle);
            sum = [sum[0] + x, sum[1] + y];
            count += 1.0;
        }
    }
    if count == 0.0 {
        return [0.0; 2];
    }
    [sum[0] / count, sum[1] / count]
}

/// Closes session `id` with `status` and `winner`: pays the rewards (when it ended rather than
/// aborted), logs and announces the change, and releases every fighter.
pub(crate) fn end_session(world: &mut World, id: SessionId, status: SessionStatus, winner: Option<Team>) {
    let now = Now::of(world);
    if !world
        .resource_mut::<Sessions>()
        .close(id, status, (now.tick, now.clock.0), winner)
    {
        return;
    }
    if status == SessionStatus::Ended {
        pay_rewards(world, id);
    }
    let mut count = 0;
    if let Some(session) = world.resource_mut::<Sessions>().into_inner().get_mut(id) {
        session.log.push(now.tick, LogEvent::StateChanged { status });
        count = session.participants.len();
    }
    world
        .resource_mut::<Outbox>()
        .events
        .push(SimEvent::SessionChanged { session: id, status });
    for slot in 0..count {
        let entity = world
            .resource_mut::<Sessions>()
            .into_inner()
            .get_mut(id)
            .and_then(|s| s.participants.get_mut(slot))
            .and_then(|p| p.entity.take());
        if let Some(entity) = entity {
            release_fighter(world, entity);
        }
    }
}

/// Takes `entity` out of combat: an NPC leaves the world; a player keeps playing, healed, at its
/// normal speed.
pub(crate) fn release_fighter(world: &mut World, entity: Entity) {
    let Ok(mut entity_mut) = world.get_entity_mut(entity) else {
        return;
    };
    entity_mut.remove::<Fighter>();
    let handle = entity_mut.get::<MotionHandle>().copied();
    if entity_mut.contains::<NpcBrain>() {
        if let Some(handle) = handle {
            world.resource_mut::<Motion>().remove(handle);
        }
        world.despawn(entity);
        return;
    }
    if let Some(mut vitals) = entity_mut.get_mut::<Vitals>() {
        vitals.health = vitals.max_health;
    }
    let speed = world
        .resource::<ActiveConfig>()
        .0
        .gameplay
        .characters
        .player
        .speed_mps;
    if let Some(handle) = handle {
        world.resource_mut::<Motion>().set_speed(handle, speed);
    }
}
