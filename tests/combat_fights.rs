//! Fights through the simulation's command door: weapon fire with the damage formula computed by
//! hand, fire interval, ammunition, the action rate limit, range, status effects (freeze, burn),
//! kills ending a session with rewards, a raid that NPCs win with no client input, edits taking
//! effect on the next tick (weapons, player stats, effects and NPC kinds added or removed), and
//! timers keeping their time across a change of the tick rate.

mod common;

use std::sync::Arc;

use necpsim::sim::combat::{
    Difficulty, LogEvent, Member, ParticipantStatus, Role, SessionId, SessionKind, SessionStatus, Team,
};
use necpsim::sim::economy::ledger::{CurrencyId, PlayerId};
use necpsim::sim::{
    Action, ActionInput, ClientId, Command, Grant, MoveInput, Outbox, Refusal, ReplyBody, Reward,
    SessionSettings, Sim, SimEvent, Target,
};

use common::{close_quarters as config_with, step_with as tick};

fn refusals(outbox: &Outbox, client: u64) -> Vec<Refusal> {
    outbox
        .replies
        .iter()
        .filter(|r| r.client == ClientId(client))
        .filter_map(|r| match r.body {
            ReplyBody::Refused(refusal) => Some(refusal),
            _ => None,
        })
        .collect()
}

/// Players 1 (team A) and 2 (team B) in an active 1-vs-1 arena; returns the session and the
/// players' snapshot ids.
fn duel(sim: &mut Sim, roles: [Role; 2]) -> (SessionId, [u32; 2]) {
    let out = tick(sim, &[(1, Command::Join), (2, Command::Join)]);
    let net_ids: Vec<u32> = out
        .replies
        .iter()
        .filter_map(|r| match r.body {
            ReplyBody::Joined { net_id } => Some(net_id),
            _ => None,
        })
        .collect();
    // Elite, which makes only NPCs harder: a duel pays what it pays at normal.
    let settings = SessionSettings {
        kind: SessionKind::PvpArena,
        zone_id: 1,
        difficulty: Difficulty::Elite,
        team_size: Some(1),
        time_limit_s: None,
    };
    let out = tick(sim, &[(1, Command::CreateSession(settings))]);
    let ReplyBody::SessionCreated { session } = out.replies[0].body else {
        panic!("create refused")
    };
    let out = tick(
        sim,
        &[
            (
                1,
                Command::JoinSession {
                    session,
                    team: Team::TeamA,
                    role: roles[0],
                },
            ),
            (
                2,
                Command::JoinSession {
                    session,
                    team: Team::TeamB,
                    role: roles[1],
                },
            ),
        ],
    );
    assert!(
        out.replies
            .iter()
            .all(|r| matches!(r.body, ReplyBody::SessionJoined { .. }))
    );
    tick(sim, &[]);
    (session, [net_ids[0], net_ids[1]])
}

fn act(session: SessionId, action: Action, target: u32) -> Command {
    Command::Act(ActionInput {
        session,
        action,
        target: Target::Entity(target),
    })
}

/// The damage of every hit event in `outbox`.
fn hits(outbox: &Outbox) -> Vec<(Option<u32>, f32, bool)> {
    outbox
        .events
        .iter()
        .filter_map(|e| match *e {
            SimEvent::Hit {
                attacker,
                damage,
                crit,
                ..
            } => Some((attacker, damage, crit)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_rifle_hit_matches_the_formula_and_the_fire_interval_holds() {
    let mut sim = Sim::new(Arc::new(config_with(|_| {})));
    let (session, [a, b]) = duel(&mut sim, [Role::Assault, Role::Support]);
    // Assault rifle 18 base, +20 % attack power = 21.6; the target's armour 20 takes
    // 21.6 × 20 / 120 = 3.6: 18.0, or 21.6 × 1.6 − 3.6 = 31.36 on a crit.
    let out = tick(
        &mut sim,
        &[
            (1, act(session, Action::Fire, b)),
            (1, act(session, Action::Fire, b)),
        ],
    );
    assert_eq!(refusals(&out, 1), [Refusal::OnCooldown]);
    let [(attacker, damage, crit)] = hits(&out)[..] else {
        panic!("one hit expected: {:?}", hits(&out))
    };
    assert_eq!(attacker, Some(a));
    let expected = if crit { 31.36 } else { 18.0 };
    assert!((damage - expected).abs() < 1e-3, "{damage} (crit {crit})");

    // 100 ms between shots is 6 ticks at 60 Hz: refused for 5 more ticks, then allowed.
    let mut fired_at = None;
    for n in 1..=6 {
        let out = tick(&mut sim, &[(1, act(session, Action::Fire, b))]);
        if refusals(&out, 1).is_empty() {
            fired_at = Some(n);
            break;
        }
        assert_eq!(refusals(&out, 1), [Refusal::OnCooldown]);
    }
    assert_eq!(fired_at, Some(6));
}

#[test]
fn an_empty_magazine_reloads_and_actions_beyond_the_rate_are_refused() {
    let mut sim = Sim::new(Arc::new(config_with(|config| {
        let rifle = config
            .combat
            .weapons
            .weapons
            .get_mut("assault_rifle")
            .expect("rifle");
        rifle.magazine = 2;
        rifle.reload_ms = 1000;
        rifle.base_damage = 1.0;
    })));
    let (session, [_, b]) = duel(&mut sim, [Role::Assault, Role::Support]);
    let mut outcomes = Vec::new();
    for _ in 0..80 {
        let out = tick(&mut sim, &[(1, act(session, Action::Fire, b))]);
        outcomes.push(refusals(&out, 1).first().copied());
    }
    let shots: Vec<usize> = outcomes
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_none())
        .map(|(i, _)| i)
        .collect();
    // Two shots 6 ticks apart empty the magazine; the reload takes 60 ticks from the second.
    assert_eq!(shots[..3], [0, 6, 66]);
    assert!(outcomes[7..66].iter().all(|r| *r == Some(Refusal::Reloading)));

    // 100 actions per second with a bucket of a second's worth, full again: a burst of 150 in one
    // tick has 50 refused for the rate (and the rest for the fire interval or the reload).
    let burst: Vec<(u64, Command)> = (0..150).map(|_| (1, act(session, Action::Fire, b))).collect();
    let out = tick(&mut sim, &burst);
    let limited = refusals(&out, 1)
        .iter()
        .filter(|r| **r == Refusal::RateLimited)
        .count();
    assert_eq!(limited, 50);
}

#[test]
fn a_target_out_of_range_or_on_ones_own_team_is_refused() {
    let mut sim = Sim::new(Arc::new(config_with(|config| {
        config
            .combat
            .weapons
            .weapons
            .get_mut("assault_rifle")
            .expect("rifle")
            .range_m = 0.001;
    })));
    let (session, [a, b]) = duel(&mut sim, [Role::Assault, Role::Support]);
    let out = tick(&mut sim, &[(1, act(session, Action::Fire, b))]);
    assert_eq!(refusals(&out, 1), [Refusal::OutOfRange]);
    let out = tick(
        &mut sim,
        &[
            (1, act(session, Action::Fire, a)),
            (1, act(session, Action::Fire, 424_242)),
        ],
    );
    assert_eq!(
        refusals(&out, 1),
        [Refusal::InvalidTarget, Refusal::InvalidTarget]
    );
    let out = tick(&mut sim, &[(1, act(session, Action::Ability(3), b))]);
    assert_eq!(refusals(&out, 1), [Refusal::NoSuchAbility]);
    assert!(hits(&out).is_empty());
}

#[test]
fn freeze_stops_actions_and_movement_for_three_seconds() {
    let mut sim = Sim::new(Arc::new(config_with(|_| {})));
    let (session, [a, b]) = duel(&mut sim, [Role::Tech, Role::Assault]);
    // The tech's slot 0 is short_circuit: cyber damage and freeze.
    let out = tick(&mut sim, &[(1, act(session, Action::Ability(0), b))]);
    assert!(refusals(&out, 1).is_empty(), "{:?}", refusals(&out, 1));
    let start = sim.player_position(ClientId(2)).expect("joined");
    let mut stunned_ticks = 0;
    for seq in 1..=200u32 {
        let steer = Command::Move(MoveInput {
            seq,
            client_tick: u32::try_from(sim.tick()).expect("small") + 1,
            move_x: 1.0,
            ..MoveInput::default()
        });
        let out = tick(&mut sim, &[(2, steer), (2, act(session, Action::Fire, a))]);
        if refusals(&out, 2).contains(&Refusal::Stunned) {
            stunned_ticks += 1;
            let now = sim.player_position(ClientId(2)).expect("joined");
            assert_eq!(now, start, "a frozen player does not move");
        }
    }
    // 3 s at 60 Hz; the first tick of the freeze was the tick it landed.
    assert!((179..=180).contains(&stunned_ticks), "{stunned_ticks}");
    assert_ne!(
        sim.player_position(ClientId(2)),
        Some(start),
        "moves again after the freeze"
    );
}

#[test]
fn burn_pulses_once_a_second_through_the_formula() {
    // 15 per second, fire ×1.2 = 18, less armour 15 × 20 / 120 = 2.5: 15.5 per pulse, once a
    // second for 5 s.
    let pulses = burn_pulses(|_| {}, 60.0, 0);
    let times: Vec<u32> = pulses.iter().map(|p| p.0).collect();
    assert_eq!(times, [1000, 2000, 3000, 4000, 5000]);
    assert!(pulses.iter().all(|p| (p.1 - 15.5).abs() < 1e-4), "{pulses:?}");
}

/// The game time a fight must last for its session to pay (the bundled `min_active_s`).
const PAYING_FIGHT_S: f32 = 30.0;

/// Player 1 fires at 2 until 2 dies; returns the session's status in that tick and every reward
/// paid until then.
fn fight_to_the_kill(
    sim: &mut Sim,
    session: SessionId,
    [a, b]: [u32; 2],
) -> (Option<SessionStatus>, Vec<Reward>) {
    let mut rewards = Vec::new();
    for _ in 0..600 {
        let out = tick(sim, &[(1, act(session, Action::Fire, b))]);
        rewards.extend(out.rewards.iter().copied());
        if out.events.contains(&SimEvent::Killed {
            session,
            killer: Some(a),
            target: b,
        }) {
            let ended = out.events.iter().find_map(|e| match *e {
                SimEvent::SessionChanged { status, .. } => Some(status),
                _ => None,
            });
            return (ended, rewards);
        }
    }
    (None, rewards)
}

#[test]
fn a_zero_reward_costs_nobody_the_others() {
    // The loser's table also pays 0 cryptos, which the ledger refuses to mint.
    let mut sim = Sim::new(Arc::new(config_with(|config| {
        config
            .combat
            .loot
            .rewards
            .pvp_arena
            .currency_loss_minor
            .insert("cryptos".to_owned(), 0);
    })));
    let (session, players) = duel(&mut sim, [Role::Assault, Role::Support]);
    common::play_for(&mut sim, PAYING_FIGHT_S);
    let (ended, rewards) = fight_to_the_kill(&mut sim, session, players);
    assert_eq!(ended, Some(SessionStatus::Ended));
    assert!(rewards.iter().any(|r| r.grant
        == Grant::Currency {
            currency: 0,
            minor: 0
        }));
    let ledger = &sim.economy().ledger;
    let eurodollars = CurrencyId(1);
    assert_eq!(ledger.wallet(PlayerId(1), eurodollars), 100_000 + 25_000);
    assert_eq!(ledger.wallet(PlayerId(2), eurodollars), 100_000 + 5_000);
}

#[test]
fn a_fight_ended_before_it_has_lasted_min_active_s_pays_nothing() {
    let mut sim = Sim::new(Arc::new(config_with(|_| {})));
    let (session, players) = duel(&mut sim, [Role::Assault, Role::Support]);
    let (ended, rewards) = fight_to_the_kill(&mut sim, session, players);
    assert_eq!(ended, Some(SessionStatus::Ended));
    assert_eq!(rewards, [], "the kill came within the first {PAYING_FIGHT_S} s");
    let ledger = &sim.economy().ledger;
    for player in [1, 2] {
        assert_eq!(ledger.wallet(PlayerId(player), CurrencyId(1)), 100_000);
    }
}

#[test]
fn a_kill_ends_the_duel_and_pays_the_winner() {
    let mut sim = Sim::new(Arc::new(config_with(|_| {})));
    let (session, [a, b]) = duel(&mut sim, [Role::Assault, Role::Support]);
    common::play_for(&mut sim, PAYING_FIGHT_S);
    let (ended, rewards) = fight_to_the_kill(&mut sim, session, [a, b]);
    assert_eq!(ended, Some(SessionStatus::Ended));
    let out = tick(
        &mut sim,
        &[(
            3,
            Command::GetSession {
                session,
                log_after: 0,
            },
        )],
    );
    let ReplyBody::Session(view) = out.replies[0].body else {
        panic!("get refused")
    };
    assert_eq!(view.winner, Some(Team::TeamA));
    let [winner, loser] = view.participants.of(&out.participants) else {
        panic!("two participants")
    };
    assert_eq!(
        (winner.kills, loser.deaths, loser.status),
        (1, 1, ParticipantStatus::Dead)
    );
    assert!((loser.damage_taken - loser.max_health).abs() < 1e-3);
    assert!((winner.damage_dealt - loser.damage_taken).abs() < 1e-3);
    assert_eq!(winner.shots_fired, winner.shots_hit);
    assert!(view.log.of(&out.log).iter().any(|e| matches!(
        e.event,
        LogEvent::Kill {
            killer: Some(0),
            target: 1
        }
    )));

    let of = |client: u64| -> Vec<Grant> {
        rewards
            .iter()
            .filter(|r| r.client == ClientId(client))
            .map(|r| r.grant)
            .collect()
    };
    // The table's numbers, unscaled by the elite difficulty's reward_pct.
    let won = of(1);
    assert_eq!(
        won[..2],
        [
            Grant::Experience(550),
            Grant::Currency {
                currency: 1,
                minor: 25_000
            }
        ]
    );
    assert!(
        matches!(won[2..], [Grant::Item { .. }]),
        "one loot roll for the winner: {won:?}"
    );
    assert_eq!(
        of(2),
        [
            Grant::Experience(150),
            Grant::Currency {
                currency: 1,
                minor: 5_000
            }
        ]
    );
    assert_eq!(
        sim.player_count(),
        2,
        "players stay in the world after the session"
    );
    // The economy credited the rewards in the tick the session ended.
    let economy = sim.economy();
    let eurodollars = CurrencyId(1);
    let (winner, loser) = (PlayerId(1), PlayerId(2));
    assert_eq!(economy.ledger.wallet(winner, eurodollars), 100_000 + 25_000);
    assert_eq!(economy.ledger.wallet(loser, eurodollars), 100_000 + 5_000);
    assert_eq!(
        (economy.experience[&winner], economy.experience[&loser]),
        (550, 150)
    );
    let items = economy.inventories.of(winner).map_or(0, |i| {
        i.uniques.len() + i.stacks.values().map(|h| h.held as usize).sum::<usize>()
    });
    assert_eq!(items, 15 + 1, "the starting food and wood, and one loot item");
}

/// Player 1 alone, in `role`, against a raid's NPCs at `difficulty`; returns the session and the
/// output of the tick it started in.
fn raid(sim: &mut Sim, difficulty: Difficulty, role: Role) -> (SessionId, Outbox) {
    tick(sim, &[(1, Command::Join)]);
    let settings = SessionSettings {
        kind: SessionKind::PveRaid,
        zone_id: 3,
        difficulty,
        team_size: Some(1),
        time_limit_s: None,
    };
    let out = tick(sim, &[(1, Command::CreateSession(settings))]);
    let ReplyBody::SessionCreated { session } = out.replies[0].body else {
        panic!("create refused")
    };
    let join = Command::JoinSession {
        session,
        team: Team::TeamA,
        role,
    };
    (session, tick(sim, &[(1, join)]))
}

#[test]
fn a_raid_runs_to_its_end_with_no_client_input() {
    // A sturdy player, so that the NPCs have to chase and fight for a while.
    let mut sim = Sim::new(Arc::new(config_with(|config| {
        config.gameplay.characters.player.max_health = 20_000.0;
    })));
    let (session, joined) = raid(&mut sim, Difficulty::Hard, Role::Support);
    let mut outputs = vec![joined];
    let out = tick(
        &mut sim,
        &[(
            2,
            Command::GetSession {
                session,
                log_after: 0,
            },
        )],
    );
    let ReplyBody::Session(view) = out.replies[0].body else {
        panic!("get refused")
    };
    let participants = view.participants.of(&out.participants);
    let npcs: Vec<_> = participants.iter().filter(|p| p.team == Team::TeamB).collect();
    assert_eq!(npcs.len(), 4, "the raid's NPCs spawned at the start");
    let boss = npcs.iter().find(|p| p.max_health > 1000.0).expect("a boss");
    assert!(matches!(boss.member, Member::Npc(_)));
    assert_eq!(boss.max_health, 5000.0 * 1.5, "hard: NPC health ×1.5");
    outputs.push(out);

    for _ in 0..(60 * 120) {
        let out = tick(&mut sim, &[]);
        let ended = out.events.iter().any(|e| {
            matches!(
                e,
                SimEvent::SessionChanged {
                    status: SessionStatus::Ended,
                    ..
                }
            )
        });
        outputs.push(out);
        if ended {
            break;
        }
    }
    let out = tick(
        &mut sim,
        &[(
            2,
            Command::GetSession {
                session,
                log_after: 0,
            },
        )],
    );
    let ReplyBody::Session(view) = out.replies[0].body else {
        panic!("get refused")
    };
    assert_eq!(view.summary.status, SessionStatus::Ended);
    assert_eq!(view.winner, Some(Team::TeamB), "the NPCs won");
    assert!(
        view.ended_tick > view.started_tick + 60,
        "a fight of more than a second"
    );
    let participants = view.participants.of(&out.participants);
    let npc_damage: f32 = participants
        .iter()
        .filter(|p| p.team == Team::TeamB)
        .map(|p| p.damage_dealt)
        .sum();
    assert!((npc_damage - 20_000.0).abs() < 1e-2, "{npc_damage}");
    assert!(
        participants
            .iter()
            .filter(|p| p.team == Team::TeamB)
            .all(|p| p.shots_fired > 1)
    );

    let experience: Vec<Grant> = outputs
        .iter()
        .flat_map(|out| &out.rewards)
        .filter(|r| matches!(r.grant, Grant::Experience(_)))
        .map(|r| r.grant)
        .collect();
    assert_eq!(
        experience,
        [Grant::Experience(300)],
        "experience_loss 200 × 150 %"
    );
}

#[test]
fn a_weapon_edit_applies_on_the_next_tick() {
    let config = config_with(|_| {});
    let mut sim = Sim::new(Arc::new(config.clone()));
    let (session, [_, b]) = duel(&mut sim, [Role::Stealth, Role::Support]);
    let mut edited = config;
    let spike = edited
        .combat
        .weapons
        .weapons
        .get_mut("neural_spike")
        .expect("spike");
    // No crits, no effects: 200 base, +15 % = 230, cyber ×1.3 = 299, armour 20 takes 230 / 6.
    spike.base_damage = 200.0;
    spike.crit_chance = 0.0;
    spike.effect = None;
    sim.apply_config(Arc::new(edited));
    let out = tick(&mut sim, &[(1, act(session, Action::Fire, b))]);
    let [(_, damage, _)] = hits(&out)[..] else {
        panic!("one hit: {:?}", hits(&out))
    };
    let expected: f32 = (299.0 - 230.0 / 6.0f32).min(100.0);
    assert!((damage - expected).abs() < 1e-3, "{damage} vs {expected}");
}

#[test]
fn a_hot_weapon_is_refused_until_it_cools() {
    let mut sim = Sim::new(Arc::new(config_with(|config| {
        config.gameplay.characters.player.max_health = 1e9;
    })));
    let (session, [_, b]) = duel(&mut sim, [Role::Tech, Role::Support]);
    // The tech's arc caster: a shot every 400 ms (24 ticks), 12 heat per shot, 20 heat per second
    // cooling (8 per 24 ticks), capacity 100. Before shot k (from 0) the heat is 4k, so shot 23
    // (at tick 552) would reach 104 and is refused; 12 ticks of cooling later it fits again.
    let mut accepted = Vec::new();
    let mut first_overheat = None;
    for n in 0..600u32 {
        let out = tick(&mut sim, &[(1, act(session, Action::Fire, b))]);
        match refusals(&out, 1).first() {
            None => accepted.push(n),
            Some(Refusal::Overheated) if first_overheat.is_none() => first_overheat = Some(n),
            Some(Refusal::Overheated | Refusal::OnCooldown) => {}
            Some(other) => panic!("unexpected refusal {other:?} at {n}"),
        }
    }
    let expected: Vec<u32> = (0..23).map(|k| k * 24).collect();
    assert_eq!(accepted[..23], expected[..]);
    assert_eq!(first_overheat, Some(552));
    assert!(
        (563..=565).contains(&accepted[23]),
        "fires again once cooled: {}",
        accepted[23]
    );
}

#[test]
fn the_dead_stay_still_after_a_config_reload() {
    let config = config_with(|_| {});
    let mut sim = Sim::new(Arc::new(config.clone()));
    let out = tick(
        &mut sim,
        &[(1, Command::Join), (2, Command::Join), (3, Command::Join)],
    );
    let net_id = |client: u64| {
        out.replies
            .iter()
            .find_map(|r| match r.body {
                ReplyBody::Joined { net_id } if r.client == ClientId(client) => Some(net_id),
                _ => None,
            })
            .expect("joined")
    };
    let players = [net_id(1), net_id(2)];
    let settings = SessionSettings {
        kind: SessionKind::ExtractZone,
        zone_id: 1,
        difficulty: Difficulty::Normal,
        team_size: Some(3),
        time_limit_s: None,
    };
    let out = tick(&mut sim, &[(1, Command::CreateSession(settings))]);
    let ReplyBody::SessionCreated { session } = out.replies[0].body else {
        panic!("create refused")
    };
    let join = |client| {
        let command = Command::JoinSession {
            session,
            team: Team::Solo,
            role: Role::Assault,
        };
        (client, command)
    };
    tick(&mut sim, &[join(1), join(2), join(3)]);
    tick(&mut sim, &[]);
    let (ended, _) = fight_to_the_kill(&mut sim, session, players);
    assert_eq!(ended, None, "two players still fight");

    // Any edit gives every player's body its configured speed again; not a dead one's.
    let mut edited = config;
    edited.gameplay.characters.player.speed_mps += 1.0;
    sim.apply_config(Arc::new(edited));
    let position = |sim: &Sim| sim.player_position(ClientId(2)).map(|p| (p.x, p.y));
    let before = position(&sim);
    for seq in 1..=30 {
        let east = MoveInput {
            seq,
            client_tick: seq,
            move_x: 1.0,
            ..MoveInput::default()
        };
        tick(&mut sim, &[(2, Command::Move(east))]);
    }
    assert_eq!(position(&sim), before, "the dead player moved");
}

#[test]
fn rewards_are_credited_once_even_when_the_outputs_are_not_drained() {
    let mut sim = Sim::new(Arc::new(config_with(|_| {})));
    let (session, [_, b]) = duel(&mut sim, [Role::Assault, Role::Support]);
    common::play_for(&mut sim, PAYING_FIGHT_S);
    // Stepped as a headless user may: the outputs pile up, undrained.
    for _ in 0..600 {
        sim.submit(ClientId(1), act(session, Action::Fire, b))
            .expect("room");
        sim.step();
    }
    let ledger = &sim.economy().ledger;
    let eurodollars = CurrencyId(1);
    assert_eq!(ledger.wallet(PlayerId(1), eurodollars), 100_000 + 25_000);
    assert_eq!(ledger.wallet(PlayerId(2), eurodollars), 100_000 + 5_000);
}

/// Every participant of `session` as a read shows it.
fn participants(sim: &mut Sim, session: SessionId) -> Vec<necpsim::sim::combat::ParticipantView> {
    let read = Command::GetSession {
        session,
        log_after: 0,
    };
    let out = tick(sim, &[(9, read)]);
    let ReplyBody::Session(view) = out.replies[0].body else {
        panic!("get refused")
    };
    view.participants.of(&out.participants).to_vec()
}

/// The burn pulses in the 600 ticks after an assault's thermite charge (its slot 1: burn, an area
/// of 4 m around the target) lands on the support, the configuration changing by `edit` and the
/// tick rate to `rate_hz` before tick `at_tick` after the charge (0: never); each pulse as (game
/// milliseconds since the charge, damage).
fn burn_pulses(
    edit: impl FnOnce(&mut necpsim::config::Config),
    rate_hz: f32,
    at_tick: u32,
) -> Vec<(u32, f32)> {
    let config = config_with(|config| {
        let thermite = config
            .combat
            .abilities
            .abilities
            .get_mut("thermite_charge")
            .expect("thermite");
        thermite.base_damage = 0.0;
    });
    let mut sim = Sim::new(Arc::new(config.clone()));
    let (session, [_, b]) = duel(&mut sim, [Role::Assault, Role::Support]);
    let out = tick(&mut sim, &[(1, act(session, Action::Ability(1), b))]);
    assert!(refusals(&out, 1).is_empty(), "{:?}", refusals(&out, 1));
    let mut edited = config;
    edit(&mut edited);
    let mut pulses = Vec::new();
    let mut elapsed_ms = 0.0f64;
    for n in 1..=600 {
        if n == at_tick {
            sim.apply_config(Arc::new(edited.clone()));
            sim.set_tick_rate(rate_hz);
        }
        elapsed_ms += 1000.0 / f64::from(sim.tick_rate());
        let out = tick(&mut sim, &[]);
        pulses.extend(
            hits(&out)
                .into_iter()
                .filter(|(attacker, ..)| attacker.is_none())
                .map(|h| (elapsed_ms.round() as u32, h.1)),
        );
    }
    pulses
}

#[test]
fn a_burn_keeps_its_name_when_an_effect_is_added_before_it() {
    // "acid" sorts before "burn": the burn's slot moves from 0 to 1 in the middle of the burn.
    let pulses = burn_pulses(
        |config| {
            let effects = &mut config.combat.effects.effects;
            let mut acid = effects["burn"].clone();
            acid.damage_per_s = 500.0;
            effects.insert("acid".into(), acid);
        },
        60.0,
        90,
    );
    let times: Vec<u32> = pulses.iter().map(|p| p.0).collect();
    assert_eq!(times, [1000, 2000, 3000, 4000, 5000]);
    assert!(
        pulses.iter().all(|p| (p.1 - 15.5).abs() < 1e-4),
        "still the burn's: {pulses:?}"
    );
}

#[test]
fn a_burn_lasts_the_same_time_when_the_tick_rate_halves() {
    // Half a second in (30 ticks at 60 Hz) the rate drops to 30 Hz: the pulses still come once a
    // second and stop after five seconds.
    let pulses = burn_pulses(|_| {}, 30.0, 31);
    let times: Vec<u32> = pulses.iter().map(|p| p.0).collect();
    assert_eq!(times, [1000, 2000, 3000, 4000, 5000]);
}

#[test]
fn a_weapon_fires_at_its_interval_in_time_across_a_change_of_the_tick_rate() {
    let mut sim = Sim::new(Arc::new(config_with(|config| {
        config.gameplay.characters.player.max_health = 1e9;
    })));
    let (session, [_, b]) = duel(&mut sim, [Role::Tech, Role::Support]);
    // The tech's arc caster fires every 400 ms: 24 ticks at 60 Hz, 12 at 30 Hz.
    let mut elapsed_ms = 0.0f64;
    let mut shots = Vec::new();
    for n in 0..240 {
        if n == 12 {
            sim.set_tick_rate(30.0);
        }
        let out = tick(&mut sim, &[(1, act(session, Action::Fire, b))]);
        if refusals(&out, 1).is_empty() {
            shots.push(elapsed_ms.round() as u32);
        }
        elapsed_ms += 1000.0 / f64::from(sim.tick_rate());
    }
    let gaps: Vec<u32> = shots.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.len() > 10, "{shots:?}");
    assert!(gaps.iter().all(|&gap| gap == 400), "{shots:?}");
}

#[test]
fn an_armour_edit_and_a_health_edit_reach_players_already_fighting() {
    let config = config_with(|_| {});
    let mut sim = Sim::new(Arc::new(config.clone()));
    let (session, [_, b]) = duel(&mut sim, [Role::Assault, Role::Support]);
    let mut edited = config;
    edited.gameplay.characters.player.armor = 0.0;
    edited.gameplay.characters.player.max_health *= 2.0;
    sim.apply_config(Arc::new(edited));
    let out = tick(&mut sim, &[(1, act(session, Action::Fire, b))]);
    // 18 base, +20 % attack power = 21.6, ×1.6 on a crit; no armour takes any of it.
    let [(_, damage, crit)] = hits(&out)[..] else {
        panic!("one hit: {:?}", hits(&out))
    };
    let expected = if crit { 21.6 * 1.6 } else { 21.6 };
    assert!((damage - expected).abs() < 1e-3, "{damage} (crit {crit})");
    let target = participants(&mut sim, session)
        .into_iter()
        .find(|p| p.net_id == b)
        .expect("the target");
    assert_eq!(target.max_health, 200.0);
    assert!(
        (target.health - (200.0 - damage)).abs() < 1e-3,
        "{}",
        target.health
    );
}

#[test]
fn npcs_keep_their_kind_when_kinds_are_added_and_stop_when_theirs_is_removed() {
    let config = config_with(|config| {
        config.gameplay.characters.player.max_health = 1e9;
    });
    let mut sim = Sim::new(Arc::new(config.clone()));
    let (session, _) = raid(&mut sim, Difficulty::Normal, Role::Support);
    let kinds = |sim: &mut Sim, config: &necpsim::config::Config| -> Vec<(u32, Option<String>)> {
        participants(sim, session)
            .iter()
            .filter_map(|p| match p.member {
                Member::Npc(kind) => Some((
                    p.net_id,
                    config.combat.npcs.npcs.keys().nth(usize::from(kind)).cloned(),
                )),
                Member::Player(_) => None,
            })
            .collect()
    };
    let started = kinds(&mut sim, &config);
    assert_eq!(started.len(), 4);

    // "alley_cat" sorts first: every kind's index moves up by one.
    let mut added = config;
    let thug = added.combat.npcs.npcs["street_thug"].clone();
    added.combat.npcs.npcs.insert("alley_cat".into(), thug);
    sim.apply_config(Arc::new(added.clone()));
    tick(&mut sim, &[]);
    assert_eq!(kinds(&mut sim, &added), started);
    for _ in 0..600 {
        tick(&mut sim, &[]);
    }

    let mut removed = added;
    removed.combat.npcs.npcs.remove("cyberpsycho");
    removed
        .combat
        .sessions
        .types
        .pve_raid
        .npcs
        .retain(|npc| npc != "cyberpsycho");
    sim.apply_config(Arc::new(removed.clone()));
    tick(&mut sim, &[]);
    let psycho = started
        .iter()
        .find(|(_, name)| name.as_deref() == Some("cyberpsycho"))
        .expect("a cyberpsycho")
        .0;
    let expected: Vec<_> = started
        .iter()
        .map(|(net_id, name)| (*net_id, name.clone().filter(|_| *net_id != psycho)))
        .collect();
    assert_eq!(kinds(&mut sim, &removed), expected);
    let shots = |sim: &mut Sim| -> Vec<(u32, u32)> {
        participants(sim, session)
            .iter()
            .filter(|p| matches!(p.member, Member::Npc(_)))
            .map(|p| (p.net_id, p.shots_fired))
            .collect()
    };
    let before = shots(&mut sim);
    assert!(
        before.iter().all(|&(_, fired)| fired > 0),
        "every NPC fought: {before:?}"
    );
    for _ in 0..600 {
        tick(&mut sim, &[]);
    }
    for ((net_id, was), (_, is)) in before.into_iter().zip(shots(&mut sim)) {
        if net_id == psycho {
            assert_eq!(is, was, "an NPC of a removed kind stops acting");
        } else {
            assert!(is > was, "the others fight on");
        }
    }

    // Once the raid has ended, its record still names each NPC's kind through later edits.
    let ended = tick(&mut sim, &[(1, Command::EndSession { session })]);
    assert!(matches!(ended.replies[0].body, ReplyBody::SessionEnded { .. }));
    let mut renamed = removed;
    let thug = renamed.combat.npcs.npcs["street_thug"].clone();
    renamed.combat.npcs.npcs.insert("aardvark".into(), thug);
    sim.apply_config(Arc::new(renamed.clone()));
    tick(&mut sim, &[]);
    assert_eq!(kinds(&mut sim, &renamed), expected);
}

#[test]
fn a_boss_sheds_an_effect_that_an_edit_makes_hindering() {
    // Player 1 alone against the boss, which spawns next to it.
    let config = config_with(|config| {
        let raid = &mut config.combat.sessions.types.pve_raid;
        raid.npcs = vec!["cyberpsycho".into()];
        raid.npc_spawn_radius_m = 0.0;
        config.gameplay.characters.player.max_health = 1_000_000.0;
    });
    let mut sim = Sim::new(Arc::new(config.clone()));
    let (session, _) = raid(&mut sim, Difficulty::Normal, Role::Assault);
    let boss = participants(&mut sim, session)
        .into_iter()
        .find(|p| matches!(p.member, Member::Npc(_)))
        .expect("the boss")
        .net_id;
    // The assault's thermite charge burns the boss; then burn is edited to stop actions.
    let out = tick(&mut sim, &[(1, act(session, Action::Ability(1), boss))]);
    assert!(refusals(&out, 1).is_empty(), "{:?}", out.replies);
    let mut edited = config.clone();
    edited
        .combat
        .effects
        .effects
        .get_mut("burn")
        .expect("burn")
        .stops_actions = true;
    sim.apply_config(Arc::new(edited));
    let boss_hits: usize = (0..240)
        .map(|_| {
            hits(&tick(&mut sim, &[]))
                .iter()
                .filter(|(attacker, ..)| *attacker == Some(boss))
                .count()
        })
        .sum();
    assert!(boss_hits > 0, "the boss kept attacking");
}
