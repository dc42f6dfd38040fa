//! Client-to-server messages. Control-stream frames are [`ControlC2s`] (a client-chosen request
//! number and a [`RequestC2s`]); datagrams are [`DatagramC2s`] (movement input and snapshot
//! acknowledgements, which may be lost). Enumerations of the simulation travel as their `u8`
//! codes and are range-checked when decoded ([`super::decode`]).

use rkyv::{Archive, Deserialize, Serialize};

/// One frame on the control stream.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(derive(Debug))]
pub struct ControlC2s {
    /// Chosen by the client; the reply carries it back. 0 is allowed, but a reply to it is
    /// indistinguishable from the server's unsolicited refusals, and an input or a snapshot
    /// acknowledgement sent with 0 is taken as its datagram would be: answered only if refused.
    pub request_id: u32,
    /// What the client asks.
    pub body: RequestC2s,
}

/// What a control frame asks.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(derive(Debug))]
pub enum RequestC2s {
    /// The first frame of every connection; answered with `Welcome` or the connection is closed.
    Hello(HelloC2s),
    /// Answered with `Pong` at once, without waiting for a tick.
    Ping(PingC2s),
    /// Choose which server events arrive on the event stream.
    Subscribe(SubscribeC2s),
    /// A movement input sent reliably (datagrams are the usual way); answered with `Acted` once
    /// taken (or superseded by a newer input), or refused.
    Input(InputC2s),
    /// A snapshot acknowledgement sent reliably; answered with `Acted`.
    AckSnapshot(SnapshotAckC2s),
    /// Create a pending combat session.
    CreateSession(CreateSessionC2s),
    /// Join a session.
    JoinSession(JoinSessionC2s),
    /// Leave a session.
    LeaveSession(SessionRefC2s),
    /// End a session (its creator only): an active one ends, a pending one is aborted.
    EndSession(SessionRefC2s),
    /// Read a session with its participants and combat log.
    GetSession(GetSessionC2s),
    /// Read a page of session summaries, newest first.
    ListSessions(ListSessionsC2s),
    /// Fire the weapon or use an ability.
    Act(ActC2s),
    /// Change the economy, once per idempotency key.
    Economy(EconomyC2s),
    /// Read the wallet, the inventory, a market or a price history.
    EconomyRead(EconomyReadC2s),
}

/// Opens a connection.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct HelloC2s {
    /// Must equal the server's [`super::PROTOCOL_VERSION`].
    pub protocol_version: u16,
    /// A session token issued by `necpsim token`.
    pub token: String,
}

/// Measures the round trip.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct PingC2s {
    /// Any value; the pong carries it back.
    pub client_time_us: u64,
}

/// Event topics, one bit each ([`SubscribeC2s::topics`]).
pub mod topics {
    /// Players entering and leaving the world.
    pub const PLAYERS: u32 = 1;
    /// Status changes of every combat session.
    pub const SESSIONS: u32 = 1 << 1;
    /// Hits and kills in the session named by [`super::SubscribeC2s::session`].
    pub const COMBAT: u32 = 1 << 2;
    /// Every topic.
    pub const ALL: u32 = PLAYERS | SESSIONS | COMBAT;
}

/// Replaces the client's event subscription. Trade proposals made to the client always arrive.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct SubscribeC2s {
    /// Bits of [`topics`]; unknown bits are refused.
    pub topics: u32,
    /// The session whose combat events are wanted (with [`topics::COMBAT`]).
    pub session: u64,
}

/// One input sample (see `sim::MoveInput`).
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Default)]
#[rkyv(derive(Debug))]
pub struct InputC2s {
    /// Client sequence number: each input numbered one more than the last (from any start, and on
    /// from 0 after `u32::MAX`); an input not newer than the last one taken is stale.
    pub seq: u32,
    /// The client's tick counter when it sampled this input (its reckoning of the server's tick),
    /// modulo 2^32.
    pub client_tick: u32,
    /// Desired direction, east.
    pub move_x: f32,
    /// Desired direction, north.
    pub move_y: f32,
    /// Aim, east.
    pub aim_x: f32,
    /// Aim, north.
    pub aim_y: f32,
    /// Pressed buttons, one bit each.
    pub buttons: u8,
    /// Where the client's prediction puts its player, if it predicts.
    pub predicted: Option<[f32; 2]>,
    /// The newest snapshot the client holds, acknowledged as [`SnapshotAckC2s`] would, without a
    /// datagram of its own; 0 acknowledges nothing.
    pub ack: u32,
}

/// The client holds snapshot `seq`.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct SnapshotAckC2s {
    /// The snapshot's sequence number.
    pub seq: u32,
}

/// The settings of a new session.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct CreateSessionC2s {
    /// `SessionKind` code: 0 pvp_arena, 1 pve_raid, 2 extract_zone, 3 guild_war.
    pub kind: u8,
    /// The zone.
    pub zone_id: u32,
    /// `Difficulty` code: 0 normal, 1 hard, 2 elite.
    pub difficulty: u8,
    /// Players per team; `None`: the type's default.
    pub team_size: Option<u16>,
    /// Time limit in seconds; `None`: the type's default.
    pub time_limit_s: Option<u32>,
}

/// Joins a session.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct JoinSessionC2s {
    /// The session.
    pub session: u64,
    /// `Team` code: 0 team_a, 1 team_b, 2 solo.
    pub team: u8,
    /// `Role` code: 0 assault, 1 support, 2 tech, 3 stealth.
    pub role: u8,
}

/// Names a session.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct SessionRefC2s {
    /// The session.
    pub session: u64,
}

/// Reads a session.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct GetSessionC2s {
    /// The session.
    pub session: u64,
    /// The newest log entry the client holds (0: none).
    pub log_after: u32,
}

/// Reads a page of summaries.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[rkyv(derive(Debug))]
pub struct ListSessionsC2s {
    /// Only this `SessionStatus` code (0 pending, 1 active, 2 ended, 3 aborted).
    pub status: Option<u8>,
    /// Only this `SessionKind` code.
    pub kind: Option<u8>,
    /// Only sessions this player took part in.
    pub player: Option<u64>,
    /// Matches to skip.
    pub offset: u32,
    /// Page size, 1 to 100; `None`: 50.
    pub limit: Option<u32>,
}

/// One combat action.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
#[rkyv(derive(Debug))]
pub struct ActC2s {
    /// The session.
    pub session: u64,
    /// Fire (`None`) or use the ability in this slot (0 to 3).
    pub ability: Option<u8>,
    /// At whom or where.
    pub target: TargetC2s,
}

/// Where an action is aimed.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
#[rkyv(derive(Debug))]
pub enum TargetC2s {
    /// A participant, by its id in snapshots.
    Entity(u32),
    /// A point in the world, metres.
    Point([f32; 2]),
}

/// A mutating economy command.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct EconomyC2s {
    /// Unique per command the client means to happen once; a repeat gets the first reply again.
    pub idempotency_key: u128,
    /// What to do.
    pub op: EconomyOpC2s,
}

/// What an economy command does (see `sim::EconomyOp`).
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum EconomyOpC2s {
    /// Money to another player.
    Transfer {
        /// The receiving player.
        to: u64,
        /// Currency index.
        currency: u16,
        /// Minor units.
        amount_minor: i64,
    },
    /// A limit order.
    PlaceOrder {
        /// Item index.
        item: u16,
        /// 0 buy, 1 sell.
        side: u8,
        /// Limit price per unit, minor units.
        price_minor: i64,
        /// Units.
        quantity: u32,
        /// Seconds until it expires; `None`: the market's default.
        lifetime_s: Option<u32>,
    },
    /// Cancel an open order.
    CancelOrder {
        /// The order.
        order: u64,
    },
    /// Propose a trade.
    OfferTrade {
        /// The other player.
        to: u64,
        /// What the client gives.
        gives: GoodsC2s,
        /// What the client wants.
        wants: GoodsC2s,
        /// Seconds the proposal stands.
        lifetime_s: u32,
    },
    /// Answer a proposal with other terms.
    CounterTrade {
        /// The trade.
        trade: u64,
        /// What the client gives.
        gives: GoodsC2s,
        /// What the client wants.
        wants: GoodsC2s,
    },
    /// Accept a version of a proposal.
    AcceptTrade {
        /// The trade.
        trade: u64,
        /// The version accepted.
        version: u32,
    },
    /// Withdraw from a trade.
    CancelTrade {
        /// The trade.
        trade: u64,
    },
    /// Put a stack or a unique item up for auction.
    CreateAuction(AuctionTermsC2s),
    /// Bid on an auction.
    Bid {
        /// The auction.
        auction: u64,
        /// Minor units.
        amount_minor: i64,
    },
    /// Exchange money with the house.
    Exchange {
        /// Currency given.
        from: u16,
        /// Currency received.
        to: u16,
        /// Minor units of `from`.
        amount_minor: i64,
    },
}

/// One side of a trade (see `sim::Goods`); zero amounts are empty entries.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[rkyv(derive(Debug))]
pub struct GoodsC2s {
    /// (currency index, minor units).
    pub money: [(u16, i64); 2],
    /// (item index, units).
    pub items: [(u16, u32); 2],
    /// A unique item's id (0: none).
    pub unique: u64,
}

/// What an auction sells and how (see `sim::AuctionTerms`).
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct AuctionTermsC2s {
    /// Item index.
    pub item: u16,
    /// Units.
    pub quantity: u32,
    /// Lowest first bid.
    pub starting_price: i64,
    /// Smallest raise.
    pub bid_increment: i64,
    /// Lowest price that sells.
    pub reserve: i64,
    /// Buyout price (0: none).
    pub buyout: i64,
    /// Hours it runs.
    pub duration_h: u32,
    /// A unique item instead of a stack (0: none).
    pub unique: u64,
}

/// An economy read.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum EconomyReadC2s {
    /// Every currency's balances.
    Wallet,
    /// Holdings and unique items.
    Inventory,
    /// An item's market with `depth` levels per side (at most 50).
    Market {
        /// Item index.
        item: u16,
        /// Levels per side.
        depth: u8,
    },
    /// An item's latest `count` candles (at most 500).
    Candles {
        /// Item index.
        item: u16,
        /// Candles wanted.
        count: u16,
    },
}

/// One datagram from a client.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
#[rkyv(derive(Debug))]
pub enum DatagramC2s {
    /// A movement input.
    Input(InputC2s),
    /// A snapshot acknowledgement.
    AckSnapshot(SnapshotAckC2s),
}
