//! A digest of the whole simulation state, for determinism checks: equal digests after the same
//! commands mean equal worlds. Not on the tick path.

use std::hash::{DefaultHasher, Hash, Hasher};

use bevy_ecs::world::World;

use super::combat::{Fighter, NpcBrain, Sessions};
use super::economy::Economy;
use super::gameplay::{InputState, Motion, MotionHandle, NetId, Player, SnapshotHistory, Vitals};
use super::resources::{SimCounters, SimRng, Tick};

/// Hashes the tick, the RNG position, the counters, every body's motion in slot order, every
/// player's state in client order, every combat session and fighter, and the economy's balances,
/// inventories and open orders.
pub(crate) fn state_hash(world: &mut World) -> u64 {
    let mut hasher = DefaultHasher::new();
    world.resource::<Tick>().0.hash(&mut hasher);
    world.resource::<SimRng>().0.get_word_pos().hash(&mut hasher);
    world.resource::<SimCounters>().hash(&mut hasher);

    let motion = world.resource::<Motion>();
    for body in motion.bodies() {
        let [x, y] = body.position;
        let [vx, vy] = body.velocity;
        (body.net_id, [x, y, vx, vy].map(f32::to_bits)).hash(&mut hasher);
    }

    let mut players = world
        .query::<(
            &Player,
            &NetId,
            &MotionHandle,
            &InputState,
            &Vitals,
            &SnapshotHistory,
        )>()
        .iter(world)
        .map(|(player, net_id, handle, input, vitals, history)| {
            let floats = [input.aim[0], input.aim[1], vitals.health].map(f32::to_bits);
            let snapshots = (history.last_sent(), history.acked());
            let input = (input.last_seq, input.lead, input.buttons);
            (player.client, net_id.0, handle.0, floats, input, snapshots)
        })
        .collect::<Vec<_>>();
    players.sort_unstable_by_key(|(client, ..)| *client);
    players.hash(&mut hasher);

    for session in world.resource::<Sessions>().iter() {
        let times = (
            (session.created_tick, session.started_tick, session.ended_tick),
            (session.created_ns, session.started_ns),
        );
        (
            session.id,
            session.status,
            session.winner,
            session.teams,
            times,
            session.log.written(),
        )
            .hash(&mut hasher);
        for p in &session.participants {
            let floats = [p.health, p.damage_dealt, p.damage_taken, p.healing_done].map(f32::to_bits);
            let counts = [p.kills, p.deaths, p.assists, p.shots_fired, p.shots_hit];
            (p.member, p.net_id, p.status, floats, counts).hash(&mut hasher);
        }
    }
    let mut fighters = world
        .query::<(&Fighter, Option<&NpcBrain>)>()
        .iter(world)
        .map(|(f, brain)| {
            let timers = (f.next_shot_tick, f.ammo, f.reload_done_tick, f.ability_ready_tick);
            let brain = brain.map(|b| (b.kind, b.target, b.next_attack_tick));
            (
                f.session,
                f.slot,
                timers,
                f.action_tokens.to_bits(),
                f.effects,
                brain,
            )
        })
        .collect::<Vec<_>>();
    fighters.sort_unstable_by_key(|(session, slot, ..)| (*session, *slot));
    fighters.hash(&mut hasher);

    world.resource::<Economy>().digest().hash(&mut hasher);
    hasher.finish()
}

impl Economy {
    /// A digest of the economy: balances, ledger position, inventories, open orders, trades,
    /// auctions, remembered keys, experience and the makers. Equal economies have equal digests.
    pub fn digest(&self) -> u64 {
        let mut hasher = DefaultHasher::new();
        for (account, currency, balance) in self.ledger.balances() {
            (account, currency, balance).hash(&mut hasher);
        }
        self.ledger.next_seq().hash(&mut hasher);
        for (player, inventory) in self.inventories.iter() {
            (player, inventory).hash(&mut hasher);
        }
        let mut orders: Vec<_> = self.markets.orders().collect();
        orders.sort_unstable_by_key(|(id, _)| **id);
        orders.hash(&mut hasher);
        for (id, trade) in self.trades.iter() {
            (id, trade).hash(&mut hasher);
        }
        for (id, auction) in self.auctions.iter() {
            (id, auction).hash(&mut hasher);
        }
        (self.receipts.len(), &self.experience, &self.makers).hash(&mut hasher);
        hasher.finish()
    }
}
