//! Fighting bots for `necpsim bench`: the first `fighters` player bots (a multiple of ten) play
//! 5-vs-5 pvp arenas in the assault role, back to back. Once they stand in the world they are
//! seated in groups of ten by where they stand (consecutive along a Z-order curve, so a group is
//! a neighbourhood, as location-based matchmaking would make it). Each group creates a session,
//! joins it, and once it is active every living bot chases the opponent facing it (the next living one
//! when that one falls) and fires whenever its rifle is ready and the target is in range, pausing
//! for reloads as a client that knows its weapon would. When the session ends the group starts a
//! new one.

use std::collections::BTreeMap;

use crate::config::Config;
use crate::sim::combat::{Difficulty, Role, SessionId, SessionKind, SessionStatus, Team};
use crate::sim::{
    Action, ActionInput, ClientId, Command, Outbox, ReplyBody, SessionSettings, Sim, SimEvent, Target,
    TickRate,
};

/// Bots per session.
const GROUP: usize = 10;

/// Where a group is in its session's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Between sessions: the leader creates one.
    Idle,
    /// Waiting for the created session's id.
    Creating,
    /// Joined; waiting for the start.
    Joining(SessionId),
    /// In an active session.
    Fighting(SessionId),
}

/// The assault rifle as a client knows it.
#[derive(Debug, Clone, Copy)]
struct Rifle {
    interval_ticks: u64,
    magazine: u32,
    reload_ticks: u64,
    range_m: f32,
}

/// What the fighting bots did.
#[derive(Debug, Default, Clone, Copy)]
pub struct FightStats {
    /// Fighting bots.
    pub fighters: u32,
    /// Shots fired (accepted or not).
    pub shots: u64,
    /// Hits that landed.
    pub hits: u64,
    /// Participants killed.
    pub kills: u64,
    /// Sessions that ended.
    pub sessions_ended: u64,
}

/// The fighting bots.
#[derive(Debug)]
pub struct Fighters {
    /// The bot in each seat; seats `10g..10g + 10` form group `g`. Empty until seated.
    seats: Vec<usize>,
    stages: Vec<Stage>,
    sessions: BTreeMap<SessionId, usize>,
    net_ids: Vec<u32>,
    alive: Vec<bool>,
    ammo: Vec<u32>,
    next_shot: Vec<u64>,
    rifle: Rifle,
    stats: FightStats,
}

impl Fighters {
    /// `count` fighting bots (rounded down to whole groups) for `config`.
    pub(super) fn new(count: u32, config: &Config) -> Fighters {
        let count = count as usize / GROUP * GROUP;
        let rate = TickRate(config.server.tick.rate_hz);
        let weapon = config
            .combat
            .roles
            .roles
            .get("assault")
            .and_then(|role| config.combat.weapons.weapons.get(&role.weapon));
        let seconds = |ms: u32| rate.ticks_in(ms as f32 / 1000.0);
        let rifle = weapon.map_or(
            Rifle {
                interval_ticks: 1,
                magazine: 0,
                reload_ticks: 1,
                range_m: 0.0,
            },
            |w| Rifle {
                interval_ticks: seconds(w.fire_interval_ms),
                magazine: w.magazine,
                reload_ticks: seconds(w.reload_ms),
                range_m: w.range_m,
            },
        );
        Fighters {
            seats: Vec::new(),
            stages: vec![Stage::Idle; count / GROUP],
            sessions: BTreeMap::new(),
            net_ids: vec![0; count],
            alive: vec![true; count],
            ammo: vec![rifle.magazine; count],
            next_shot: vec![0; count],
            rifle,
            stats: FightStats {
                fighters: count as u32,
                ..FightStats::default()
            },
        }
    }

    /// Whether bot `bot` fights.
    pub(super) fn includes(&self, bot: usize) -> bool {
        bot < self.net_ids.len()
    }

    /// What the fighters did so far.
    pub(super) fn stats(&self) -> FightStats {
        self.stats
    }

    /// Seats the fighters by position once they stand in the world.
    fn seat(&mut self, sim: &Sim) -> bool {
        if self.seats.len() == self.net_ids.len() {
            return true;
        }
        let positions: Option<Vec<_>> = (0..self.net_ids.len())
            .map(|bot| sim.player_position(ClientId(bot as u64)))
            .collect();
        let Some(positions) = positions else {
            return false;
        };
        let bounds = &sim.config().gameplay.world.bounds;
        let cell = |v: f32, low: f32, high: f32| ((v - low) / (high - low).max(1.0) * 65_535.0) as u32;
        let mut seats: Vec<(u64, usize)> = positions
            .iter()
            .enumerate()
            .map(|(bot, p)| {
                let x = cell(p.x, bounds.min_x_m, bounds.max_x_m);
                let y = cell(p.y, bounds.min_y_m, bounds.max_y_m);
                (z_order(x, y), bot)
            })
            .collect();
        seats.sort_unstable();
        self.seats = seats.into_iter().map(|(_, bot)| bot).collect();
        true
    }

    /// Submits this tick's session commands and shots; `steer` receives each fighter's heading.
    pub(super) fn drive(&mut self, sim: &mut Sim, mut steer: impl FnMut(usize, [f32; 2])) {
        if self.stages.is_empty() || !self.seat(sim) {
            return;
        }
        let tick = sim.tick() + 1;
        for group in 0..self.stages.len() {
            let leader = group * GROUP;
            match self.stages[group] {
                Stage::Idle => {
                    let create = Command::CreateSession(SessionSettings {
                        kind: SessionKind::PvpArena,
                        zone_id: group as u32,
                        difficulty: Difficulty::Normal,
                        team_size: Some(GROUP as u16 / 2),
                        time_limit_s: None,
                    });
                    if sim.submit(ClientId(self.seats[leader] as u64), create).is_ok() {
                        self.stages[group] = Stage::Creating;
                    }
                }
                Stage::Fighting(session) => {
                    for seat in leader..leader + GROUP {
                        self.fight(sim, session, seat, tick, &mut steer);
                    }
                }
                Stage::Creating | Stage::Joining(_) => {}
            }
        }
    }

    /// Chases and shoots at the opponent facing the bot in `seat`, or the next living one.
    fn fight(
        &mut self,
        sim: &mut Sim,
        session: SessionId,
        seat: usize,
        tick: u64,
        steer: &mut impl FnMut(usize, [f32; 2]),
    ) {
        if !self.alive[seat] {
            return;
        }
        let group_start = seat / GROUP * GROUP;
        let half = GROUP / 2;
        let side_start = if seat - group_start < half {
            group_start + half
        } else {
            group_start
        };
        let facing = (seat - group_start) % half;
        let Some(target) = (0..half)
            .map(|i| side_start + (facing + i) % half)
            .find(|&t| self.alive[t])
        else {
            return;
        };
        let (bot, target_bot) = (self.seats[seat], self.seats[target]);
        let (Some(me), Some(them)) = (
            sim.player_position(ClientId(bot as u64)),
            sim.player_position(ClientId(target_bot as u64)),
        ) else {
            return;
        };
        let (dx, dy) = (them.x - me.x, them.y - me.y);
        let distance = dx.hypot(dy);
        if distance > 1.0 {
            steer(bot, [dx / distance, dy / distance]);
        }
        if distance > self.rifle.range_m * 0.9 || tick < self.next_shot[seat] {
            return;
        }
        let fire = Command::Act(ActionInput {
            session,
            action: Action::Fire,
            target: Target::Entity(self.net_ids[target_bot]),
        });
        if sim.submit(ClientId(bot as u64), fire).is_err() {
            return;
        }
        self.stats.shots += 1;
        self.next_shot[seat] = tick + self.rifle.interval_ticks;
        if self.rifle.magazine > 0 {
            self.ammo[seat] -= 1;
            if self.ammo[seat] == 0 {
                self.ammo[seat] = self.rifle.magazine;
                self.next_shot[seat] = tick + self.rifle.reload_ticks.max(self.rifle.interval_ticks);
            }
        }
    }

    /// Follows sessions, deaths and hits in this tick's outputs.
    pub(super) fn observe(&mut self, sim: &mut Sim, outbox: &Outbox) {
        for reply in &outbox.replies {
            let bot = reply.client.0 as usize;
            match reply.body {
                ReplyBody::Joined { net_id } if self.includes(bot) => self.net_ids[bot] = net_id,
                ReplyBody::SessionCreated { session } => {
                    let Some(seat) = self.seats.iter().position(|&b| b == bot) else {
                        continue;
                    };
                    let group = seat / GROUP;
                    self.sessions.insert(session, group);
                    self.stages[group] = Stage::Joining(session);
                    for member in group * GROUP..(group + 1) * GROUP {
                        let team = if member - group * GROUP < GROUP / 2 {
                            Team::TeamA
                        } else {
                            Team::TeamB
                        };
                        let join = Command::JoinSession {
                            session,
                            team,
                            role: Role::Assault,
                        };
                        let _ = sim.submit(ClientId(self.seats[member] as u64), join);
                    }
                }
                _ => {}
            }
        }
        for event in &outbox.events {
            match *event {
                SimEvent::Hit { .. } => self.stats.hits += 1,
                SimEvent::Killed { session, target, .. } => {
                    self.stats.kills += 1;
                    if let Some(&group) = self.sessions.get(&session) {
                        for seat in group * GROUP..(group + 1) * GROUP {
                            if self.net_ids[self.seats[seat]] == target {
                                self.alive[seat] = false;
                            }
                        }
                    }
                }
                SimEvent::SessionChanged { session, status } => self.follow(session, status),
                _ => {}
            }
        }
    }

    fn follow(&mut self, session: SessionId, status: SessionStatus) {
        let Some(&group) = self.sessions.get(&session) else {
            return;
        };
        match status {
            SessionStatus::Active => self.stages[group] = Stage::Fighting(session),
            SessionStatus::Ended | SessionStatus::Aborted => {
                self.stats.sessions_ended += u64::from(status == SessionStatus::Ended);
                self.sessions.remove(&session);
                self.stages[group] = Stage::Idle;
                for seat in group * GROUP..(group + 1) * GROUP {
                    self.alive[seat] = true;
                    self.ammo[seat] = self.rifle.magazine;
                }
            }
            SessionStatus::Pending => {}
        }
    }
}

/// The Z-order (Morton) code of `(x, y)`: nearby points get nearby codes.
fn z_order(x: u32, y: u32) -> u64 {
    let spread = |v: u32| {
        let mut v = u64::from(v);
        v = (v | (v << 16)) & 0x0000_ffff_0000_ffff;
        v = (v | (v << 8)) & 0x00ff_00ff_00ff_00ff;
        v = (v | (v << 4)) & 0x0f0f_0f0f_0f0f_0f0f;
        v = (v | (v << 2)) & 0x3333_3333_3333_3333;
        (v | (v << 1)) & 0x5555_5555_5555_5555
    };
    spread(x) | (spread(y) << 1)
}
