//! Decoding received bytes: checked rkyv access (bytecheck validates every archive before it is
//! read), then range checks of the values bytecheck cannot judge, then conversion into the
//! simulation's [`Command`]s. Every decoder takes bytes from an aligned buffer
//! ([`super::framing`]) and fails with a [`DecodeError`], never a panic.

use rkyv::Archive;
use rkyv::api::high::HighValidator;
use rkyv::bytecheck::CheckBytes;
use rkyv::rancor;

use super::c2s::{
    ArchivedActC2s, ArchivedControlC2s, ArchivedDatagramC2s, ArchivedEconomyOpC2s, ArchivedEconomyReadC2s,
    ArchivedGoodsC2s, ArchivedInputC2s, ArchivedRequestC2s, ArchivedTargetC2s, topics,
};
use super::codes::ErrorCode;
use crate::sim::combat::{Difficulty, Role, SessionFilter, SessionId, SessionKind, SessionStatus, Team};
use crate::sim::economy::Side;
use crate::sim::{
    Action, ActionInput, AuctionTerms, ClientId, Command, EconomyOp, EconomyRead, EconomyRequest, Goods,
    ListQuery, MoveInput, SessionSettings, Target, TradeCounter, TradeOffer,
};

/// Why received bytes were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes are not a valid archive of the expected message.
    #[error("malformed message")]
    Malformed,
    /// A valid archive holding a value out of range.
    #[error("value out of range: {0}")]
    InvalidValue(&'static str),
}

impl DecodeError {
    /// The code a connection is closed with.
    pub fn code(self) -> ErrorCode {
        match self {
            DecodeError::Malformed => ErrorCode::Malformed,
            DecodeError::InvalidValue(_) => ErrorCode::InvalidValue,
        }
    }
}

/// A checked control frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Request<'a> {
    /// Opens the connection.
    Hello {
        /// The client's protocol version.
        protocol_version: u16,
        /// The session token.
        token: &'a str,
    },
    /// Measures the round trip.
    Ping {
        /// Echoed back.
        client_time_us: u64,
    },
    /// Replaces the event subscription.
    Subscribe {
        /// Topic bits, all known.
        topics: u32,
        /// The session of [`topics::COMBAT`].
        session: u64,
    },
    /// A command for the simulation.
    Sim(Command),
}

/// Checked access to an archive of `T` in `bytes` (which must be aligned).
pub fn access<T>(bytes: &[u8]) -> Result<&T::Archived, DecodeError>
where
    T: Archive,
    T::Archived: for<'a> CheckBytes<HighValidator<'a, rancor::Error>>,
{
    rkyv::access::<T::Archived, rancor::Error>(bytes).map_err(|_| DecodeError::Malformed)
}

/// A checked, owned copy of the archive of `T` in `bytes` (which must be aligned); for clients,
/// which keep what they receive.
pub fn read_owned<T>(bytes: &[u8]) -> Result<T, DecodeError>
where
    T: Archive,
    T::Archived: for<'a> CheckBytes<HighValidator<'a, rancor::Error>>
        + rkyv::Deserialize<T, rkyv::api::high::HighDeserializer<rancor::Error>>,
{
    rkyv::from_bytes::<T, rancor::Error>(bytes).map_err(|_| DecodeError::Malformed)
}

/// Decodes one control frame into its request number and request.
pub fn decode_control(frame: &[u8]) -> Result<(u32, Request<'_>), DecodeError> {
    let control = access::<super::c2s::ControlC2s>(frame)?;
    Ok((control.request_id.to_native(), request(control)?))
}

/// Decodes one datagram into a movement input or a snapshot acknowledgement.
pub fn decode_datagram(bytes: &[u8]) -> Result<Command, DecodeError> {
    Ok(match access::<super::c2s::DatagramC2s>(bytes)? {
        ArchivedDatagramC2s::Input(input) => Command::Move(move_input(input)),
        ArchivedDatagramC2s::AckSnapshot(ack) => Command::AckSnapshot {
            seq: ack.seq.to_native(),
        },
    })
}

fn request(control: &ArchivedControlC2s) -> Result<Request<'_>, DecodeError> {
    Ok(Request::Sim(match &control.body {
        ArchivedRequestC2s::Hello(hello) => {
            return Ok(Request::Hello {
                protocol_version: hello.protocol_version.to_native(),
                token: hello.token.as_str(),
            });
        }
        ArchivedRequestC2s::Ping(ping) => {
            return Ok(Request::Ping {
                client_time_us: ping.client_time_us.to_native(),
            });
        }
        ArchivedRequestC2s::Subscribe(subscribe) => {
            let bits = subscribe.topics.to_native();
            if bits & !topics::ALL != 0 {
                return Err(DecodeError::InvalidValue("subscribe.topics"));
            }
            return Ok(Request::Subscribe {
                topics: bits,
                session: subscribe.session.to_native(),
            });
        }
        ArchivedRequestC2s::Input(input) => Command::Move(move_input(input)),
        ArchivedRequestC2s::AckSnapshot(ack) => Command::AckSnapshot {
            seq: ack.seq.to_native(),
        },
        ArchivedRequestC2s::CreateSession(create) => Command::CreateSession(SessionSettings {
            kind: code(&SessionKind::ALL, create.kind, "create_session.kind")?,
            zone_id: create.zone_id.to_native(),
            difficulty: code(&DIFFICULTIES, create.difficulty, "create_session.difficulty")?,
            team_size: create.team_size.as_ref().map(|size| size.to_native()),
            time_limit_s: create.time_limit_s.as_ref().map(|limit| limit.to_native()),
        }),
        ArchivedRequestC2s::JoinSession(join) => Command::JoinSession {
            session: SessionId(join.session.to_native()),
            team: code(&TEAMS, join.team, "join_session.team")?,
            role: code(&Role::ALL, join.role, "join_session.role")?,
        },
        ArchivedRequestC2s::LeaveSession(target) => Command::LeaveSession {
            session: SessionId(target.session.to_native()),
        },
        ArchivedRequestC2s::EndSession(target) => Command::EndSession {
            session: SessionId(target.session.to_native()),
        },
        ArchivedRequestC2s::GetSession(get) => Command::GetSession {
            session: SessionId(get.session.to_native()),
            log_after: get.log_after.to_native(),
        },
        ArchivedRequestC2s::ListSessions(list) => Command::ListSessions(ListQuery {
            filter: SessionFilter {
                status: list
                    .status
                    .as_ref()
                    .map(|&status| code(&STATUSES, status, "list_sessions.status"))
                    .transpose()?,
                kind: list
                    .kind
                    .as_ref()
                    .map(|&kind| code(&SessionKind::ALL, kind, "list_sessions.kind"))
                    .transpose()?,
                player: list.player.as_ref().map(|player| ClientId(player.to_native())),
            },
            offset: list.offset.to_native(),
            limit: list.limit.as_ref().map(|limit| limit.to_native()),
        }),
        ArchivedRequestC2s::Act(act) => Command::Act(action(act)?),
        ArchivedRequestC2s::Economy(economy) => Command::Economy(EconomyRequest {
            key: economy.idempotency_key.to_native(),
            op: economy_op(&economy.op)?,
        }),
        ArchivedRequestC2s::EconomyRead(read) => Command::EconomyRead(match read {
            ArchivedEconomyReadC2s::Wallet => EconomyRead::Wallet,
            ArchivedEconomyReadC2s::Inventory => EconomyRead::Inventory,
            ArchivedEconomyReadC2s::Market { item, depth } => EconomyRead::Market {
                item: item.to_native(),
                depth: *depth,
            },
            ArchivedEconomyReadC2s::Candles { item, count } => EconomyRead::Candles {
                item: item.to_native(),
                count: count.to_native(),
            },
        }),
    }))
}

const DIFFICULTIES: [Difficulty; 3] = [Difficulty::Normal, Difficulty::Hard, Difficulty::Elite];
const TEAMS: [Team; 3] = [Team::TeamA, Team::TeamB, Team::Solo];
const STATUSES: [SessionStatus; 4] = [
    SessionStatus::Pending,
    SessionStatus::Active,
    SessionStatus::Ended,
    SessionStatus::Aborted,
];
const SIDES: [Side; 2] = [Side::Buy, Side::Sell];
/// Ability slots a role may have.
const ABILITY_SLOTS: u8 = 4;

/// The value whose code is `code` in a table indexed by code.
fn code<T: Copy>(table: &[T], code: u8, field: &'static str) -> Result<T, DecodeError> {
    table
        .get(usize::from(code))
        .copied()
        .ok_or(DecodeError::InvalidValue(field))
}

fn move_input(input: &ArchivedInputC2s) -> MoveInput {
    // Non-finite numbers are the simulation's to refuse (and count), like any other bad input.
    MoveInput {
        seq: input.seq.to_native(),
        client_tick: input.client_tick.to_native(),
        move_x: input.move_x.to_native(),
        move_y: input.move_y.to_native(),
        aim_x: input.aim_x.to_native(),
        aim_y: input.aim_y.to_native(),
        buttons: input.buttons,
        predicted: input
            .predicted
            .as_ref()
            .map(|[x, y]| [x.to_native(), y.to_native()]),
        ack: input.ack.to_native(),
    }
}

fn action(act: &ArchivedActC2s) -> Result<ActionInput, DecodeError> {
    let action = match act.ability.as_ref() {
        None => Action::Fire,
        Some(&slot) if slot < ABILITY_SLOTS => Action::Ability(slot),
        Some(_) => return Err(DecodeError::InvalidValue("act.ability")),
    };
    let target = match &act.target {
        ArchivedTargetC2s::Entity(id) => Target::Entity(id.to_native()),
        ArchivedTargetC2s::Point([x, y]) => {
            let point = [x.to_native(), y.to_native()];
            if !point.iter().all(|v| v.is_finite()) {
                return Err(DecodeError::InvalidValue("act.target"));
            }
            Target::Point(point)
        }
    };
    Ok(ActionInput {
        session: SessionId(act.session.to_native()),
        action,
        target,
    })
}

fn goods(goods: &ArchivedGoodsC2s) -> Goods {
    Goods {
        money: goods
            .money
            .each_ref()
            .map(|entry| (entry.0.to_native(), entry.1.to_native())),
        items: goods
            .items
            .each_ref()
            .map(|entry| (entry.0.to_native(), entry.1.to_native())),
        unique: goods.unique.to_native(),
    }
}

fn economy_op(op: &ArchivedEconomyOpC2s) -> Result<EconomyOp, DecodeError> {
    Ok(match op {
        ArchivedEconomyOpC2s::Transfer {
            to,
            currency,
            amount_minor,
        } => EconomyOp::Transfer {
            to: ClientId(to.to_native()),
            currency: currency.to_native(),
            amount_minor: amount_minor.to_native(),
        },
        ArchivedEconomyOpC2s::PlaceOrder {
            item,
            side,
            price_minor,
            quantity,
            lifetime_s,
        } => EconomyOp::PlaceOrder {
            item: item.to_native(),
            side: code(&SIDES, *side, "place_order.side")?,
            price_minor: price_minor.to_native(),
            quantity: quantity.to_native(),
            lifetime_s: lifetime_s.as_ref().map(|s| s.to_native()),
        },
        ArchivedEconomyOpC2s::CancelOrder { order } => EconomyOp::CancelOrder {
            order: order.to_native(),
        },
        ArchivedEconomyOpC2s::OfferTrade {
            to,
            gives,
            wants,
            lifetime_s,
        } => EconomyOp::OfferTrade(Box::new(TradeOffer {
            to: ClientId(to.to_native()),
            gives: goods(gives),
            wants: goods(wants),
            lifetime_s: lifetime_s.to_native(),
        })),
        ArchivedEconomyOpC2s::CounterTrade { trade, gives, wants } => {
            EconomyOp::CounterTrade(Box::new(TradeCounter {
                trade: trade.to_native(),
                gives: goods(gives),
                wants: goods(wants),
            }))
        }
        ArchivedEconomyOpC2s::AcceptTrade { trade, version } => EconomyOp::AcceptTrade {
            trade: trade.to_native(),
            version: version.to_native(),
        },
        ArchivedEconomyOpC2s::CancelTrade { trade } => EconomyOp::CancelTrade {
            trade: trade.to_native(),
        },
        ArchivedEconomyOpC2s::CreateAuction(terms) => EconomyOp::CreateAuction(Box::new(AuctionTerms {
            item: terms.item.to_native(),
            quantity: terms.quantity.to_native(),
            starting_price: terms.starting_price.to_native(),
            bid_increment: terms.bid_increment.to_native(),
            reserve: terms.reserve.to_native(),
            buyout: terms.buyout.to_native(),
            duration_h: terms.duration_h.to_native(),
            unique: terms.unique.to_native(),
        })),
        ArchivedEconomyOpC2s::Bid {
            auction,
            amount_minor,
        } => EconomyOp::Bid {
            auction: auction.to_native(),
            amount_minor: amount_minor.to_native(),
        },
        ArchivedEconomyOpC2s::Exchange {
            from,
            to,
            amount_minor,
        } => EconomyOp::Exchange {
            from: from.to_native(),
            to: to.to_native(),
            amount_minor: amount_minor.to_native(),
        },
    })
}
