//! The QUIC door: the quinn endpoint, connection tasks, authentication, rate limits and the bridge
//! that carries checked commands into the tick and encoded replies, events and snapshots back out.
//! The only module (with the client SDK) that uses tokio and quinn.

pub mod auth;
pub mod tls;
