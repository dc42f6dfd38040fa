//! Server-to-client messages: replies on the control stream ([`ReplyS2c`], carrying the request
//! number they answer), pushes on the server's event stream ([`PushS2c`]: events, and snapshots
//! too large for a datagram), and snapshot datagrams ([`SnapshotS2c`]). Built from the simulation's
//! outputs here, so the network layer only routes them.

use rkyv::munge::munge;
use rkyv::rancor::Fallible;
use rkyv::ser::{Allocator, Writer};
use rkyv::vec::{ArchivedVec, VecResolver};
use rkyv::{Archive, Deserialize, Place, Serialize};

use super::combat::{SessionListS2c, SessionS2c, SessionSummaryS2c};
use crate::sim::{ClientId, Outbox, Reply, ReplyBody, SimEvent};

/// One frame on the control stream.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(derive(Debug))]
pub struct ReplyS2c {
    /// The request this answers (0: an unsolicited refusal, such as of a movement input).
    pub request_id: u32,
    /// The server tick that produced it.
    pub tick: u64,
    /// What happened.
    pub body: ReplyBodyS2c,
}

/// What a reply says. The variants after `Refused` mirror `sim::ReplyBody`, with ids as plain
/// numbers and the rows of reads inline.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(derive(Debug))]
pub enum ReplyBodyS2c {
    /// The answer to `Hello`: the player is in the world.
    Welcome(WelcomeS2c),
    /// The answer to `Ping`.
    Pong {
        /// The ping's value.
        client_time_us: u64,
    },
    /// The subscription now in force.
    Subscribed {
        /// Topic bits.
        topics: u32,
    },
    /// The request was refused and changed nothing; [`super::error_message`] describes the code.
    Refused {
        /// A simulation refusal code (below 1000) or a protocol [`super::ErrorCode`].
        code: u16,
    },
    Left,
    Acted,
    SessionCreated {
        session: u64,
    },
    SessionJoined {
        session: u64,
        slot: u16,
    },
    SessionLeft {
        session: u64,
    },
    SessionEnded {
        session: u64,
        winner: Option<u8>,
    },
    Session(SessionS2c),
    SessionList(SessionListS2c),
    Transferred {
        entry: u64,
    },
    OrderPlaced {
        order: u64,
        filled: u32,
        resting: u32,
    },
    OrderCancelled {
        order: u64,
        remaining: u32,
    },
    TradeProposed {
        trade: u64,
        version: u32,
    },
    AuctionCreated {
        auction: u64,
    },
    BidPlaced {
        auction: u64,
        won: bool,
    },
    Exchanged {
        received: i64,
    },
    TradeDone {
        trade: u64,
    },
    TradeCancelled {
        trade: u64,
    },
    Wallet {
        balances: Vec<BalanceS2c>,
    },
    Inventory {
        holdings: Vec<HoldingS2c>,
        uniques: Vec<UniqueS2c>,
    },
    Market(MarketS2c),
    Candles {
        item: u16,
        candles: Vec<CandleS2c>,
    },
}

/// The server accepted the connection.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
#[rkyv(derive(Debug))]
pub struct WelcomeS2c {
    /// The server's [`super::PROTOCOL_VERSION`].
    pub protocol_version: u16,
    /// The player the token names.
    pub player: u64,
    /// The player's id in snapshots.
    pub net_id: u32,
    /// Simulation ticks per second.
    pub tick_rate_hz: f32,
    /// The tick the player entered at.
    pub server_tick: u64,
    /// Metres per step of the positions in snapshots, as configured when the player entered.
    pub position_precision_m: f32,
}

/// One currency of a wallet, minor units.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct BalanceS2c {
    /// Currency index.
    pub currency: u16,
    /// Free to spend.
    pub available: i64,
    /// Held for open orders, trades and bids.
    pub reserved: i64,
}

/// One stackable item of an inventory.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct HoldingS2c {
    /// Item index.
    pub item: u16,
    /// Free units.
    pub held: u32,
    /// Units escrowed by open sell orders, trades and auctions.
    pub escrowed: u32,
    /// Units still to arrive from open buy orders.
    pub incoming: u32,
}

/// One unique item of an inventory.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct UniqueS2c {
    /// Its id.
    pub id: u64,
    /// Item index.
    pub item: u16,
}

/// An item's market.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct MarketS2c {
    /// Item index.
    pub item: u16,
    /// Price of the last fill.
    pub last: Option<i64>,
    /// Best bid.
    pub bid: Option<i64>,
    /// Best ask.
    pub ask: Option<i64>,
    /// (price, units) of the best bid levels, best first.
    pub bids: Vec<(i64, u64)>,
    /// (price, units) of the best ask levels, best first.
    pub asks: Vec<(i64, u64)>,
}

/// One OHLCV candle.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct CandleS2c {
    /// First tick of its interval.
    pub open_tick: u64,
    /// First fill price.
    pub open: i64,
    /// Highest fill price.
    pub high: i64,
    /// Lowest fill price.
    pub low: i64,
    /// Last fill price.
    pub close: i64,
    /// Units traded.
    pub volume: u64,
}

/// One frame on the server's event stream.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(derive(Debug))]
pub enum PushS2c {
    /// Something the client subscribed to (or a trade proposal made to it).
    Event(EventS2c),
    /// A snapshot too large for one datagram.
    Snapshot(SnapshotS2c),
}

/// A server event (see `sim::SimEvent`).
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
#[rkyv(derive(Debug))]
pub enum EventS2c {
    /// A player entered the world.
    PlayerJoined {
        /// The player.
        player: u64,
        /// Its id in snapshots.
        net_id: u32,
    },
    /// A player left the world.
    PlayerLeft {
        /// The player.
        player: u64,
        /// Its id in snapshots.
        net_id: u32,
    },
    /// A session changed status.
    SessionChanged {
        /// The session.
        session: u64,
        /// `SessionStatus` code.
        status: u8,
    },
    /// A hit landed.
    Hit {
        /// The session.
        session: u64,
        /// The attacker's snapshot id (`None`: a status effect).
        attacker: Option<u32>,
        /// The target's snapshot id.
        target: u32,
        /// Health lost.
        damage: f32,
        /// A critical hit.
        crit: bool,
    },
    /// A participant died.
    Killed {
        /// The session.
        session: u64,
        /// The killer's snapshot id (`None`: a status effect).
        killer: Option<u32>,
        /// The dead participant's snapshot id.
        target: u32,
    },
    /// Another player proposed a trade to this client.
    TradeProposed {
        /// The trade.
        trade: u64,
        /// Who proposed it.
        proposer: u64,
        /// The version to accept.
        version: u32,
    },
    /// The server's clock changed, sent to every client: it ticks at another rate from
    /// `from_tick` on (the adaptive rate, or an edit of `tick.rate_hz`), or it dropped the ticks
    /// a stall left overdue, so that `from_tick` comes sooner than the old count said. A client
    /// that numbers its inputs' `client_tick` by the server's clock counts from `from_tick`, at
    /// `tick_rate_hz`, from the moment it is told.
    ClockChanged {
        /// Ticks per second.
        tick_rate_hz: f32,
        /// The next tick.
        from_tick: u64,
    },
}

/// One snapshot in the format of `sim::snapshot_codec`, delta-encoded against the last one the
/// client acknowledged.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct SnapshotS2c {
    /// The encoded snapshot.
    pub payload: Vec<u8>,
}

/// A [`SnapshotS2c`] whose payload is borrowed. It archives to the same bytes, so the server
/// encodes a snapshot straight from the frame arena instead of copying it into an owned message.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotRefS2c<'a> {
    /// The encoded snapshot.
    pub payload: &'a [u8],
}

impl Archive for SnapshotRefS2c<'_> {
    type Archived = ArchivedSnapshotS2c;
    type Resolver = VecResolver;

    fn resolve(&self, resolver: VecResolver, out: Place<ArchivedSnapshotS2c>) {
        munge!(let ArchivedSnapshotS2c { payload } = out);
        ArchivedVec::resolve_from_len(self.payload.len(), resolver, payload);
    }
}

impl<S: Fallible + Allocator + Writer + ?Sized> Serialize<S> for SnapshotRefS2c<'_> {
    fn serialize(&self, serializer: &mut S) -> Result<VecResolver, S::Error> {
        ArchivedVec::serialize_from_slice(self.payload, serializer)
    }
}

impl ReplyS2c {
    /// The wire form of `reply`, whose rows lie in `outbox`. `welcome` turns the simulation's
    /// `Joined` into the [`WelcomeS2c`] the network layer completes.
    pub fn from_sim(reply: &Reply, outbox: &Outbox, welcome: impl FnOnce(u32) -> WelcomeS2c) -> ReplyS2c {
        ReplyS2c {
            request_id: reply.request,
            tick: reply.tick,
            body: ReplyBodyS2c::from_sim(&reply.body, outbox, welcome),
        }
    }
}

impl ReplyBodyS2c {
    fn from_sim(body: &ReplyBody, outbox: &Outbox, welcome: impl FnOnce(u32) -> WelcomeS2c) -> ReplyBodyS2c {
        match *body {
            ReplyBody::Joined { net_id } => ReplyBodyS2c::Welcome(welcome(net_id)),
            ReplyBody::Left => ReplyBodyS2c::Left,
            ReplyBody::Acted => ReplyBodyS2c::Acted,
            ReplyBody::Refused(refusal) => ReplyBodyS2c::Refused { code: refusal.code() },
            ReplyBody::SessionCreated { session } => ReplyBodyS2c::SessionCreated { session: session.0 },
            ReplyBody::SessionJoined { session, slot } => ReplyBodyS2c::SessionJoined {
                session: session.0,
                slot,
            },
            ReplyBody::SessionLeft { session } => ReplyBodyS2c::SessionLeft { session: session.0 },
            ReplyBody::SessionEnded { session, winner } => ReplyBodyS2c::SessionEnded {
                session: session.0,
                winner: winner.map(|team| team as u8),
            },
            ReplyBody::Session(ref view) => ReplyBodyS2c::Session(SessionS2c::from_view(view, outbox)),
            ReplyBody::SessionList { summaries } => ReplyBodyS2c::SessionList(SessionListS2c {
                sessions: summaries
                    .of(&outbox.summaries)
                    .iter()
                    .map(SessionSummaryS2c::from)
                    .collect(),
            }),
            ReplyBody::Transferred { entry } => ReplyBodyS2c::Transferred { entry },
            ReplyBody::OrderPlaced {
                order,
                filled,
                resting,
            } => ReplyBodyS2c::OrderPlaced {
                order,
                filled,
                resting,
            },
            ReplyBody::OrderCancelled { order, remaining } => {
                ReplyBodyS2c::OrderCancelled { order, remaining }
            }
            ReplyBody::TradeProposed { trade, version } => ReplyBodyS2c::TradeProposed { trade, version },
            ReplyBody::AuctionCreated { auction } => ReplyBodyS2c::AuctionCreated { auction },
            ReplyBody::BidPlaced { auction, won } => ReplyBodyS2c::BidPlaced { auction, won },
            ReplyBody::Exchanged { received } => ReplyBodyS2c::Exchanged { received },
            ReplyBody::TradeDone { trade } => ReplyBodyS2c::TradeDone { trade },
            ReplyBody::TradeCancelled { trade } => ReplyBodyS2c::TradeCancelled { trade },
            ReplyBody::Wallet { balances } => ReplyBodyS2c::Wallet {
                balances: balances
                    .of(&outbox.balances)
                    .iter()
                    .map(|b| BalanceS2c {
                        currency: b.currency,
                        available: b.available,
                        reserved: b.reserved,
                    })
                    .collect(),
            },
            ReplyBody::Inventory { holdings, uniques } => ReplyBodyS2c::Inventory {
                holdings: holdings
                    .of(&outbox.holdings)
                    .iter()
                    .map(|&(item, h)| HoldingS2c {
                        item,
                        held: h.held,
                        escrowed: h.escrowed,
                        incoming: h.incoming,
                    })
                    .collect(),
                uniques: uniques
                    .of(&outbox.uniques)
                    .iter()
                    .map(|&(id, item)| UniqueS2c { id, item })
                    .collect(),
            },
            ReplyBody::Market(view) => ReplyBodyS2c::Market(MarketS2c {
                item: view.item,
                last: view.last,
                bid: view.bid,
                ask: view.ask,
                bids: view.bids.of(&outbox.depth).to_vec(),
                asks: view.asks.of(&outbox.depth).to_vec(),
            }),
            ReplyBody::Candles { item, candles } => ReplyBodyS2c::Candles {
                item,
                candles: candles
                    .of(&outbox.candles)
                    .iter()
                    .map(|c| CandleS2c {
                        open_tick: c.open_tick,
                        open: c.open,
                        high: c.high,
                        low: c.low,
                        close: c.close,
                        volume: c.volume,
                    })
                    .collect(),
            },
        }
    }
}

impl EventS2c {
    /// The wire form of `event`.
    pub fn from_sim(event: &SimEvent) -> EventS2c {
        match *event {
            SimEvent::PlayerJoined { client, net_id } => EventS2c::PlayerJoined {
                player: client.0,
                net_id,
            },
            SimEvent::PlayerLeft { client, net_id } => EventS2c::PlayerLeft {
                player: client.0,
                net_id,
            },
            SimEvent::SessionChanged { session, status } => EventS2c::SessionChanged {
                session: session.0,
                status: status as u8,
            },
            SimEvent::Hit {
                session,
                attacker,
                target,
                damage,
                crit,
            } => EventS2c::Hit {
                session: session.0,
                attacker,
                target,
                damage,
                crit,
            },
            SimEvent::Killed {
                session,
                killer,
                target,
            } => EventS2c::Killed {
                session: session.0,
                killer,
                target,
            },
            SimEvent::TradeProposed {
                trade,
                proposer,
                version,
                ..
            } => EventS2c::TradeProposed {
                trade,
                proposer: proposer.0,
                version,
            },
            SimEvent::ClockChanged {
                tick_rate_hz,
                from_tick,
            } => EventS2c::ClockChanged {
                tick_rate_hz,
                from_tick,
            },
        }
    }

    /// Who must receive it whatever their subscription (the responder of a trade proposal).
    pub fn addressee(event: &SimEvent) -> Option<ClientId> {
        match *event {
            SimEvent::TradeProposed { responder, .. } => Some(responder),
            _ => None,
        }
    }
}
