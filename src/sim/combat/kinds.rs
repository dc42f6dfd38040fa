//! The small closed vocabularies of combat sessions: session types, difficulties, statuses, teams,
//! roles and participant statuses. Their discriminants are the codes the wire protocol carries.

/// Identifies a combat session: assigned in creation order from 1, never reused.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub struct SessionId(pub u64);

/// What kind of fight a session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum SessionKind {
    /// Two teams of players.
    PvpArena = 0,
    /// Players against NPCs and bosses.
    PveRaid = 1,
    /// Everyone for themselves.
    ExtractZone = 2,
    /// Two large teams of players.
    GuildWar = 3,
}

impl SessionKind {
    /// Every kind, in code order.
    pub const ALL: [SessionKind; 4] = [
        SessionKind::PvpArena,
        SessionKind::PveRaid,
        SessionKind::ExtractZone,
        SessionKind::GuildWar,
    ];

    /// The name used in `assets/combat/` and on the wire.
    pub fn name(self) -> &'static str {
        ["pvp_arena", "pve_raid", "extract_zone", "guild_war"][self as usize]
    }
}

/// How hard the NPCs of a session are, and how much it pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Difficulty {
    /// The baseline.
    Normal = 0,
    /// Tougher NPCs, better rewards.
    Hard = 1,
    /// The toughest.
    Elite = 2,
}

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum SessionStatus {
    /// Created; waiting for its teams.
    Pending = 0,
    /// Fighting.
    Active = 1,
    /// Finished normally (one team left, the time limit, or its creator ended it).
    Ended = 2,
    /// Never started: expired while pending, or its creator ended it before it started.
    Aborted = 3,
}

impl SessionStatus {
    /// Pending or active: the session still counts against the open-session limit.
    pub fn is_open(self) -> bool {
        matches!(self, SessionStatus::Pending | SessionStatus::Active)
    }
}

/// A side in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Team {
    /// The first team (players, in a raid).
    TeamA = 0,
    /// The second team (the NPCs, in a raid).
    TeamB = 1,
    /// On one's own (every player of a free-for-all).
    Solo = 2,
}

/// What a participant does in a fight; picks its loadout from `combat/roles.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Role {
    /// Front line.
    Assault = 0,
    /// Healing and control.
    Support = 1,
    /// Gadgets.
    Tech = 2,
    /// Precision.
    Stealth = 3,
}

impl Role {
    /// Every role, in code order (the order of [`crate::config::ROLE_NAMES`]).
    pub const ALL: [Role; 4] = [Role::Assault, Role::Support, Role::Tech, Role::Stealth];
}

/// Where a participant is in the fight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ParticipantStatus {
    /// Fighting.
    Alive = 0,
    /// Killed; stays in the session's record.
    Dead = 1,
    /// Left the zone alive (extract_zone).
    Extracted = 2,
    /// Left the session or the world.
    Disconnected = 3,
}

/// Who a participant is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Member {
    /// A player, by client.
    Player(crate::sim::ClientId),
    /// An NPC, by its kind's index in `combat/npcs.toml` (name order).
    Npc(u16),
}
