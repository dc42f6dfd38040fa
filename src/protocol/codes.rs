//! Stable numeric error codes of the protocol. Codes below 1000 are the simulation's refusals
//! (`sim::Refusal`); codes from 1000 are the protocol's own ([`ErrorCode`]). A refused request
//! carries its code in `Refused`; a closed connection carries it as the QUIC application close
//! code, with [`error_message`] as the reason.

use crate::sim::Refusal;

/// Why the server refused a request or closed a connection. The discriminant is the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[repr(u16)]
pub enum ErrorCode {
    /// `Hello` named another protocol version. Closes the connection.
    #[error("unsupported protocol version")]
    VersionMismatch = 1000,
    /// The token is not a token. Closes the connection.
    #[error("malformed token")]
    TokenMalformed = 1001,
    /// The token's signature does not match. Closes the connection.
    #[error("forged token")]
    TokenForged = 1002,
    /// The token has expired. Closes the connection.
    #[error("expired token")]
    TokenExpired = 1003,
    /// The first frame was not `Hello`, or a second `Hello` came. Closes the connection.
    #[error("hello expected first and only once")]
    HelloExpected = 1004,
    /// The player is already connected. Closes the new connection.
    #[error("player already connected")]
    AlreadyConnected = 1005,
    /// No `Hello` within the handshake deadline. Closes the connection.
    #[error("hello timed out")]
    HelloTimeout = 1006,
    /// A length prefix above the maximum frame size. Closes the connection.
    #[error("frame too large")]
    FrameTooLarge = 1010,
    /// Bytes that are not a valid message. Closes the connection.
    #[error("malformed message")]
    Malformed = 1011,
    /// A valid message with a value out of range. Closes the connection.
    #[error("value out of range")]
    InvalidValue = 1012,
    /// The control stream ended inside a frame. Closes the connection.
    #[error("truncated frame")]
    TruncatedFrame = 1013,
    /// A stream the protocol does not use was opened. Closes the connection.
    #[error("unexpected stream")]
    UnexpectedStream = 1014,
    /// More requests of one class per second than allowed; the request is refused.
    #[error("rate limited")]
    RateLimited = 1020,
    /// Datagrams or requests far beyond their rates: more turned away within a second than
    /// `net.rate_limits.flood_drops_per_s`. Closes the connection.
    #[error("flood: far beyond the rate limits")]
    Flood = 1021,
    /// The client reads its replies too slowly, or stopped reading a stream the server writes.
    /// Closes the connection.
    #[error("slow consumer")]
    SlowConsumer = 1030,
    /// The server is shedding load and admits no new players now; try again later. Closes the
    /// connection.
    #[error("server busy: try again later")]
    ServerBusy = 1031,
    /// The server is shutting down. Closes the connection.
    #[error("server shutting down")]
    Shutdown = 1040,
}

impl ErrorCode {
    /// Every code, for documentation and lookups.
    pub const ALL: [ErrorCode; 17] = [
        ErrorCode::VersionMismatch,
        ErrorCode::TokenMalformed,
        ErrorCode::TokenForged,
        ErrorCode::TokenExpired,
        ErrorCode::HelloExpected,
        ErrorCode::AlreadyConnected,
        ErrorCode::HelloTimeout,
        ErrorCode::FrameTooLarge,
        ErrorCode::Malformed,
        ErrorCode::InvalidValue,
        ErrorCode::TruncatedFrame,
        ErrorCode::UnexpectedStream,
        ErrorCode::RateLimited,
        ErrorCode::Flood,
        ErrorCode::SlowConsumer,
        ErrorCode::ServerBusy,
        ErrorCode::Shutdown,
    ];

    /// The stable numeric code.
    pub fn code(self) -> u16 {
        self as u16
    }

    /// The code with this number, if any.
    pub fn from_code(code: u16) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.code() == code)
    }
}

/// The short message of any code a client may receive (a refusal or a protocol error).
pub fn error_message(code: u16) -> String {
    if let Some(error) = ErrorCode::from_code(code) {
        return error.to_string();
    }
    Refusal::from_code(code).map_or_else(|| format!("unknown error code {code}"), |r| r.to_string())
}
