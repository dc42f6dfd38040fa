//! The [`Sessions`] store: every combat session by id, with its participants and combat log, in a
//! slab whose slots (and their allocations) are reused, the creation order that `list` walks
//! newest first, and the closing order in which finished sessions are forgotten. Holds data and
//! answers queries; the rules of the fight live in the systems.

use bevy_ecs::entity::Entity;
use bevy_ecs::resource::Resource;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use bevy_platform::collections::HashMap;

use super::kinds::{
    Difficulty, Member, ParticipantStatus, Role, SessionId, SessionKind, SessionStatus, Team,
};
use super::log::CombatLog;
use crate::config::TeamMode;
use crate::sim::ClientId;

/// One participant's record in a session: what a session read shows ([`ParticipantView`], reached
/// through `Deref`), and what only the simulation needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Participant {
    /// The record a session read shows.
    pub view: ParticipantView,
    /// Its entity while in the world.
    pub entity: Option<Entity>,
    /// The last tick each of its recent attackers (by slot) hit it, for assists.
    pub(crate) recent_attackers: [(u16, u64); 4],
}

impl std::ops::Deref for Participant {
    type Target = ParticipantView;

    fn deref(&self) -> &ParticipantView {
        &self.view
    }
}

impl std::ops::DerefMut for Participant {
    fn deref_mut(&mut self) -> &mut ParticipantView {
        &mut self.view
    }
}

/// What a session read shows of a participant: its record without the simulation's internals
/// (its entity, its recent attackers), half the bytes to copy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParticipantView {
    /// Who it is.
    pub member: Member,
    /// Its id in snapshots.
    pub net_id: u32,
    /// Its side.
    pub team: Team,
    /// Its role.
    pub role: Role,
    /// Alive, dead, extracted or disconnected.
    pub status: ParticipantStatus,
    /// Current health.
    pub health: f32,
    /// Health when full.
    pub max_health: f32,
    /// Damage it dealt.
    pub damage_dealt: f32,
    /// Damage it took.
    pub damage_taken: f32,
    /// Health it restored to others.
    pub healing_done: f32,
    /// Kills.
    pub kills: u32,
    /// Deaths.
    pub deaths: u32,
    /// Kills of others it helped with.
    pub assists: u32,
    /// Shots and abilities used.
    pub shots_fired: u32,
    /// Of which hit someone.
    pub shots_hit: u32,
}

impl Participant {
    /// A fresh participant at full health.
    pub(crate) fn new(
        member: Member,
        entity: Entity,
        net_id: u32,
        team: Team,
        role: Role,
        max_health: f32,
    ) -> Self {
        Participant {
            view: ParticipantView {
                member,
                net_id,
                team,
                role,
                status: ParticipantStatus::Alive,
                health: max_health,
                max_health,
                damage_dealt: 0.0,
                damage_taken: 0.0,
                healing_done: 0.0,
                kills: 0,
                deaths: 0,
                assists: 0,
                shots_fired: 0,
                shots_hit: 0,
            },
            entity: Some(entity),
            recent_attackers: [(u16::MAX, 0); 4],
        }
    }

    /// Notes that `attacker` hit this participant at `tick`.
    pub(crate) fn note_attacker(&mut self, attacker: u16, tick: u64) {
        let slot = self
            .recent_attackers
            .iter()
            .position(|(slot, _)| *slot == attacker)
            .or_else(|| {
                self.recent_attackers
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, (_, at))| *at)
                    .map(|(i, _)| i)
            });
        if let Some(slot) = slot.and_then(|i| self.recent_attackers.get_mut(i)) {
            *slot = (attacker, tick);
        }
    }

    /// Whether it still fights.
    pub fn is_alive(&self) -> bool {
        self.status == ParticipantStatus::Alive
    }
}

/// What `list` shows of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSummary {
    /// The session.
    pub id: SessionId,
    /// The tick it was created.
    pub created_tick: u64,
    /// Where it is in its life.
    pub status: SessionStatus,
    /// Its type.
    pub kind: SessionKind,
    /// Participants in its record.
    pub participant_count: u16,
}

/// One combat session.
#[derive(Debug, Clone, Default)]
pub struct Session {
    /// Its id (0 in a free slot).
    pub id: SessionId,
    /// Its type.
    pub kind: Option<SessionKind>,
    /// Its difficulty.
    pub difficulty: Option<Difficulty>,
    /// The zone it is fought in, as the creator named it.
    pub zone_id: u32,
    /// Who created it (the only client who may end it).
    pub creator: Option<ClientId>,
    /// Pending, active, ended or aborted.
    pub status: Option<SessionStatus>,
    /// How its participants are grouped: its type's `teams` when it was created.
    pub teams: TeamMode,
    /// Players per team needed to start.
    pub team_size: u16,
    /// Time limit in seconds.
    pub time_limit_s: u32,
    /// Tick of creation.
    pub created_tick: u64,
    /// Tick it started (0 before).
    pub started_tick: u64,
    /// Game time of its creation ([`GameClock`](crate::sim::resources::GameClock)).
    pub created_ns: u64,
    /// Game time it started (0 before).
    pub started_ns: u64,
    /// Tick it ended or was aborted (0 before).
    pub ended_tick: u64,
    /// Game time it ended or was aborted (0 before); its retention counts from here.
    pub ended_ns: u64,
    /// The winning team, once ended with one.
    pub winner: Option<Team>,
    /// Everyone who took part, by slot; never shrinks while the session lives.
    pub participants: Vec<Participant>,
    /// Its combat log.
    pub log: CombatLog,
    /// The latest tick the lifecycle was asked to look at it, so that asking again for the same
    /// tick (every hit asks) adds nothing to the deadlines.
    next_look: Option<u64>,
}

impl Session {
    /// Starts bringing the first lines of its participants and log into cache (the hardware
    /// prefetcher follows the rest of each run).
    pub(crate) fn prefetch_contents(&self) {
        crate::sim::prefetch::prefetch(self.participants.as_ptr());
        let (older, newer) = self.log.as_slices();
        crate::sim::prefetch::prefetch(older.as_ptr());
        crate::sim::prefetch::prefetch(newer.as_ptr());
    }

    /// What `list` shows of it.
    pub fn summary(&self) -> SessionSummary {
        SessionSummary {
            id: self.id,
            created_tick: self.created_tick,
            status: self.status(),
            kind: self.kind.unwrap_or(SessionKind::PvpArena),
            participant_count: u16::try_from(self.participants.len()).unwrap_or(u16::MAX),
        }
    }

    /// Its status.
    pub fn status(&self) -> SessionStatus {
        self.status.unwrap_or(SessionStatus::Aborted)
    }

    /// The slot of the participant that is `member`.
    pub fn slot_of(&self, member: Member) -> Option<u16> {
        self.participants
            .iter()
            .position(|p| p.member == member)
            .and_then(|slot| u16::try_from(slot).ok())
    }

    /// The slot of the participant with snapshot id `net_id`.
    pub fn slot_of_net_id(&self, net_id: u32) -> Option<u16> {
        self.participants
            .iter()
            .position(|p| p.net_id == net_id)
            .and_then(|slot| u16::try_from(slot).ok())
    }

    /// The participant at `slot`.
    pub fn participant(&self, slot: u16) -> Option<&Participant> {
        self.participants.get(usize::from(slot))
    }

    /// The participant at `slot`, mutably.
    pub fn participant_mut(&mut self, slot: u16) -> Option<&mut Participant> {
        self.participants.get_mut(usize::from(slot))
    }
}

/// Filters of a list query; `None` matches everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SessionFilter {
    /// Only sessions with this status.
    pub status: Option<SessionStatus>,
    /// Only sessions of this type.
    pub kind: Option<SessionKind>,
    /// Only sessions this player took part in.
    pub player: Option<ClientId>,
}

impl SessionFilter {
    fn matches(&self, session: &Session) -> bool {
        self.status.is_none_or(|status| session.status == Some(status))
            && self.kind.is_none_or(|kind| session.kind == Some(kind))
            && self
                .player
                .is_none_or(|client| session.slot_of(Member::Player(client)).is_some())
    }
}

/// Every session the world remembers.
#[derive(Debug, Default, Resource)]
pub struct Sessions {
    slots: Vec<Session>,
    free: Vec<u32>,
    by_id: HashMap<SessionId, u32>,
    /// Slot and id in creation order; entries whose slot now holds another id are stale and
    /// skipped, and dropped once they reach the front.
    order: VecDeque<(u32, SessionId)>,
    /// Ended and aborted sessions in the order they closed, oldest first: the order they are
    /// forgotten in, whether for their age or for their number.
    closed: VecDeque<SessionId>,
    next_id: u64,
    open: u32,
    /// Open sessions by the client that created them (only clients with at least one).
    open_by_creator: HashMap<ClientId, u32>,
    /// Sessions whose participants changed this tick: the lifecycle looks at them next.
    touched: Vec<SessionId>,
    /// When sessions are next due a look without a change (expiry, time limit, forgetting),
    /// earliest first.
    deadlines: BinaryHeap<Reverse<(u64, SessionId)>>,
}

impl Sessions {
    /// The session with `id`.
    pub fn get(&self, id: SessionId) -> Option<&Session> {
        let slot = *self.by_id.get(&id)?;
        self.slots.get(slot as usize)
    }

    /// The session with `id`, mutably.
    pub fn get_mut(&mut self, id: SessionId) -> Option<&mut Session> {
        let slot = *self.by_id.get(&id)?;
        self.slots.get_mut(slot as usize)
    }

    /// Sessions pending or active.
    pub fn open_count(&self) -> u32 {
        self.open
    }

    /// Sessions pending or active that `creator` created.
    pub fn open_created_by(&self, creator: ClientId) -> u32 {
        self.open_by_creator.get(&creator).copied().unwrap_or(0)
    }

    /// Sessions remembered (open, ended and aborted).
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when no session is remembered.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Creates a pending session from `init`, reusing a free slot when there is one, and returns
    /// it. `init` receives a cleared session whose id and status are already set.
    pub(crate) fn create(
        &mut self,
        log_capacity: usize,
        tick: u64,
        init: impl FnOnce(&mut Session),
    ) -> &mut Session {
        self.next_id += 1;
        let id = SessionId(self.next_id);
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(Session::default());
                (self.slots.len() - 1) as u32
            }
        };
        self.by_id.insert(id, slot);
        self.order.push_back((slot, id));
        self.open += 1;
        let index = slot as usize;
        let session = &mut self.slots[index];
        session.participants.clear();
        session.log.reset(log_capacity, tick);
        session.id = id;
        session.status = Some(SessionStatus::Pending);
        session.created_tick = tick;
        session.started_tick = 0;
        session.started_ns = 0;
        session.ended_tick = 0;
        session.ended_ns = 0;
        session.winner = None;
        session.next_look = None;
        init(session);
        if let Some(creator) = session.creator {
            *self.open_by_creator.entry(creator).or_insert(0) += 1;
        }
        &mut self.slots[index]
    }

    /// Marks `id` ended or aborted at `tick`, game time `now_ns`; the open count drops. Returns
    /// false when it was not open.
    pub(crate) fn close(
        &mut self,
        id: SessionId,
        status: SessionStatus,
        (tick, now_ns): (u64, u64),
        winner: Option<Team>,
    ) -> bool {
        let Some(session) = self.get_mut(id) else {
            return false;
        };
        if !session.status().is_open() {
            return false;
        }
        session.status = Some(status);
        session.ended_tick = tick;
        session.ended_ns = now_ns;
        session.winner = winner;
        if let Some(creator) = session.creator
            && let Some(open) = self.open_by_creator.get_mut(&creator)
        {
            *open -= 1;
            if *open == 0 {
                self.open_by_creator.remove(&creator);
            }
        }
        self.open -= 1;
        self.closed.push_back(id);
        self.drop_stale_deadlines();
        true
    }

    /// Once the deadlines hold many more entries than there are open sessions, keeps only each
    /// open session's latest: a closed session's, or one a later deadline replaced, would only be
    /// skipped when due. The cost is amortised over the closes, and the heap stays proportional to
    /// the open sessions however fast sessions come and go.
    fn drop_stale_deadlines(&mut self) {
        if self.deadlines.len() <= 2 * self.open as usize + 64 {
            return;
        }
        // Taken out while `get` reads the sessions; it keeps its capacity.
        let mut deadlines = std::mem::take(&mut self.deadlines);
        deadlines.retain(|&Reverse((at, id))| {
            self.get(id)
                .is_some_and(|session| session.status().is_open() && session.next_look == Some(at))
        });
        self.deadlines = deadlines;
    }

    /// Forgets, oldest first, the closed sessions that closed `retention_ns` of game time or more
    /// before `now_ns`, and then as many more as keep at most `max_closed` of them.
    pub(crate) fn forget_closed(&mut self, now_ns: u64, retention_ns: u64, max_closed: u32) {
        while let Some(&oldest) = self.closed.front() {
            let expired = self
                .get(oldest)
                .is_none_or(|session| now_ns >= session.ended_ns.saturating_add(retention_ns));
            if !expired && self.closed.len() <= max_closed as usize {
                return;
            }
            self.closed.pop_front();
            self.remove(oldest);
        }
    }

    /// Forgets closed session `id`; its slot is reused by a later create.
    fn remove(&mut self, id: SessionId) {
        let Some(slot) = self.by_id.remove(&id) else {
            return;
        };
        if let Some(session) = self.slots.get_mut(slot as usize) {
            session.id = SessionId(0);
            session.status = None;
        }
        self.free.push(slot);
        // Forgotten sessions leave stale entries in the creation order. Once they outnumber the
        // live ones they are dropped in one pass, so walks of the order (list) stay proportional
        // to what they return and the cost is amortised over the removals.
        if self.order.len() > 2 * self.by_id.len() + 64 {
            let slots = &self.slots;
            self.order
                .retain(|&(slot, id)| slots.get(slot as usize).is_some_and(|s| s.id == id));
        }
    }

    /// Up to `limit` sessions matching `filter`, newest first, after skipping `offset` matches;
    /// returns the number written to `out` (which is appended to, not cleared).
    pub fn list(
        &self,
        filter: &SessionFilter,
        offset: u32,
        limit: u32,
        out: &mut Vec<SessionSummary>,
    ) -> usize {
        let before = out.len();
        out.extend(
            self.iter()
                .rev()
                .filter(|session| filter.matches(session))
                .skip(offset as usize)
                .take(limit as usize)
                .map(Session::summary),
        );
        out.len() - before
    }

    /// Every remembered session, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Session> {
        self.order
            .iter()
            .filter_map(|&(slot, id)| self.slots.get(slot as usize).filter(|s| s.id == id))
    }

    /// Every participant of every session remembered, open or closed.
    pub(crate) fn participants_mut(&mut self) -> impl Iterator<Item = &mut Participant> {
        self.slots
            .iter_mut()
            .filter(|session| session.status.is_some())
            .flat_map(|session| session.participants.iter_mut())
    }

    /// Asks the lifecycle to look at `id` at the end of this tick.
    pub(crate) fn touch(&mut self, id: SessionId) {
        self.touched.push(id);
    }

    /// Asks the lifecycle to look at every session at the end of this tick (the rules changed).
    pub(crate) fn touch_all(&mut self) {
        let ids = self.order.iter().map(|&(_, id)| id);
        self.touched.extend(ids);
    }

    /// Asks the lifecycle to look at `id` at `tick`. The deadlines hold one entry per session and
    /// tick asked for, however often it is asked.
    pub(crate) fn look_at(&mut self, id: SessionId, tick: u64) {
        let Some(session) = self.get_mut(id) else {
            return;
        };
        if session.next_look == Some(tick) {
            return;
        }
        session.next_look = Some(tick);
        self.deadlines.push(Reverse((tick, id)));
    }

    /// Moves the sessions due a look at `tick` into `due`, each once, in id order.
    pub(crate) fn take_due(&mut self, tick: u64, due: &mut bumpalo::collections::Vec<'_, SessionId>) {
        due.extend(self.touched.drain(..));
        while let Some(&Reverse((at, id))) = self.deadlines.peek() {
            if at > tick {
                break;
            }
            self.deadlines.pop();
            due.push(id);
        }
        due.sort_unstable();
        due.dedup();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asking_again_for_the_same_tick_adds_no_deadline() {
        let mut sessions = Sessions::default();
        let id = sessions.create(8, 0, |_| {}).id;
        for _ in 0..1000 {
            sessions.look_at(id, 600);
        }
        sessions.look_at(id, 900);
        sessions.look_at(id, 900);
        assert_eq!(sessions.deadlines.len(), 2);
        sessions.look_at(SessionId(id.0 + 1), 600);
        assert_eq!(
            sessions.deadlines.len(),
            2,
            "an unknown session is never looked at"
        );
    }

    #[test]
    fn deadlines_stay_proportional_to_the_open_sessions() {
        let mut sessions = Sessions::default();
        let kept_open = sessions.create(8, 0, |_| {}).id;
        sessions.look_at(kept_open, 100);
        sessions.look_at(kept_open, 200);
        for tick in 1..10_000 {
            let id = sessions.create(8, tick, |_| {}).id;
            sessions.look_at(id, tick + 300);
            sessions.look_at(id, tick + 900);
            assert!(sessions.close(id, SessionStatus::Ended, (tick, tick), None));
            // Two per open session and 64 before a compaction, plus this one's two.
            let bound = 2 * sessions.open_count() as usize + 64 + 2;
            assert!(sessions.deadlines.len() <= bound, "{}", sessions.deadlines.len());
        }
        assert!(
            sessions
                .deadlines
                .iter()
                .any(|&Reverse(entry)| entry == (200, kept_open)),
            "an open session keeps its latest deadline"
        );
    }
}
