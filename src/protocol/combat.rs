//! Combat session replies on the wire: a session read ([`SessionS2c`]) with its participants and
//! combat log, and a page of summaries ([`SessionListS2c`]). Enums travel as their stable `u8`
//! codes (the discriminants of the simulation's types); events of the combat log as one flat
//! record with a kind code.

use rkyv::{Archive, Deserialize, Serialize};

use crate::sim::combat::{LogEntry, LogEvent, Member, ParticipantView, SessionSummary};
use crate::sim::{Outbox, SessionView};

/// One participant of a session.
#[derive(Archive, Serialize, Deserialize, serde::Serialize, Debug, Clone, Copy, PartialEq)]
#[rkyv(derive(Debug))]
pub struct ParticipantS2c {
    /// The player's id, or 0 for an NPC.
    pub player_id: u64,
    /// The NPC kind's index in `combat/npcs.toml` (name order), or `u16::MAX` for a player and for
    /// an NPC whose kind was removed from the file while it fought.
    pub npc_kind: u16,
    /// Its id in snapshots.
    pub net_id: u32,
    /// `Team` code: 0 team_a, 1 team_b, 2 solo.
    pub team: u8,
    /// `Role` code: 0 assault, 1 support, 2 tech, 3 stealth.
    pub role: u8,
    /// `ParticipantStatus` code: 0 alive, 1 dead, 2 extracted, 3 disconnected.
    pub status: u8,
    /// Current health.
    pub health: f32,
    /// Health when full.
    pub max_health: f32,
    /// Damage dealt.
    pub damage_dealt: f32,
    /// Damage taken.
    pub damage_taken: f32,
    /// Healing done to others.
    pub healing_done: f32,
    /// Kills.
    pub kills: u32,
    /// Deaths.
    pub deaths: u32,
    /// Assists.
    pub assists: u32,
    /// Shots and abilities used.
    pub shots_fired: u32,
    /// Of which hit.
    pub shots_hit: u32,
}

impl From<&ParticipantView> for ParticipantS2c {
    fn from(p: &ParticipantView) -> Self {
        let (player_id, npc_kind) = match p.member {
            Member::Player(client) => (client.0, u16::MAX),
            Member::Npc(kind) => (0, kind),
        };
        ParticipantS2c {
            player_id,
            npc_kind,
            net_id: p.net_id,
            team: p.team as u8,
            role: p.role as u8,
            status: p.status as u8,
            health: p.health,
            max_health: p.max_health,
            damage_dealt: p.damage_dealt,
            damage_taken: p.damage_taken,
            healing_done: p.healing_done,
            kills: p.kills,
            deaths: p.deaths,
            assists: p.assists,
            shots_fired: p.shots_fired,
            shots_hit: p.shots_hit,
        }
    }
}

/// Participant slot meaning "nobody" in a log record (a status effect's pulse, an area attack).
pub const NO_SLOT: u16 = u16::MAX;

/// One combat log entry.
#[derive(Archive, Serialize, Deserialize, serde::Serialize, Debug, Clone, Copy, PartialEq)]
#[rkyv(derive(Debug))]
pub struct LogEntryS2c {
    /// Position in the session's history, from 1 (wrapping after 2³² entries).
    pub seq: u32,
    /// Tick it happened.
    pub tick: u64,
    /// 0 attack, 1 hit, 2 crit, 3 heal, 4 kill, 5 effect applied, 6 effect expired, 7 join,
    /// 8 leave, 9 state change.
    pub kind: u8,
    /// The acting participant's slot (attacker, healer, killer, joiner), or [`NO_SLOT`].
    pub actor: u16,
    /// The participant acted upon, or [`NO_SLOT`].
    pub target: u16,
    /// Damage, healing or stacks.
    pub value: f32,
    /// Effect index, or the new status code of a state change.
    pub detail: u8,
}

impl LogEntryS2c {
    /// The wire form of `entry` of a session created at `created_tick`.
    pub fn new(entry: &LogEntry, created_tick: u64) -> Self {
        let slot = |slot: Option<u16>| slot.unwrap_or(NO_SLOT);
        let (kind, actor, target, value, detail) = match entry.event {
            LogEvent::Attack { attacker, target } => (0, attacker, slot(target), 0.0, 0),
            LogEvent::Hit {
                attacker,
                target,
                damage,
                crit,
            } => (1 + u8::from(crit), slot(attacker), target, damage, 0),
            LogEvent::Heal {
                healer,
                target,
                amount,
            } => (3, healer, target, amount, 0),
            LogEvent::Kill { killer, target } => (4, slot(killer), target, 0.0, 0),
            LogEvent::EffectApplied {
                target,
                effect,
                stacks,
            } => (5, NO_SLOT, target, f32::from(stacks), effect),
            LogEvent::EffectExpired { target, effect } => (6, NO_SLOT, target, 0.0, effect),
            LogEvent::Joined { participant } => (7, participant, NO_SLOT, 0.0, 0),
            LogEvent::Left { participant } => (8, participant, NO_SLOT, 0.0, 0),
            LogEvent::StateChanged { status } => (9, NO_SLOT, NO_SLOT, 0.0, status as u8),
        };
        LogEntryS2c {
            seq: entry.seq,
            tick: created_tick + u64::from(entry.after_ticks),
            kind,
            actor,
            target,
            value,
            detail,
        }
    }
}

/// What `list` shows of one session.
#[derive(Archive, Serialize, Deserialize, serde::Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct SessionSummaryS2c {
    /// The session.
    pub id: u64,
    /// Tick of creation.
    pub created_tick: u64,
    /// `SessionStatus` code: 0 pending, 1 active, 2 ended, 3 aborted.
    pub status: u8,
    /// `SessionKind` code: 0 pvp_arena, 1 pve_raid, 2 extract_zone, 3 guild_war.
    pub kind: u8,
    /// Participants.
    pub participant_count: u16,
}

impl From<&SessionSummary> for SessionSummaryS2c {
    fn from(s: &SessionSummary) -> Self {
        SessionSummaryS2c {
            id: s.id.0,
            created_tick: s.created_tick,
            status: s.status as u8,
            kind: s.kind as u8,
            participant_count: s.participant_count,
        }
    }
}

/// The reply to a session get.
#[derive(Archive, Serialize, Deserialize, serde::Serialize, Debug, Clone, PartialEq)]
#[rkyv(derive(Debug))]
pub struct SessionS2c {
    /// Id, creation tick, status, type and participant count.
    pub summary: SessionSummaryS2c,
    /// Its zone.
    pub zone_id: u32,
    /// `Difficulty` code: 0 normal, 1 hard, 2 elite.
    pub difficulty: u8,
    /// Players per team needed to start.
    pub team_size: u16,
    /// Time limit in seconds.
    pub time_limit_s: u32,
    /// Tick it started (0: not yet).
    pub started_tick: u64,
    /// Tick it ended (0: not yet).
    pub ended_tick: u64,
    /// The winning `Team` code, if any.
    pub winner: Option<u8>,
    /// Every participant.
    pub participants: Vec<ParticipantS2c>,
    /// The combat log, oldest first.
    pub log: Vec<LogEntryS2c>,
}

impl SessionS2c {
    /// The wire form of `view`, whose rows lie in `outbox`.
    pub fn from_view(view: &SessionView, outbox: &Outbox) -> SessionS2c {
        SessionS2c {
            summary: SessionSummaryS2c::from(&view.summary),
            zone_id: view.zone_id,
            difficulty: view.difficulty as u8,
            team_size: view.team_size,
            time_limit_s: view.time_limit_s,
            started_tick: view.started_tick,
            ended_tick: view.ended_tick,
            winner: view.winner.map(|team| team as u8),
            participants: view
                .participants
                .of(&outbox.participants)
                .iter()
                .map(Into::into)
                .collect(),
            log: view
                .log
                .of(&outbox.log)
                .iter()
                .map(|entry| LogEntryS2c::new(entry, view.summary.created_tick))
                .collect(),
        }
    }
}

/// The reply to a session list.
#[derive(Archive, Serialize, Deserialize, serde::Serialize, Debug, Clone, PartialEq)]
#[rkyv(derive(Debug))]
pub struct SessionListS2c {
    /// The page, newest first.
    pub sessions: Vec<SessionSummaryS2c>,
}

#[cfg(test)]
mod tests {
    use rkyv::rancor;

    use super::*;

    fn sample() -> SessionS2c {
        SessionS2c {
            summary: SessionSummaryS2c {
                id: 4,
                created_tick: 100,
                status: 1,
                kind: 0,
                participant_count: 1,
            },
            zone_id: 2,
            difficulty: 1,
            team_size: 1,
            time_limit_s: 600,
            started_tick: 120,
            ended_tick: 0,
            winner: None,
            participants: vec![ParticipantS2c {
                player_id: 77,
                npc_kind: u16::MAX,
                net_id: 5,
                team: 0,
                role: 2,
                status: 0,
                health: 80.0,
                max_health: 100.0,
                damage_dealt: 12.5,
                damage_taken: 20.0,
                healing_done: 0.0,
                kills: 0,
                deaths: 0,
                assists: 0,
                shots_fired: 3,
                shots_hit: 1,
            }],
            log: vec![LogEntryS2c {
                seq: 1,
                tick: 100,
                kind: 9,
                actor: NO_SLOT,
                target: NO_SLOT,
                value: 0.0,
                detail: 0,
            }],
        }
    }

    #[test]
    fn a_session_reply_survives_a_checked_round_trip() {
        let reply = sample();
        let bytes = rkyv::to_bytes::<rancor::Error>(&reply).expect("encodes");
        let archived = rkyv::access::<ArchivedSessionS2c, rancor::Error>(&bytes).expect("valid archive");
        let back: SessionS2c = rkyv::deserialize::<SessionS2c, rancor::Error>(archived).expect("decodes");
        assert_eq!(back, reply);
    }

    #[test]
    fn truncated_bytes_are_refused_not_read() {
        let bytes = rkyv::to_bytes::<rancor::Error>(&sample()).expect("encodes");
        let mut aligned = rkyv::util::AlignedVec::<16>::new();
        aligned.extend_from_slice(&bytes[..bytes.len() / 2]);
        assert!(rkyv::access::<ArchivedSessionS2c, rancor::Error>(&aligned).is_err());
    }
}
