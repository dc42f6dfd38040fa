//! The Rust client SDK, used by game clients, tools (loadgen) and tests. A [`Client`] is one QUIC
//! connection speaking the [`protocol`](crate::protocol): it says `Hello` and waits for the
//! `Welcome`, then pipelines requests on the control stream (every request queued since the last
//! write goes out in one write, and each reply is matched to its request by number), sends inputs
//! and snapshot acknowledgements as datagrams, and delivers the server's events and snapshots
//! (decoded against their baselines and acknowledged) as they arrive. A connection the server
//! closes fails every waiting request with the server's close code; bytes from the server that
//! are not valid messages close the connection instead of panicking. Raw doors
//! ([`Client::send_raw_control`], [`Client::send_raw_datagram`], [`Client::connection`]) let
//! tests send a server hostile input.
//!
//! It uses the protocol and [`net::tls`](crate::net::tls) only, never the server's internals.
//!
//! # Examples
//!
//! ```no_run
//! use necpsim::client::{Client, ClientError, ConnectOptions};
//! use necpsim::net::tls::ServerTrust;
//! use necpsim::protocol::{CreateSessionC2s, EventS2c, ReplyBodyS2c, RequestC2s, SubscribeC2s, topics};
//!
//! # async fn play(fingerprint: [u8; 32], token: String) -> Result<(), ClientError> {
//! // Pins the SHA-256 of the server's certificate (`net::tls::ServerIdentity::fingerprint`).
//! let server = "127.0.0.1:7777".parse().expect("an address");
//! let options = ConnectOptions::new(server, ServerTrust::Fingerprint(fingerprint), token);
//! let client = Client::connect(options).await?;
//! let net_id = client.welcome().net_id; // this player's id in snapshots
//! let step_m = client.welcome().position_precision_m; // metres per step of snapshot positions
//!
//! let subscribe = SubscribeC2s { topics: topics::SESSIONS, session: 0 };
//! client.request(RequestC2s::Subscribe(subscribe)).await?;
//! let create = CreateSessionC2s { kind: 0, zone_id: 1, difficulty: 0, team_size: None, time_limit_s: None };
//! let ReplyBodyS2c::SessionCreated { session } =
//!     client.request(RequestC2s::CreateSession(create)).await?
//! else {
//!     unreachable!("CreateSession is answered with SessionCreated or refused");
//! };
//!
//! // Pipelined: queue a burst, then collect the replies (a refusal is a reply here, not an error).
//! let list = RequestC2s::ListSessions(Default::default());
//! let burst = (0..10).map(|_| client.send(list.clone())).collect::<Result<Vec<_>, _>>()?;
//! let mut refused = 0;
//! for pending in burst {
//!     if let ReplyBodyS2c::Refused { .. } = pending.await?.body {
//!         refused += 1;
//!     }
//! }
//!
//! while let Some(event) = client.next_event().await {
//!     if let EventS2c::SessionChanged { session: changed, status } = event {
//!         if changed == session && status >= 2 {
//!             break; // ended or aborted
//!         }
//!     }
//! }
//! client.close();
//! # Ok(())
//! # }
//! ```

mod acks;
mod connection;
mod error;
mod pending;
mod snapshots;
mod tasks;

pub use connection::{Client, ConnectOptions, DEFAULT_MAX_FRAME_BYTES, Snapshot};
pub use error::ClientError;
pub use pending::PendingReply;
pub use snapshots::{ReceiveError, SnapshotReceiver};

#[cfg(test)]
mod tests;
