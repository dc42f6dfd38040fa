//! The wire protocol: every message clients and the server exchange, as rkyv types named by
//! direction (`…C2s` client to server, `…S2c` server to client), their framing, checked decoding
//! and encoding, and the stable error codes. Pure data and conversions; no IO.
//!
//! A connection (ALPN [`ALPN`]) carries:
//! - one client-opened bidirectional **control stream**: length-prefixed frames
//!   ([`framing`]); the client sends [`ControlC2s`] (the first is `Hello`), the server answers each
//!   with a [`ReplyS2c`] carrying the same `request_id`. A client that ends its side of the stream
//!   sends no more requests but stays connected, and still gets every reply it is owed;
//! - one server-opened unidirectional **event stream** of [`PushS2c`] frames;
//! - **datagrams**: [`DatagramC2s`] (inputs, snapshot acks) up, [`SnapshotS2c`] down, one message
//!   per datagram.
//!
//! Received bytes are size-capped, copied into an aligned buffer and validated by checked rkyv
//! access before anything reads them ([`decode`]); wire types hold no recursive types, shared
//! pointers or maps. [`fuzzing`] runs arbitrary bytes through every decoder, for the fuzz targets
//! and the test that replays their corpus.

mod c2s;
mod codes;
pub mod combat;
mod decode;
mod encode;
pub mod framing;
pub mod fuzzing;
mod s2c;

pub use c2s::*;
pub use codes::{ErrorCode, error_message};
pub use decode::{DecodeError, Request, access, decode_control, decode_datagram, read_owned};
pub use encode::{Encode, EncodeError, Encoder};
pub use s2c::*;

/// The protocol version a client names in `Hello`; the server refuses any other.
pub const PROTOCOL_VERSION: u16 = 4;

/// The ALPN protocol name both sides negotiate.
pub const ALPN: &[u8] = b"necp/1";

#[cfg(test)]
mod tests;
