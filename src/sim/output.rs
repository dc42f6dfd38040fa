//! What a tick produces for the world outside the simulation: replies to one client and events for
//! many, collected in the [`Outbox`] and drained by the caller after each step.

use bevy_ecs::resource::Resource;

use super::combat::{Difficulty, LogEntry, ParticipantView, SessionId, SessionStatus, SessionSummary, Team};
use super::command::{ClientId, Refusal, ReplyTo};
use super::economy::ledger::Entry;
use super::economy::order_book::Candle;
use super::economy::{EconomyTick, Holding};

/// The answer to one command, addressed to the client that sent it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reply {
    /// Who receives it.
    pub client: ClientId,
    /// The request it answers ([`ReplyTo::request`]; 0: none).
    pub request: u32,
    /// The tick that produced it.
    pub tick: u64,
    /// What happened.
    pub body: ReplyBody,
}

/// The content of a [`Reply`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReplyBody {
    /// The client's player entered the world.
    Joined {
        /// The player's id in snapshots.
        net_id: u32,
    },
    /// The client's player left the world.
    Left,
    /// A combat action was carried out (its hits land in this tick's resolution), or a movement
    /// input or snapshot acknowledgement sent as a request was taken.
    Acted,
    /// The command was refused and changed nothing.
    Refused(Refusal),
    /// A combat session was created.
    SessionCreated {
        /// Its id.
        session: SessionId,
    },
    /// The client joined a session.
    SessionJoined {
        /// The session.
        session: SessionId,
        /// The client's participant slot.
        slot: u16,
    },
    /// The client left a session.
    SessionLeft {
        /// The session.
        session: SessionId,
    },
    /// The session was ended.
    SessionEnded {
        /// The session.
        session: SessionId,
        /// The winning team, if any.
        winner: Option<Team>,
    },
    /// A session read: its participants and log lie in [`Outbox::participants`] and
    /// [`Outbox::log`].
    Session(SessionView),
    /// A page of summaries, in [`Outbox::summaries`].
    SessionList {
        /// Where they lie.
        summaries: Span,
    },
    /// A transfer happened.
    Transferred {
        /// The ledger entry that records it.
        entry: u64,
    },
    /// An order was placed: `filled` units traded at once, `resting` wait in the book.
    OrderPlaced {
        /// Its id.
        order: u64,
        /// Units traded at once.
        filled: u32,
        /// Units waiting in the book.
        resting: u32,
    },
    /// An order was cancelled; what it still held went back.
    OrderCancelled {
        /// Its id.
        order: u64,
        /// Units that had not traded.
        remaining: u32,
    },
    /// A trade proposal stands at `version` (offered or countered).
    TradeProposed {
        /// The trade.
        trade: u64,
        /// Its version.
        version: u32,
    },
    /// An auction started.
    AuctionCreated {
        /// Its id.
        auction: u64,
    },
    /// A bid stands as the highest (`won`: it met the buyout and the auction is settled).
    BidPlaced {
        /// The auction.
        auction: u64,
        /// Whether it won at once.
        won: bool,
    },
    /// Money was exchanged with the house.
    Exchanged {
        /// Minor units received, after the fee.
        received: i64,
    },
    /// A trade was carried out.
    TradeDone {
        /// The trade.
        trade: u64,
    },
    /// A trade was cancelled; the escrow went back.
    TradeCancelled {
        /// The trade.
        trade: u64,
    },
    /// The client's wallet, in [`Outbox::balances`].
    Wallet {
        /// Where its balances lie.
        balances: Span,
    },
    /// The client's inventory, in [`Outbox::holdings`] and [`Outbox::uniques`].
    Inventory {
        /// Stackable holdings.
        holdings: Span,
        /// Unique items.
        uniques: Span,
    },
    /// An item's market, its levels in [`Outbox::depth`].
    Market(MarketView),
    /// An item's price history, in [`Outbox::candles`].
    Candles {
        /// Item index.
        item: u16,
        /// Where the candles lie, oldest first.
        candles: Span,
    },
}

/// One currency of a wallet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Balance {
    /// Currency index.
    pub currency: u16,
    /// Free to spend, in minor units.
    pub available: i64,
    /// Held for open orders, in minor units.
    pub reserved: i64,
}

/// What a market read returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketView {
    /// Item index.
    pub item: u16,
    /// Price of the last fill.
    pub last: Option<i64>,
    /// Best bid.
    pub bid: Option<i64>,
    /// Best ask.
    pub ask: Option<i64>,
    /// `(price, units)` of the best bid levels, best first.
    pub bids: Span,
    /// `(price, units)` of the best ask levels, best first.
    pub asks: Span,
}

/// A range of one of the outbox's flat buffers: `len` items from `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// First item.
    pub start: u32,
    /// Items.
    pub len: u32,
}

impl Span {
    /// The span of the items pushed onto `buffer` since it held `start` items.
    pub(crate) fn since<T>(buffer: &[T], start: usize) -> Span {
        Span {
            start: start as u32,
            len: (buffer.len() - start) as u32,
        }
    }

    /// The items of `buffer` it covers.
    pub fn of<'b, T>(&self, buffer: &'b [T]) -> &'b [T] {
        let start = self.start as usize;
        buffer.get(start..start + self.len as usize).unwrap_or_default()
    }
}

/// What a get of a session returns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SessionView {
    /// Id, creation tick, status, type and participant count.
    pub summary: SessionSummary,
    /// Its zone.
    pub zone_id: u32,
    /// Its difficulty.
    pub difficulty: Difficulty,
    /// Players per team needed to start.
    pub team_size: u16,
    /// Time limit in seconds.
    pub time_limit_s: u32,
    /// Tick it started (0: not yet).
    pub started_tick: u64,
    /// Tick it ended (0: not yet).
    pub ended_tick: u64,
    /// The winning team, once ended with one.
    pub winner: Option<Team>,
    /// Its participants, in [`Outbox::participants`].
    pub participants: Span,
    /// Its combat log, oldest first, in [`Outbox::log`].
    pub log: Span,
}

/// What a participant receives when its session ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Grant {
    /// Experience points.
    Experience(u64),
    /// Money, by currency index (name order of `economy/currencies.toml`).
    Currency {
        /// Currency index.
        currency: u16,
        /// Amount in minor units.
        minor: i64,
    },
    /// One item, by index (name order of `economy/items.toml`).
    Item {
        /// Item index.
        item: u16,
    },
}

/// One reward for one player, handed to the economy in the tick its session ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reward {
    /// The session that paid it.
    pub session: SessionId,
    /// The receiving player.
    pub client: ClientId,
    /// What it is.
    pub grant: Grant,
}

/// Something every interested client may be told about.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SimEvent {
    /// A player entered the world.
    PlayerJoined {
        /// The player's client.
        client: ClientId,
        /// The player's id in snapshots.
        net_id: u32,
    },
    /// A player left the world.
    PlayerLeft {
        /// The player's client.
        client: ClientId,
        /// The player's id in snapshots.
        net_id: u32,
    },
    /// A combat session changed status.
    SessionChanged {
        /// The session.
        session: SessionId,
        /// Its new status.
        status: SessionStatus,
    },
    /// A hit landed in a session.
    Hit {
        /// The session.
        session: SessionId,
        /// The attacker's snapshot id (`None`: a status effect).
        attacker: Option<u32>,
        /// The target's snapshot id.
        target: u32,
        /// Health lost.
        damage: f32,
        /// Whether it was a critical hit.
        crit: bool,
    },
    /// A trade proposal stands for `responder` to answer.
    TradeProposed {
        /// The trade.
        trade: u64,
        /// Who proposed it.
        proposer: ClientId,
        /// Who may accept or counter it.
        responder: ClientId,
        /// Its version.
        version: u32,
    },
    /// A participant died.
    Killed {
        /// The session.
        session: SessionId,
        /// The killer's snapshot id (`None`: a status effect).
        killer: Option<u32>,
        /// The dead participant's snapshot id.
        target: u32,
    },
    /// The simulation's clock changed: another rate from `from_tick` on, or ticks dropped
    /// after a stall (see [`Sim::announce_clock`](crate::sim::Sim::announce_clock)).
    ClockChanged {
        /// Ticks per second.
        tick_rate_hz: f32,
        /// The next tick.
        from_tick: u64,
    },
}

/// What a player leaving the world hands to the store: the state that outlives the session.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlayerRecord {
    /// The player's client.
    pub client: ClientId,
    /// The tick the player left.
    pub tick: u64,
    /// Where the player stood, east.
    pub x_m: f32,
    /// Where the player stood, north.
    pub y_m: f32,
    /// Health when leaving.
    pub health: f32,
}

/// One snapshot for one client: `bytes` of [`Outbox::snapshot_bytes`] in the snapshot format of
/// [`crate::sim::snapshot_codec`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotOut {
    /// The receiving client.
    pub client: ClientId,
    /// The snapshot's sequence number for that client.
    pub seq: u32,
    /// Where its bytes lie in [`Outbox::snapshot_bytes`].
    pub bytes: std::ops::Range<usize>,
}

/// Everything the simulation has produced since the caller last drained it. Vectors keep their
/// capacity across ticks, so steady-state ticks do not allocate here.
#[derive(Debug, Default, Clone, Resource)]
pub struct Outbox {
    /// Replies, in the order the commands were applied.
    pub replies: Vec<Reply>,
    /// Events, in the order they happened.
    pub events: Vec<SimEvent>,
    /// State of players who left, for the store.
    pub departures: Vec<PlayerRecord>,
    /// Snapshots, each naming its range of `snapshot_bytes`.
    pub snapshots: Vec<SnapshotOut>,
    /// The encoded snapshots back to back.
    pub snapshot_bytes: Vec<u8>,
    /// Participants of the sessions read this tick ([`SessionView::participants`]).
    pub participants: Vec<ParticipantView>,
    /// Combat log entries of the sessions read this tick ([`SessionView::log`]).
    pub log: Vec<LogEntry>,
    /// Session summaries of the lists read this tick ([`ReplyBody::SessionList`]).
    pub summaries: Vec<SessionSummary>,
    /// Rewards of the sessions that ended this tick, for the economy.
    pub rewards: Vec<Reward>,
    /// How many of `rewards` the economy has credited, so that ticks stepped without draining
    /// the outbox credit only their own.
    pub(crate) rewards_credited: usize,
    /// Ledger entries of this tick, in order, for the store.
    pub ledger: Vec<Entry>,
    /// What changed the economy this tick ([`Outbox::economy_record`]); its buffers are reused.
    pub(crate) economy: EconomyTick,
    /// Whether `economy` holds this tick's record.
    pub(crate) economy_written: bool,
    /// Balances of the wallets read this tick ([`ReplyBody::Wallet`]).
    pub balances: Vec<Balance>,
    /// Holdings of the inventories read this tick: item index and units.
    pub holdings: Vec<(u16, Holding)>,
    /// Unique items of the inventories read this tick: id and item index.
    pub uniques: Vec<(u64, u16)>,
    /// Price levels of the markets read this tick: price and units.
    pub depth: Vec<(i64, u64)>,
    /// Candles of the price histories read this tick.
    pub candles: Vec<Candle>,
}

impl Outbox {
    /// Empties every queue, keeping the capacity.
    pub fn clear(&mut self) {
        self.rewards_credited = 0;
        self.replies.clear();
        self.events.clear();
        self.departures.clear();
        self.snapshots.clear();
        self.snapshot_bytes.clear();
        self.participants.clear();
        self.log.clear();
        self.summaries.clear();
        self.rewards.clear();
        self.ledger.clear();
        self.economy.clear();
        self.economy_written = false;
        self.balances.clear();
        self.holdings.clear();
        self.uniques.clear();
        self.depth.clear();
        self.candles.clear();
    }

    /// What changed the economy in the drained tick, when anything did: the store's journal
    /// record. Complete only when the outputs are drained after every step, as the server does.
    pub fn economy_record(&self) -> Option<&EconomyTick> {
        self.economy_written.then_some(&self.economy)
    }

    /// The encoded bytes of `snapshot`.
    pub fn snapshot_payload(&self, snapshot: &SnapshotOut) -> &[u8] {
        self.snapshot_bytes
            .get(snapshot.bytes.clone())
            .unwrap_or_default()
    }
}

/// Queues a reply to `client` stamped with the current tick, counting refusals.
pub(crate) fn respond(world: &mut bevy_ecs::world::World, to: impl Into<ReplyTo>, body: ReplyBody) {
    let tick = world.resource::<super::resources::Tick>().0;
    count_refusal(&mut world.resource_mut::<super::resources::SimCounters>(), &body);
    world
        .resource_mut::<Outbox>()
        .replies
        .push(Reply::new(to.into(), tick, body));
}

impl ReplyBody {
    /// Whether this reply tells a player what the economy holds, which may include changes not
    /// yet durable, so that it may leave only once they are. An economy command's refusal does:
    /// `InsufficientFunds` after a transfer of everything tells that the transfer happened.
    pub fn reads_economy(&self) -> bool {
        match self {
            ReplyBody::Wallet { .. }
            | ReplyBody::Inventory { .. }
            | ReplyBody::Market(..)
            | ReplyBody::Candles { .. } => true,
            ReplyBody::Refused(refusal) => refusal.is_economic(),
            _ => false,
        }
    }

    /// Whether this reply tells a player the economy changed, so that it may leave only once
    /// the change is durable.
    pub fn changes_economy(&self) -> bool {
        matches!(
            self,
            ReplyBody::Transferred { .. }
                | ReplyBody::OrderPlaced { .. }
                | ReplyBody::OrderCancelled { .. }
                | ReplyBody::TradeProposed { .. }
                | ReplyBody::AuctionCreated { .. }
                | ReplyBody::BidPlaced { .. }
                | ReplyBody::Exchanged { .. }
                | ReplyBody::TradeDone { .. }
                | ReplyBody::TradeCancelled { .. }
        )
    }
}

impl Reply {
    /// `body`, addressed to `to`, produced at `tick`.
    pub(crate) fn new(to: ReplyTo, tick: u64, body: ReplyBody) -> Reply {
        Reply {
            client: to.client,
            request: to.request,
            tick,
            body,
        }
    }
}

/// Counts `body` in `counters` if it is a refusal.
pub(crate) fn count_refusal(counters: &mut super::resources::SimCounters, body: &ReplyBody) {
    let ReplyBody::Refused(refusal) = body else {
        return;
    };
    counters.refused_commands += 1;
    match refusal {
        Refusal::Teleport => counters.teleports += 1,
        Refusal::OutOfBounds => counters.out_of_bounds += 1,
        Refusal::TimeCompression => counters.time_compression += 1,
        _ => {}
    }
}
