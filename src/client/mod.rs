//! The client side of the protocol, for Rust game clients, tools and tests. For now: following a
//! snapshot stream ([`SnapshotReceiver`]); the network connection joins it with the QUIC protocol.

mod snapshots;

pub use snapshots::{ReceiveError, SnapshotReceiver};
