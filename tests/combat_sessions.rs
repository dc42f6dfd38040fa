//! Combat sessions through the simulation's command door: create, join, leave, end, get and list
//! with the seed's semantics, the lifecycle pending → active → ended | aborted, and a typed refusal
//! (changing nothing) for every operation that is not allowed.

mod common;

use std::sync::Arc;

use necpsim::config::Config;
use necpsim::sim::combat::{
    Difficulty, Member, ParticipantStatus, Role, SessionFilter, SessionId, SessionKind, SessionStatus, Team,
};
use necpsim::sim::{
    Action, ActionInput, ClientId, Command, Grant, ListQuery, Outbox, Refusal, ReplyBody, SessionSettings,
    Sim, SimEvent, Target,
};

use common::step_with as tick;

/// A world of the bundled assets with everyone spawning within a few metres of the origin.
fn world_with(edit: impl FnOnce(&mut Config)) -> Sim {
    Sim::new(Arc::new(common::close_quarters(edit)))
}

/// The bodies of the replies to `client`, in order.
fn replies(outbox: &Outbox, client: u64) -> Vec<ReplyBody> {
    outbox
        .replies
        .iter()
        .filter(|r| r.client == ClientId(client))
        .map(|r| r.body)
        .collect()
}

/// The only reply to `client`.
fn reply(outbox: &Outbox, client: u64) -> ReplyBody {
    let bodies = replies(outbox, client);
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    bodies[0]
}

fn settings(kind: SessionKind, team_size: u16) -> SessionSettings {
    SessionSettings {
        kind,
        zone_id: 7,
        difficulty: Difficulty::Normal,
        team_size: Some(team_size),
        time_limit_s: None,
    }
}

fn create(sim: &mut Sim, client: u64, settings: SessionSettings) -> SessionId {
    match reply(&tick(sim, &[(client, Command::CreateSession(settings))]), client) {
        ReplyBody::SessionCreated { session } => session,
        other => panic!("create refused: {other:?}"),
    }
}

fn join_world(sim: &mut Sim, clients: &[u64]) {
    let joins: Vec<(u64, Command)> = clients.iter().map(|&c| (c, Command::Join)).collect();
    tick(sim, &joins);
}

/// `creator` ends `session`, which closes with no winner as `status`; the tick's outputs.
fn end_without_winner(sim: &mut Sim, creator: u64, session: SessionId, status: SessionStatus) -> Outbox {
    let out = tick(sim, &[(creator, Command::EndSession { session })]);
    assert_eq!(
        reply(&out, creator),
        ReplyBody::SessionEnded {
            session,
            winner: None
        }
    );
    assert!(out.events.contains(&SimEvent::SessionChanged { session, status }));
    out
}

/// `creator` creates a session with `settings`, and `player` joins it on `team`.
fn joins_a_new_session(sim: &mut Sim, creator: u64, settings: SessionSettings, player: u64, team: Team) {
    let session = create(sim, creator, settings);
    let out = tick(sim, &[(player, join(session, team, Role::Assault))]);
    assert!(matches!(reply(&out, player), ReplyBody::SessionJoined { .. }));
}

fn join(session: SessionId, team: Team, role: Role) -> Command {
    Command::JoinSession { session, team, role }
}

#[test]
fn a_pvp_arena_starts_when_both_teams_are_full_and_get_shows_its_participants() {
    let mut sim = world_with(|_| {});
    join_world(&mut sim, &[1, 2, 3]);
    let session = create(&mut sim, 1, settings(SessionKind::PvpArena, 1));

    let out = tick(&mut sim, &[(1, join(session, Team::TeamA, Role::Assault))]);
    assert_eq!(reply(&out, 1), ReplyBody::SessionJoined { session, slot: 0 });
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
    let ReplyBody::Session(view) = reply(&out, 3) else {
        panic!("get refused")
    };
    assert_eq!(view.summary.status, SessionStatus::Pending);

    let out = tick(&mut sim, &[(2, join(session, Team::TeamB, Role::Support))]);
    assert!(out.events.contains(&SimEvent::SessionChanged {
        session,
        status: SessionStatus::Active
    }));
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
    let ReplyBody::Session(view) = reply(&out, 3) else {
        panic!("get refused")
    };
    assert_eq!(view.summary.status, SessionStatus::Active);
    assert_eq!(
        (view.summary.kind, view.zone_id, view.team_size),
        (SessionKind::PvpArena, 7, 1)
    );
    assert_eq!(view.summary.participant_count, 2);
    let participants = view.participants.of(&out.participants);
    assert_eq!(participants[0].member, Member::Player(ClientId(1)));
    assert_eq!(
        (participants[0].team, participants[0].role),
        (Team::TeamA, Role::Assault)
    );
    assert_eq!(
        (participants[1].team, participants[1].role),
        (Team::TeamB, Role::Support)
    );
    assert!(
        participants
            .iter()
            .all(|p| p.status == ParticipantStatus::Alive && p.health == p.max_health)
    );
    // Created, two joins, started.
    let log: Vec<u32> = view.log.of(&out.log).iter().map(|e| e.seq).collect();
    assert_eq!(log, [1, 2, 3, 4]);
    // A client that already holds the first two entries gets only the rest.
    let out = tick(
        &mut sim,
        &[(
            3,
            Command::GetSession {
                session,
                log_after: 2,
            },
        )],
    );
    let ReplyBody::Session(view) = reply(&out, 3) else {
        panic!("get refused")
    };
    let log: Vec<u32> = view.log.of(&out.log).iter().map(|e| e.seq).collect();
    assert_eq!(log, [3, 4]);
    assert_eq!(view.participants.len, 2, "participants come whole");
}

#[test]
fn every_refused_session_operation_has_its_code_and_changes_nothing() {
    let mut sim = world_with(|config| config.combat.sessions.limits.max_open_sessions = 2);
    join_world(&mut sim, &[1, 2, 3]);
    let missing = SessionId(999);
    let out = tick(
        &mut sim,
        &[
            (1, join(missing, Team::TeamA, Role::Assault)),
            (
                2,
                Command::GetSession {
                    session: missing,
                    log_after: 0,
                },
            ),
            (3, Command::EndSession { session: missing }),
        ],
    );
    for client in 1..=3 {
        assert_eq!(reply(&out, client), ReplyBody::Refused(Refusal::SessionNotFound));
    }

    let too_long = SessionSettings {
        time_limit_s: Some(999_999),
        ..settings(SessionKind::PvpArena, 1)
    };
    let too_big = settings(SessionKind::GuildWar, 101);
    // A free-for-all of one would have no opponent, and its player would win it by leaving.
    let alone = settings(SessionKind::ExtractZone, 1);
    let out = tick(
        &mut sim,
        &[
            (1, Command::CreateSession(too_long)),
            (2, Command::CreateSession(too_big)),
            (3, Command::CreateSession(alone)),
        ],
    );
    for client in 1..=3 {
        assert_eq!(reply(&out, client), ReplyBody::Refused(Refusal::InvalidSettings));
    }

    let arena = create(&mut sim, 1, settings(SessionKind::PvpArena, 1));
    let ffa = create(&mut sim, 1, settings(SessionKind::ExtractZone, 2));
    let out = tick(
        &mut sim,
        &[(1, Command::CreateSession(settings(SessionKind::PvpArena, 1)))],
    );
    assert_eq!(reply(&out, 1), ReplyBody::Refused(Refusal::TooManySessions));

    let out = tick(
        &mut sim,
        &[
            (1, join(arena, Team::Solo, Role::Tech)),
            (2, join(ffa, Team::TeamA, Role::Tech)),
            (3, Command::LeaveSession { session: arena }),
            (99, join(arena, Team::TeamA, Role::Tech)),
        ],
    );
    assert_eq!(reply(&out, 1), ReplyBody::Refused(Refusal::WrongTeam));
    assert_eq!(reply(&out, 2), ReplyBody::Refused(Refusal::WrongTeam));
    assert_eq!(reply(&out, 3), ReplyBody::Refused(Refusal::NotInSession));
    assert_eq!(reply(&out, 99), ReplyBody::Refused(Refusal::NotJoined));

    let out = tick(
        &mut sim,
        &[
            (1, join(arena, Team::TeamA, Role::Tech)),
            (2, join(arena, Team::TeamA, Role::Tech)),
        ],
    );
    assert!(matches!(reply(&out, 1), ReplyBody::SessionJoined { .. }));
    assert_eq!(reply(&out, 2), ReplyBody::Refused(Refusal::TeamFull));
    let fire = Command::Act(ActionInput {
        session: arena,
        action: Action::Fire,
        target: Target::Point([1.0, 0.0]),
    });
    let out = tick(&mut sim, &[(1, join(ffa, Team::Solo, Role::Tech)), (1, fire)]);
    assert_eq!(
        replies(&out, 1),
        [
            ReplyBody::Refused(Refusal::AlreadyInSession),
            ReplyBody::Refused(Refusal::SessionNotActive)
        ]
    );
    let out = tick(&mut sim, &[(2, Command::EndSession { session: arena })]);
    assert_eq!(reply(&out, 2), ReplyBody::Refused(Refusal::NotSessionOwner));

    for limit in [Some(0), Some(101)] {
        let query = ListQuery {
            limit,
            ..ListQuery::default()
        };
        let out = tick(&mut sim, &[(3, Command::ListSessions(query))]);
        assert_eq!(reply(&out, 3), ReplyBody::Refused(Refusal::InvalidSettings));
    }
    let out = tick(
        &mut sim,
        &[(
            3,
            Command::GetSession {
                session: arena,
                log_after: 0,
            },
        )],
    );
    let ReplyBody::Session(view) = reply(&out, 3) else {
        panic!("get refused")
    };
    assert_eq!(
        (view.summary.status, view.summary.participant_count),
        (SessionStatus::Pending, 1)
    );
}

#[test]
fn list_pages_newest_first_with_filters() {
    let mut sim = world_with(|config| config.combat.sessions.limits.max_open_sessions_per_creator = 60);
    join_world(&mut sim, &[1, 2]);
    let mut created = Vec::new();
    for n in 0..60 {
        let kind = if n % 3 == 0 {
            SessionKind::PveRaid
        } else {
            SessionKind::PvpArena
        };
        created.push(create(&mut sim, 1, settings(kind, 1)));
    }
    tick(&mut sim, &[(2, join(created[10], Team::TeamA, Role::Stealth))]);

    let list = |sim: &mut Sim, query: ListQuery| {
        let out = tick(sim, &[(1, Command::ListSessions(query))]);
        let ReplyBody::SessionList { summaries } = reply(&out, 1) else {
            panic!("list refused")
        };
        summaries.of(&out.summaries).to_vec()
    };
    let page = list(&mut sim, ListQuery::default());
    assert_eq!(page.len(), 50, "default limit");
    let ids: Vec<SessionId> = page.iter().map(|s| s.id).collect();
    let newest: Vec<SessionId> = created.iter().rev().take(50).copied().collect();
    assert_eq!(ids, newest);
    assert!(page.windows(2).all(|w| w[0].created_tick >= w[1].created_tick));

    let raids = ListQuery {
        filter: SessionFilter {
            kind: Some(SessionKind::PveRaid),
            ..SessionFilter::default()
        },
        offset: 5,
        limit: Some(100),
    };
    let page = list(&mut sim, raids);
    let expected: Vec<SessionId> = created.iter().step_by(3).rev().skip(5).copied().collect();
    assert_eq!(page.iter().map(|s| s.id).collect::<Vec<_>>(), expected);

    let mine = ListQuery {
        filter: SessionFilter {
            player: Some(ClientId(2)),
            status: Some(SessionStatus::Pending),
            ..SessionFilter::default()
        },
        ..ListQuery::default()
    };
    let page = list(&mut sim, mine);
    assert_eq!(
        page.iter()
            .map(|s| (s.id, s.participant_count))
            .collect::<Vec<_>>(),
        [(created[10], 1)]
    );
}

#[test]
fn a_pending_session_that_never_fills_is_aborted_and_later_forgotten() {
    let mut sim = world_with(|config| {
        config.combat.sessions.limits.pending_expiry_s = 1.0;
        config.combat.sessions.limits.ended_retention_s = 1.0;
    });
    join_world(&mut sim, &[1]);
    let session = create(&mut sim, 1, settings(SessionKind::PvpArena, 2));
    let aborted = (0..120)
        .map(|_| tick(&mut sim, &[]))
        .position(|out| {
            out.events.contains(&SimEvent::SessionChanged {
                session,
                status: SessionStatus::Aborted,
            })
        })
        .expect("aborted within two seconds");
    assert!(
        (55..=60).contains(&aborted),
        "after one second of 60 Hz ticks, got {aborted}"
    );
    assert!(
        tick(&mut sim, &[]).rewards.is_empty(),
        "an aborted session pays nothing"
    );
    for _ in 0..60 {
        tick(&mut sim, &[]);
    }
    let out = tick(
        &mut sim,
        &[(
            1,
            Command::GetSession {
                session,
                log_after: 0,
            },
        )],
    );
    assert_eq!(reply(&out, 1), ReplyBody::Refused(Refusal::SessionNotFound));
}

#[test]
fn an_ended_session_is_kept_for_its_retention_in_game_time_across_a_change_of_rate() {
    let mut sim = world_with(|config| {
        config.combat.sessions.limits.ended_retention_s = 1.0;
    });
    join_world(&mut sim, &[1]);
    let session = create(&mut sim, 1, settings(SessionKind::PvpArena, 2));
    end_without_winner(&mut sim, 1, session, SessionStatus::Aborted);
    let read = |sim: &mut Sim| {
        let get = Command::GetSession {
            session,
            log_after: 0,
        };
        reply(&tick(sim, &[(1, get)]), 1)
    };
    // Half a second at 60 Hz, then the rate halves: 0.4 s more (12 ticks) is still within the
    // second, 0.2 s after that is not.
    for _ in 0..29 {
        tick(&mut sim, &[]);
    }
    sim.set_tick_rate(30.0);
    for _ in 0..11 {
        tick(&mut sim, &[]);
    }
    assert!(
        matches!(read(&mut sim), ReplyBody::Session(_)),
        "kept for a second"
    );
    for _ in 0..5 {
        tick(&mut sim, &[]);
    }
    assert_eq!(read(&mut sim), ReplyBody::Refused(Refusal::SessionNotFound));
}

#[test]
fn leaving_before_the_start_frees_the_place_and_the_creator_may_end_an_active_session() {
    let mut sim = world_with(|_| {});
    join_world(&mut sim, &[1, 2, 3]);
    let session = create(&mut sim, 1, settings(SessionKind::PvpArena, 1));
    tick(&mut sim, &[(2, join(session, Team::TeamA, Role::Assault))]);
    let out = tick(&mut sim, &[(2, Command::LeaveSession { session })]);
    assert_eq!(reply(&out, 2), ReplyBody::SessionLeft { session });
    tick(
        &mut sim,
        &[
            (2, join(session, Team::TeamB, Role::Assault)),
            (3, join(session, Team::TeamA, Role::Tech)),
        ],
    );
    // Ended once it has lasted the bundled min_active_s: both players took part and lost (a
    // draw), experience_loss and currency_loss_minor each.
    common::play_for(&mut sim, 30.0);
    let out = end_without_winner(&mut sim, 1, session, SessionStatus::Ended);
    for client in [2, 3] {
        let grants: Vec<Grant> = out
            .rewards
            .iter()
            .filter(|r| r.client == ClientId(client) && r.session == session)
            .map(|r| r.grant)
            .collect();
        assert_eq!(
            grants,
            [
                Grant::Experience(150),
                Grant::Currency {
                    currency: 1,
                    minor: 5000
                }
            ]
        );
    }
    let out = tick(&mut sim, &[(1, Command::EndSession { session })]);
    assert_eq!(reply(&out, 1), ReplyBody::Refused(Refusal::SessionClosed));
    // Free again: the players may join another session.
    joins_a_new_session(&mut sim, 1, settings(SessionKind::PvpArena, 1), 2, Team::TeamA);
}

#[test]
fn beyond_max_ended_sessions_the_first_to_close_is_forgotten_first() {
    let mut sim = world_with(|config| {
        config.combat.sessions.limits.ended_retention_s = 3600.0;
        config.combat.sessions.limits.max_ended_sessions = 2;
    });
    join_world(&mut sim, &[1, 2]);
    let get = |session| Command::GetSession {
        session,
        log_after: 0,
    };
    let mut ended = Vec::new();
    for _ in 0..3 {
        let session = create(&mut sim, 1, settings(SessionKind::ExtractZone, 2));
        tick(
            &mut sim,
            &[
                (1, join(session, Team::Solo, Role::Assault)),
                (2, join(session, Team::Solo, Role::Assault)),
            ],
        );
        let out = tick(&mut sim, &[(1, Command::EndSession { session })]);
        assert!(
            matches!(reply(&out, 1), ReplyBody::SessionEnded { .. }),
            "{:?}",
            reply(&out, 1)
        );
        ended.push(session);
    }

    let out = tick(&mut sim, &[(1, get(ended[0]))]);
    assert_eq!(reply(&out, 1), ReplyBody::Refused(Refusal::SessionNotFound));
    for &session in &ended[1..] {
        let out = tick(&mut sim, &[(1, get(session))]);
        let ReplyBody::Session(view) = reply(&out, 1) else {
            panic!("a recent ended session is forgotten")
        };
        assert_eq!(view.summary.status, SessionStatus::Ended);
    }
    let out = tick(&mut sim, &[(1, Command::ListSessions(ListQuery::default()))]);
    let ReplyBody::SessionList { summaries } = reply(&out, 1) else {
        panic!("list refused")
    };
    let listed: Vec<SessionId> = summaries.of(&out.summaries).iter().map(|s| s.id).collect();
    assert_eq!(listed, [ended[2], ended[1]]);
}

#[test]
fn the_creator_ending_a_pending_session_aborts_it_and_frees_every_place_at_once() {
    let mut sim = world_with(|config| config.combat.sessions.limits.max_open_sessions_per_creator = 1);
    join_world(&mut sim, &[1, 2]);
    let arena = settings(SessionKind::PvpArena, 2);
    let session = create(&mut sim, 1, arena);
    let out = tick(
        &mut sim,
        &[
            (2, join(session, Team::TeamA, Role::Assault)),
            (1, Command::CreateSession(arena)),
        ],
    );
    assert!(matches!(reply(&out, 2), ReplyBody::SessionJoined { .. }));
    assert_eq!(reply(&out, 1), ReplyBody::Refused(Refusal::TooManySessions));
    let out = tick(&mut sim, &[(2, Command::EndSession { session })]);
    assert_eq!(reply(&out, 2), ReplyBody::Refused(Refusal::NotSessionOwner));

    let out = end_without_winner(&mut sim, 1, session, SessionStatus::Aborted);
    assert!(out.rewards.is_empty(), "an aborted session pays nothing");
    let out = tick(
        &mut sim,
        &[
            (
                3,
                Command::GetSession {
                    session,
                    log_after: 0,
                },
            ),
            (1, Command::EndSession { session }),
        ],
    );
    let ReplyBody::Session(view) = reply(&out, 3) else {
        panic!("get refused")
    };
    assert_eq!(view.summary.status, SessionStatus::Aborted);
    assert_eq!(reply(&out, 1), ReplyBody::Refused(Refusal::SessionClosed));
    // The creator may create again, and the player who had joined may join elsewhere, at once.
    joins_a_new_session(&mut sim, 1, arena, 2, Team::TeamB);
}

#[test]
fn one_creator_holds_at_most_its_share_of_the_open_sessions() {
    let mut sim = world_with(|config| {
        config.combat.sessions.limits.max_open_sessions_per_creator = 2;
        config.combat.sessions.limits.pending_expiry_s = 1.0;
    });
    join_world(&mut sim, &[1, 2]);
    let arena = settings(SessionKind::PvpArena, 1);
    create(&mut sim, 1, arena);
    create(&mut sim, 1, arena);
    let out = tick(&mut sim, &[(1, Command::CreateSession(arena))]);
    assert_eq!(reply(&out, 1), ReplyBody::Refused(Refusal::TooManySessions));
    create(&mut sim, 2, arena);
    // Once its sessions lapse unstarted, the creator has room again.
    for _ in 0..2 * 60 {
        tick(&mut sim, &[]);
    }
    create(&mut sim, 1, arena);
}

#[test]
fn a_time_limit_lasts_its_seconds_across_a_change_of_the_tick_rate() {
    let mut sim = world_with(|_| {});
    join_world(&mut sim, &[1, 2]);
    let two_seconds = SessionSettings {
        time_limit_s: Some(2),
        ..settings(SessionKind::PvpArena, 1)
    };
    let session = create(&mut sim, 1, two_seconds);
    tick(
        &mut sim,
        &[
            (1, join(session, Team::TeamA, Role::Assault)),
            (2, join(session, Team::TeamB, Role::Assault)),
        ],
    );
    let ended = |out: &Outbox| {
        out.events.contains(&SimEvent::SessionChanged {
            session,
            status: SessionStatus::Ended,
        })
    };
    // One second at 60 Hz, then the rate halves: one second is left, 30 ticks at 30 Hz.
    for _ in 0..60 {
        assert!(!ended(&tick(&mut sim, &[])), "ended early");
    }
    sim.set_tick_rate(30.0);
    let more = (1..=120)
        .find(|_| ended(&tick(&mut sim, &[])))
        .expect("ended within four seconds");
    assert!((29..=31).contains(&more), "ended after {more} ticks at 30 Hz");
}

#[test]
fn a_session_keeps_the_team_mode_it_was_created_with_across_an_edit() {
    use necpsim::config::TeamMode;

    let edited = |edit: fn(&mut Config)| Arc::new(common::close_quarters(edit));
    let mut sim = world_with(|_| {});
    join_world(&mut sim, &[1, 2, 3, 4]);
    // A one-against-one arena, and a free-for-all of two.
    let arena = create(&mut sim, 1, settings(SessionKind::PvpArena, 1));
    let zone = create(&mut sim, 3, settings(SessionKind::ExtractZone, 2));
    tick(
        &mut sim,
        &[
            (1, join(arena, Team::TeamA, Role::Assault)),
            (2, join(arena, Team::TeamB, Role::Assault)),
            (3, join(zone, Team::Solo, Role::Assault)),
            (4, join(zone, Team::Solo, Role::Assault)),
        ],
    );
    // The modes swap: under the new ones the arena would have no solo player alive and the zone
    // no team, and both would end at once.
    sim.apply_config(edited(|config| {
        let types = &mut config.combat.sessions.types;
        types.pvp_arena.teams = TeamMode::Solo;
        types.extract_zone.teams = TeamMode::TwoTeams;
    }));
    // Played for the half minute a fight must last to pay.
    for _ in 0..30 * 60 {
        let out = tick(&mut sim, &[]);
        assert!(
            !out.events
                .iter()
                .any(|e| matches!(e, SimEvent::SessionChanged { .. })),
            "{:?}",
            out.events
        );
        assert!(out.rewards.is_empty());
    }
    // Each still follows its own mode: the arena takes teams and ends in a tie of teams, and
    // everyone standing in the free-for-all wins it.
    join_world(&mut sim, &[5]);
    let out = tick(&mut sim, &[(5, join(arena, Team::Solo, Role::Assault))]);
    assert_eq!(reply(&out, 5), ReplyBody::Refused(Refusal::WrongTeam));
    end_without_winner(&mut sim, 1, arena, SessionStatus::Ended);
    let out = tick(&mut sim, &[(3, Command::EndSession { session: zone })]);
    assert_eq!(
        reply(&out, 3),
        ReplyBody::SessionEnded {
            session: zone,
            winner: None
        }
    );
    let experience: Vec<(u64, Grant)> = out
        .rewards
        .iter()
        .filter(|r| matches!(r.grant, Grant::Experience(_)))
        .map(|r| (r.client.0, r.grant))
        .collect();
    let win = Grant::Experience(800);
    assert_eq!(experience, [(3, win), (4, win)]);
}
