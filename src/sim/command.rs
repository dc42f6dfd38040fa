//! What clients ask of the simulation ([`Command`]) and why the simulation may refuse it
//! ([`Refusal`], with stable numeric codes that the wire protocol carries unchanged).

use super::combat::{Difficulty, Role, SessionFilter, SessionId, SessionKind, Team};
use super::economy::Side;

/// Identifies one admitted client connection; chosen by the network layer, opaque to the sim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct ClientId(pub u64);

/// Where a reply goes: the client, and the request it answers (chosen by the client, echoed in
/// the reply; 0 for commands that are not requests, such as movement inputs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReplyTo {
    /// The client.
    pub client: ClientId,
    /// The client's number for the request.
    pub request: u32,
}

impl From<ClientId> for ReplyTo {
    fn from(client: ClientId) -> ReplyTo {
        ReplyTo { client, request: 0 }
    }
}

/// One request from one client, applied at the next tick. Kept small (rare, large payloads such
/// as trade terms are boxed), since every movement input is one.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Enter the world: a player entity spawns in the spawn area.
    Join,
    /// Leave the world: the player entity is removed.
    Leave,
    /// Steer the player.
    Move(MoveInput),
    /// The client holds snapshot `seq`; later snapshots are encoded against it.
    AckSnapshot {
        /// Sequence number of a snapshot the client received and decoded.
        seq: u32,
    },
    /// Create a pending combat session; the creator does not join it by creating it.
    CreateSession(SessionSettings),
    /// Join a pending or active session on `team` in `role`.
    JoinSession {
        /// The session.
        session: SessionId,
        /// The side to fight on (`Solo` in a free-for-all, `TeamA` in a raid).
        team: Team,
        /// The role, which picks the loadout.
        role: Role,
    },
    /// Leave a session: before it starts the place is freed; during the fight the participant is
    /// recorded as disconnected (extracted, in an extract zone, when alive).
    LeaveSession {
        /// The session.
        session: SessionId,
    },
    /// End a session now (its creator only): an active one ends and pays its rewards, a pending
    /// one is aborted.
    EndSession {
        /// The session.
        session: SessionId,
    },
    /// Read a session: its settings, participants and the combat log entries after `log_after`.
    GetSession {
        /// The session.
        session: SessionId,
        /// Sequence number of the newest log entry the client already holds (0: none, so the
        /// whole kept log comes back); a client following a session sends its last one and gets
        /// only what is new.
        log_after: u32,
    },
    /// Read a page of session summaries, newest first.
    ListSessions(ListQuery),
    /// Fire the weapon or use an ability in a session.
    Act(ActionInput),
    /// Change the economy: a transfer or a market order, with its idempotency key.
    Economy(EconomyRequest),
    /// Read the client's wallet, inventory, or an item's market.
    EconomyRead(EconomyRead),
}

/// A read of the economy, answered after the tick's economy commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EconomyRead {
    /// Every currency's available and reserved balance.
    Wallet,
    /// Stackable holdings and unique items.
    Inventory,
    /// An item's last price, best bid and ask, and the best `depth` levels of each side (at most
    /// 50).
    Market {
        /// Item index.
        item: u16,
        /// Price levels per side.
        depth: u8,
    },
    /// An item's price history: its latest `count` OHLCV candles, oldest first (at most 500).
    Candles {
        /// Item index.
        item: u16,
        /// Candles wanted.
        count: u16,
    },
}

/// A mutating economy command.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EconomyRequest {
    /// Chosen by the client, unique per command it means to happen once: a repeat with the same
    /// payload gets the first reply again; with another payload it is refused.
    pub key: u128,
    /// What to do.
    pub op: EconomyOp,
}

/// What an economy command does.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum EconomyOp {
    /// Move money from the client's wallet to another player's.
    Transfer {
        /// The receiving player.
        to: ClientId,
        /// Currency index (name order of `economy/currencies.toml`).
        currency: u16,
        /// Amount in minor units.
        amount_minor: i64,
    },
    /// Place a limit order on an item's market.
    PlaceOrder {
        /// Item index (name order of `economy/items.toml`); stackable items only.
        item: u16,
        /// Buy or sell.
        side: Side,
        /// Limit price per unit, in minor units of the item's price currency.
        price_minor: i64,
        /// Units.
        quantity: u32,
        /// Seconds of game time until what is left expires; `None`: the market's default.
        lifetime_s: Option<u32>,
    },
    /// Cancel one of the client's open orders.
    CancelOrder {
        /// The order.
        order: u64,
    },
    /// Propose a trade to another player: `gives` is escrowed until the trade is accepted,
    /// countered, cancelled or lapses.
    OfferTrade(Box<TradeOffer>),
    /// Answer a proposal with other terms; the client becomes the proposer.
    CounterTrade(Box<TradeCounter>),
    /// Accept the terms of `version` of a proposal made to the client: everything changes hands
    /// at once, or nothing does.
    AcceptTrade {
        /// The trade.
        trade: u64,
        /// The version accepted; a proposal countered since is refused.
        version: u32,
    },
    /// Withdraw from a trade (either player); the escrow goes back.
    CancelTrade {
        /// The trade.
        trade: u64,
    },
    /// Put a stack of a stackable item, or one unique item, up for auction; it is escrowed.
    CreateAuction(Box<AuctionTerms>),
    /// Bid on an auction; the bid is escrowed, the bid it beats refunded. A bid at or above the
    /// buyout price wins at once.
    Bid {
        /// The auction.
        auction: u64,
        /// The bid, in minor units of the item's price currency.
        amount_minor: i64,
    },
    /// Exchange money with the house at its price for the pair, less its fee.
    Exchange {
        /// Currency given.
        from: u16,
        /// Currency received.
        to: u16,
        /// Amount given, in minor units of `from`.
        amount_minor: i64,
    },
}

/// A trade proposal to another player.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct TradeOffer {
    /// The other player.
    pub to: ClientId,
    /// What the client gives.
    pub gives: Goods,
    /// What the client wants in return.
    pub wants: Goods,
    /// Seconds of game time the proposal stands.
    pub lifetime_s: u32,
}

/// New terms for a proposal made to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct TradeCounter {
    /// The trade.
    pub trade: u64,
    /// What the client gives.
    pub gives: Goods,
    /// What the client wants in return.
    pub wants: Goods,
}

/// What an auction sells and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct AuctionTerms {
    /// Item index (stackable items only).
    pub item: u16,
    /// Units sold together.
    pub quantity: u32,
    /// Lowest first bid, minor units.
    pub starting_price: i64,
    /// Smallest raise over the highest bid, minor units.
    pub bid_increment: i64,
    /// Lowest price that sells, minor units.
    pub reserve: i64,
    /// A bid of at least this wins at once; 0: no buyout.
    pub buyout: i64,
    /// Hours of game time it runs.
    pub duration_h: u32,
    /// A unique item to sell instead of a stack (its id; 0: sell `quantity` units of `item`).
    pub unique: u64,
}

/// One side of a trade: up to two currencies, two stackable items and one unique item; a zero
/// amount (or unique id) is an empty entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct Goods {
    /// (currency index, minor units).
    pub money: [(u16, i64); 2],
    /// (item index, units).
    pub items: [(u16, u32); 2],
    /// A unique item, by its id (0: none).
    pub unique: u64,
}

/// The settings of a new combat session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSettings {
    /// Its type.
    pub kind: SessionKind,
    /// The zone it is fought in.
    pub zone_id: u32,
    /// Its difficulty.
    pub difficulty: Difficulty,
    /// Players per team needed to start; `None`: the type's default.
    pub team_size: Option<u16>,
    /// Time limit in seconds; `None`: the type's default.
    pub time_limit_s: Option<u32>,
}

/// A page of the session list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListQuery {
    /// Which sessions.
    pub filter: SessionFilter,
    /// Matches to skip.
    pub offset: u32,
    /// Most summaries to return, 1 to 100; `None`: 50.
    pub limit: Option<u32>,
}

/// One combat action.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActionInput {
    /// The session it happens in.
    pub session: SessionId,
    /// What the participant does.
    pub action: Action,
    /// At whom or where.
    pub target: Target,
}

/// What a participant does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Fire the role's weapon.
    Fire,
    /// Use the role's ability in this slot (0 to 3).
    Ability(u8),
}

/// Where an action is aimed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// A participant, by its id in snapshots.
    Entity(u32),
    /// A point in the world (area weapons and abilities).
    Point([f32; 2]),
}

/// One input sample from a client.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MoveInput {
    /// Client sequence number; inputs with a number not above the last applied one are stale.
    pub seq: u32,
    /// The client's tick counter (counting at the server's tick rate) when it sampled this input,
    /// modulo 2^32; it may not run ahead of the server's clock (time compression).
    pub client_tick: u32,
    /// Desired direction, east component; the vector is clamped to length 1.
    pub move_x: f32,
    /// Desired direction, north component.
    pub move_y: f32,
    /// Where the player aims, east component (a direction or a point, as the weapon needs).
    pub aim_x: f32,
    /// Where the player aims, north component.
    pub aim_y: f32,
    /// Pressed buttons, one bit each.
    pub buttons: u8,
    /// Where the client's prediction puts its player, if it predicts; checked against the server's
    /// position (teleport) and the world bounds.
    pub predicted: Option<[f32; 2]>,
    /// A snapshot acknowledgement riding on the input (as [`Command::AckSnapshot`]); 0 for none.
    pub ack: u32,
}

/// Why a command was refused. The discriminant is the stable code clients see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[repr(u16)]
pub enum Refusal {
    /// The server cannot take this now, and nothing was done: the inbox for the next tick is
    /// full, load shedding refuses new combat sessions, or the economy is paused because its
    /// store is behind or failed (economy commands and reads); retry later.
    #[error("server busy: retry later")]
    Busy = 1,
    /// `Join` from a client that is already in the world.
    #[error("already joined")]
    AlreadyJoined = 100,
    /// A command that needs a player from a client that has not joined.
    #[error("not joined")]
    NotJoined = 101,
    /// A movement, aim or predicted position that is not finite.
    #[error("invalid input: every number must be finite")]
    InvalidInput = 102,
    /// The predicted position is too far from the server's.
    #[error("refused: predicted position too far from the server's (teleport)")]
    Teleport = 103,
    /// The predicted position is outside the world.
    #[error("refused: predicted position outside the world bounds")]
    OutOfBounds = 104,
    /// The client's clock runs ahead of the server's (more input time than elapsed time).
    #[error("refused: client tick runs ahead of the server (time compression)")]
    TimeCompression = 105,
    /// No session has that id (or it has been forgotten).
    #[error("no such session")]
    SessionNotFound = 200,
    /// The session has ended or was aborted.
    #[error("the session is over")]
    SessionClosed = 201,
    /// The operation needs an active session.
    #[error("the session is not active")]
    SessionNotActive = 202,
    /// The client is not a participant of that session.
    #[error("not in this session")]
    NotInSession = 203,
    /// The client already takes part in a session.
    #[error("already in a session")]
    AlreadyInSession = 204,
    /// The team does not exist in this session type.
    #[error("no such team in this session type")]
    WrongTeam = 205,
    /// The team has its full number of players.
    #[error("the team is full")]
    TeamFull = 206,
    /// The server holds its maximum of open sessions.
    #[error("too many open sessions")]
    TooManySessions = 207,
    /// A setting is out of range (team size, time limit, list limit).
    #[error("a setting is out of range")]
    InvalidSettings = 208,
    /// Only the creator may end a session.
    #[error("only the session's creator may end it")]
    NotSessionOwner = 209,
    /// The participant is dead, extracted or disconnected.
    #[error("the participant is not alive")]
    NotAlive = 220,
    /// The target is beyond the weapon's or ability's range.
    #[error("target out of range")]
    OutOfRange = 221,
    /// The weapon or ability is not ready yet.
    #[error("not ready: fire interval or cooldown")]
    OnCooldown = 222,
    /// The magazine is empty and reloading.
    #[error("reloading")]
    Reloading = 223,
    /// More actions per second than the limit.
    #[error("too many actions per second")]
    RateLimited = 224,
    /// A status effect forbids actions (freeze).
    #[error("cannot act while frozen")]
    Stunned = 225,
    /// The target is not a living opponent (or ally, for healing) in this session, or a point
    /// was given to a single-target action.
    #[error("invalid target")]
    InvalidTarget = 226,
    /// The role has no ability in that slot.
    #[error("no ability in that slot")]
    NoSuchAbility = 227,
    /// The shot would take the weapon's heat above its capacity.
    #[error("weapon overheated")]
    Overheated = 228,
    /// The wallet holds less than the command needs.
    #[error("insufficient funds")]
    InsufficientFunds = 300,
    /// No currency has that index.
    #[error("unknown currency")]
    UnknownCurrency = 301,
    /// No item has that index.
    #[error("unknown item")]
    UnknownItem = 302,
    /// An amount, price or quantity that is zero or negative (or a transfer to oneself).
    #[error("invalid amount")]
    InvalidAmount = 303,
    /// The recipient has no account (has never entered the world).
    #[error("unknown recipient")]
    UnknownRecipient = 304,
    /// No open order has that id.
    #[error("unknown order")]
    UnknownOrder = 305,
    /// The order belongs to another player.
    #[error("not your order")]
    NotOrderOwner = 306,
    /// The idempotency key was used before for a different command.
    #[error("idempotency key reused with a different payload")]
    KeyReused = 307,
    /// The items would not fit in the inventory.
    #[error("inventory full")]
    InventoryFull = 308,
    /// The inventory holds fewer units than the order sells.
    #[error("not enough items")]
    NotEnoughItems = 309,
    /// The currency may not change hands between players.
    #[error("currency not tradeable")]
    NotTradeable = 310,
    /// Only stackable items are traded on the market and in trades.
    #[error("only stackable items can be traded")]
    NotStackable = 311,
    /// No pending trade has that id.
    #[error("unknown trade")]
    UnknownTrade = 312,
    /// The client is not the player this step of the trade is up to.
    #[error("not your turn in this trade")]
    NotTradeParty = 313,
    /// The proposal changed since the version accepted.
    #[error("the trade's terms changed")]
    TradeChanged = 314,
    /// The house does not exchange these two currencies.
    #[error("no exchange between these currencies")]
    NoSuchPair = 315,
    /// No running auction has that id.
    #[error("unknown auction")]
    UnknownAuction = 316,
    /// The bid is below the starting price or the highest bid plus the increment.
    #[error("bid too low")]
    BidTooLow = 317,
    /// A seller may not bid on its own auction.
    #[error("cannot bid on one's own auction")]
    OwnAuction = 318,
    /// Goods name one currency or one item in two entries.
    #[error("a currency or item listed twice")]
    ListedTwice = 319,
    /// The player already has `economy/players.toml`'s most open market orders, trade proposals
    /// or auctions (whichever the command would open).
    #[error("too many open orders, trade proposals or auctions")]
    TooManyOpen = 320,
}

impl Refusal {
    /// Whether this refuses an economy command for what the economy holds (codes 300 to 399).
    pub fn is_economic(self) -> bool {
        (300..400).contains(&(self as u16))
    }

    /// Every refusal, in code order.
    pub const ALL: [Refusal; 47] = [
        Refusal::Busy,
        Refusal::AlreadyJoined,
        Refusal::NotJoined,
        Refusal::InvalidInput,
        Refusal::Teleport,
        Refusal::OutOfBounds,
        Refusal::TimeCompression,
        Refusal::SessionNotFound,
        Refusal::SessionClosed,
        Refusal::SessionNotActive,
        Refusal::NotInSession,
        Refusal::AlreadyInSession,
        Refusal::WrongTeam,
        Refusal::TeamFull,
        Refusal::TooManySessions,
        Refusal::InvalidSettings,
        Refusal::NotSessionOwner,
        Refusal::NotAlive,
        Refusal::OutOfRange,
        Refusal::OnCooldown,
        Refusal::Reloading,
        Refusal::RateLimited,
        Refusal::Stunned,
        Refusal::InvalidTarget,
        Refusal::NoSuchAbility,
        Refusal::Overheated,
        Refusal::InsufficientFunds,
        Refusal::UnknownCurrency,
        Refusal::UnknownItem,
        Refusal::InvalidAmount,
        Refusal::UnknownRecipient,
        Refusal::UnknownOrder,
        Refusal::NotOrderOwner,
        Refusal::KeyReused,
        Refusal::InventoryFull,
        Refusal::NotEnoughItems,
        Refusal::NotTradeable,
        Refusal::NotStackable,
        Refusal::UnknownTrade,
        Refusal::NotTradeParty,
        Refusal::TradeChanged,
        Refusal::NoSuchPair,
        Refusal::UnknownAuction,
        Refusal::BidTooLow,
        Refusal::OwnAuction,
        Refusal::ListedTwice,
        Refusal::TooManyOpen,
    ];

    /// The stable numeric code of this refusal.
    pub fn code(self) -> u16 {
        self as u16
    }

    /// The refusal with this code, if any.
    pub fn from_code(code: u16) -> Option<Refusal> {
        Refusal::ALL.into_iter().find(|r| r.code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_is_listed_once_in_code_order() {
        let codes: Vec<u16> = Refusal::ALL.iter().map(|r| r.code()).collect();
        assert!(codes.windows(2).all(|pair| pair[0] < pair[1]), "{codes:?}");
        assert_eq!(
            Refusal::from_code(Refusal::OwnAuction.code()),
            Some(Refusal::OwnAuction)
        );
        assert_eq!(Refusal::from_code(2), None);
    }

    #[test]
    fn a_command_fits_in_64_bytes() {
        // Every movement input of every client is one: rare, large payloads are boxed.
        assert!(size_of::<Command>() <= 64, "{} bytes", size_of::<Command>());
    }
}
