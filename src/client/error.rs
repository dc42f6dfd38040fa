//! What can go wrong on a client connection ([`ClientError`]), and how quinn's errors map onto it:
//! a close by the server's application becomes [`ClientError::Closed`] with the server's code, so
//! callers see the protocol's [`ErrorCode`](crate::protocol::ErrorCode) rather than a transport
//! error.

use std::io;
use std::sync::Arc;

use quinn::{ConnectionError, ReadError, SendDatagramError, WriteError};

use crate::net::tls::TlsError;
use crate::protocol::framing::FrameError;
use crate::protocol::{DecodeError, EncodeError, ErrorCode, ReplyBodyS2c, error_message};

/// Why a client operation failed. Cloneable, because one connection failure is handed to every
/// request waiting on it; the few non-cloneable sources are shared behind an [`Arc`].
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// The client's UDP socket could not be bound.
    #[error("binding the client socket: {0}")]
    Io(#[source] Arc<io::Error>),
    /// The TLS configuration could not be built.
    #[error(transparent)]
    Tls(Arc<TlsError>),
    /// quinn refused to start the connection (bad server name or address, endpoint stopping).
    #[error("cannot connect: {0}")]
    Connect(#[from] quinn::ConnectError),
    /// The connection failed or ended other than by the server application's close.
    #[error("connection lost: {0}")]
    Connection(ConnectionError),
    /// The server closed the connection with this application code and reason.
    #[error("closed by the server with code {code}: {reason}")]
    Closed {
        /// The close code: a protocol [`ErrorCode`], or 0 for a normal close.
        code: u16,
        /// The reason the server gave.
        reason: String,
    },
    /// The server refused the request and changed nothing.
    #[error("refused with code {code}: {message}")]
    Refused {
        /// A simulation refusal code (below 1000) or a protocol [`ErrorCode`].
        code: u16,
        /// The code's short message ([`error_message`]).
        message: String,
    },
    /// Writing the control stream failed.
    #[error("writing the control stream: {0}")]
    Write(WriteError),
    /// Reading a stream from the server failed.
    #[error("reading from the server: {0}")]
    Read(ReadError),
    /// A datagram could not be sent.
    #[error("sending a datagram: {0}")]
    Datagram(SendDatagramError),
    /// A request could not be encoded.
    #[error(transparent)]
    Encode(Arc<EncodeError>),
    /// The server sent bytes that are not a valid message; the client closed the connection.
    #[error("the server sent a {0}")]
    Decode(#[from] DecodeError),
    /// The server broke the stream framing; the client closed the connection.
    #[error("the server broke the framing: {0}")]
    Frame(#[from] FrameError),
    /// The server answered with a message the protocol does not allow there.
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// The server did not welcome the client within its `welcome_timeout`; the attempt was
    /// abandoned and its connection closed.
    #[error("no welcome from the server within {0:?}")]
    WelcomeTimeout(std::time::Duration),
    /// More requests await their replies, or more bytes wait to be sent, than the client holds:
    /// nothing was sent; await some replies first. The connection carries on.
    #[error("too many requests waiting: await some replies first")]
    Backlog,
}

impl ClientError {
    /// The error for a reply of the wrong kind.
    pub(super) fn unexpected(expected: &str, body: &ReplyBodyS2c) -> ClientError {
        ClientError::Protocol(format!("expected {expected}, got {body:?}"))
    }

    /// The application code the client closes the connection with after this error: the
    /// protocol's code for bytes it cannot read, so the server's logs name the fault; else 0.
    pub(super) fn close_code(&self) -> u16 {
        match self {
            ClientError::Decode(error) => error.code().code(),
            ClientError::Frame(FrameError::TooLarge { .. }) => ErrorCode::FrameTooLarge.code(),
            ClientError::Frame(FrameError::Truncated) => ErrorCode::TruncatedFrame.code(),
            _ => 0,
        }
    }
}

/// `body`, unless it is a refusal.
pub(super) fn accepted(body: ReplyBodyS2c) -> Result<ReplyBodyS2c, ClientError> {
    match body {
        ReplyBodyS2c::Refused { code } => Err(ClientError::Refused {
            code,
            message: error_message(code),
        }),
        body => Ok(body),
    }
}

impl From<ConnectionError> for ClientError {
    fn from(error: ConnectionError) -> ClientError {
        match error {
            ConnectionError::ApplicationClosed(close) => match u16::try_from(close.error_code.into_inner()) {
                Ok(code) => ClientError::Closed {
                    code,
                    reason: String::from_utf8_lossy(&close.reason).into_owned(),
                },
                // No protocol code is this large; keep quinn's description of it.
                Err(_) => ClientError::Connection(ConnectionError::ApplicationClosed(close)),
            },
            other => ClientError::Connection(other),
        }
    }
}

impl From<WriteError> for ClientError {
    fn from(error: WriteError) -> ClientError {
        match error {
            WriteError::ConnectionLost(lost) => lost.into(),
            other => ClientError::Write(other),
        }
    }
}

impl From<ReadError> for ClientError {
    fn from(error: ReadError) -> ClientError {
        match error {
            ReadError::ConnectionLost(lost) => lost.into(),
            other => ClientError::Read(other),
        }
    }
}

impl From<SendDatagramError> for ClientError {
    fn from(error: SendDatagramError) -> ClientError {
        match error {
            SendDatagramError::ConnectionLost(lost) => lost.into(),
            other => ClientError::Datagram(other),
        }
    }
}

impl From<io::Error> for ClientError {
    fn from(error: io::Error) -> ClientError {
        ClientError::Io(Arc::new(error))
    }
}

impl From<TlsError> for ClientError {
    fn from(error: TlsError) -> ClientError {
        ClientError::Tls(Arc::new(error))
    }
}

impl From<EncodeError> for ClientError {
    fn from(error: EncodeError) -> ClientError {
        ClientError::Encode(Arc::new(error))
    }
}

#[cfg(test)]
mod tests {
    use quinn::{ApplicationClose, VarInt};

    use super::*;

    fn app_close(code: u64, reason: &'static [u8]) -> ConnectionError {
        ConnectionError::ApplicationClosed(ApplicationClose {
            error_code: VarInt::from_u64(code).expect("fits a varint"),
            reason: reason.into(),
        })
    }

    #[test]
    fn the_servers_close_code_survives_every_path() {
        let lost = app_close(1011, b"malformed message");
        for error in [
            ClientError::from(lost.clone()),
            WriteError::ConnectionLost(lost.clone()).into(),
            ReadError::ConnectionLost(lost.clone()).into(),
            SendDatagramError::ConnectionLost(lost).into(),
        ] {
            assert!(
                matches!(&error, ClientError::Closed { code: 1011, reason } if reason == "malformed message"),
                "{error:?}"
            );
        }
        assert!(matches!(
            ClientError::from(app_close(1 << 20, b"")),
            ClientError::Connection(ConnectionError::ApplicationClosed(_))
        ));
        assert!(matches!(
            ClientError::from(ConnectionError::TimedOut),
            ClientError::Connection(ConnectionError::TimedOut)
        ));
    }

    #[test]
    fn refusals_become_errors_with_their_message() {
        let refused = accepted(ReplyBodyS2c::Refused { code: 1020 });
        assert!(
            matches!(&refused, Err(ClientError::Refused { code: 1020, message }) if message == "rate limited"),
            "{refused:?}"
        );
        assert!(matches!(accepted(ReplyBodyS2c::Left), Ok(ReplyBodyS2c::Left)));
    }

    #[test]
    fn bad_server_bytes_close_with_the_protocols_code() {
        assert_eq!(ClientError::from(DecodeError::Malformed).close_code(), 1011);
        assert_eq!(ClientError::from(FrameError::Truncated).close_code(), 1013);
        assert_eq!(ClientError::Protocol(String::new()).close_code(), 0);
    }
}
