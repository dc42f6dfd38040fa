//! The requests awaiting replies ([`Pending`]) and the handle a caller awaits ([`PendingReply`]).
//! Request numbers count up from 1 and skip 0 (the server's number for unsolicited replies) and
//! any number still waiting, so they stay unique when the counter wraps. Once the connection has
//! failed, every waiter gets the failure and new requests are refused with it.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::task::{Context, Poll};

use quinn::ConnectionError;
use tokio::sync::oneshot;

use super::ClientError;
use crate::protocol::ReplyS2c;

/// Requests awaiting replies at most: far more than the server's rate limits answer in the time a
/// reply takes, and a bound on what a caller that never awaits its replies can hold.
pub(super) const MAX_WAITING: usize = 65_536;

/// Where one request's reply, or the connection's failure, is delivered.
pub(super) type Waiter = oneshot::Sender<Result<ReplyS2c, ClientError>>;

/// The table of requests sent and not yet answered.
#[derive(Debug, Default)]
pub(super) struct Pending {
    last_id: u32,
    waiting: BTreeMap<u32, Waiter>,
    failure: Option<ClientError>,
}

impl Pending {
    /// Registers `waiter` under a fresh request number, or refuses with the connection's failure.
    pub(super) fn register(&mut self, waiter: Waiter) -> Result<u32, ClientError> {
        if let Some(failure) = &self.failure {
            return Err(failure.clone());
        }
        if self.waiting.len() >= MAX_WAITING {
            return Err(ClientError::Backlog);
        }
        let mut id = self.last_id;
        loop {
            id = id.wrapping_add(1);
            if id != 0 && !self.waiting.contains_key(&id) {
                break;
            }
        }
        self.last_id = id;
        self.waiting.insert(id, waiter);
        Ok(id)
    }

    /// Drops the registration of a request that was never sent.
    pub(super) fn forget(&mut self, id: u32) {
        self.waiting.remove(&id);
    }

    /// Hands `reply` to the request it answers; returns it if nobody awaits it (request number 0,
    /// a number this client never sent, or a caller that stopped waiting).
    pub(super) fn answer(&mut self, reply: ReplyS2c) -> Option<ReplyS2c> {
        match self.waiting.remove(&reply.request_id) {
            Some(waiter) => waiter.send(Ok(reply)).err().and_then(Result::ok),
            None => Some(reply),
        }
    }

    /// Records why the connection failed and hands it to every waiting request; false if a
    /// failure was already recorded (the first one is the cause, later ones are its echoes).
    pub(super) fn fail(&mut self, error: &ClientError) -> bool {
        if self.failure.is_some() {
            return false;
        }
        self.failure = Some(error.clone());
        for waiter in std::mem::take(&mut self.waiting).into_values() {
            // A caller that stopped waiting needs no answer.
            let _ = waiter.send(Err(error.clone()));
        }
        true
    }

    /// Why the connection failed, once it has.
    pub(super) fn failure(&self) -> Option<&ClientError> {
        self.failure.as_ref()
    }
}

/// A request that has been queued: await it for the server's reply. A refusal is a reply here
/// (`ReplyBodyS2c::Refused`), so bulk senders can count codes; only a failed connection is an
/// error. Dropping it does not cancel the request; its reply then goes to
/// [`Client::next_unsolicited`](super::Client::next_unsolicited).
#[derive(Debug)]
pub struct PendingReply {
    id: u32,
    reply: oneshot::Receiver<Result<ReplyS2c, ClientError>>,
}

impl PendingReply {
    /// Pairs a request number with the receiving end of its waiter.
    pub(super) fn new(id: u32, reply: oneshot::Receiver<Result<ReplyS2c, ClientError>>) -> PendingReply {
        PendingReply { id, reply }
    }

    /// The request number the reply will carry.
    pub fn id(&self) -> u32 {
        self.id
    }
}

impl Future for PendingReply {
    type Output = Result<ReplyS2c, ClientError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.reply).poll(cx).map(|answer| {
            // The table answers every waiter, even on failure; a waiter drops unanswered only when
            // the runtime tears the client's tasks down, which ends the connection on this side.
            answer.unwrap_or(Err(ClientError::Connection(ConnectionError::LocallyClosed)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ReplyBodyS2c;

    fn reply(request_id: u32) -> ReplyS2c {
        ReplyS2c {
            request_id,
            tick: 9,
            body: ReplyBodyS2c::Left,
        }
    }

    fn register(pending: &mut Pending) -> (u32, oneshot::Receiver<Result<ReplyS2c, ClientError>>) {
        let (waiter, receiver) = oneshot::channel();
        (pending.register(waiter).expect("open"), receiver)
    }

    #[test]
    fn ids_count_from_one_and_skip_zero_and_waiting_ids_when_wrapping() {
        let mut pending = Pending::default();
        assert_eq!(register(&mut pending).0, 1);
        assert_eq!(register(&mut pending).0, 2);
        pending.last_id = u32::MAX - 1;
        let (max, _keep) = register(&mut pending);
        assert_eq!(max, u32::MAX);
        // 0 is skipped, and so are 1 and 2, which still wait.
        assert_eq!(register(&mut pending).0, 3);
        pending.last_id = u32::MAX - 1;
        assert_eq!(register(&mut pending).0, 4, "u32::MAX is still waiting too");
    }

    #[test]
    fn requests_past_the_bound_are_refused_until_replies_come() {
        let mut pending = Pending::default();
        let held: Vec<_> = (0..MAX_WAITING).map(|_| register(&mut pending)).collect();
        let (waiter, _receiver) = oneshot::channel();
        assert!(matches!(pending.register(waiter), Err(ClientError::Backlog)));
        assert_eq!(pending.answer(reply(held[0].0)), None);
        register(&mut pending);
    }

    #[test]
    fn replies_reach_their_request_and_strays_come_back() {
        let mut pending = Pending::default();
        let (id, mut receiver) = register(&mut pending);
        assert_eq!(pending.answer(reply(id)), None);
        assert_eq!(
            receiver.try_recv().expect("answered").expect("a reply"),
            reply(id)
        );
        assert_eq!(pending.answer(reply(id)), Some(reply(id)), "answered once only");
        assert_eq!(pending.answer(reply(0)), Some(reply(0)), "unsolicited");
        let (dropped, receiver) = register(&mut pending);
        drop(receiver);
        assert_eq!(pending.answer(reply(dropped)), Some(reply(dropped)));
    }

    #[test]
    fn a_failure_answers_every_waiter_and_refuses_new_requests() {
        let mut pending = Pending::default();
        let (_, mut first) = register(&mut pending);
        let (_, mut second) = register(&mut pending);
        let closed = ClientError::Closed {
            code: 1040,
            reason: "server shutting down".into(),
        };
        assert!(pending.fail(&closed));
        assert!(!pending.fail(&ClientError::Protocol("an echo".into())));
        for receiver in [&mut first, &mut second] {
            let answer = receiver.try_recv().expect("answered");
            assert!(
                matches!(answer, Err(ClientError::Closed { code: 1040, .. })),
                "{answer:?}"
            );
        }
        let (waiter, _receiver) = oneshot::channel();
        assert!(matches!(
            pending.register(waiter),
            Err(ClientError::Closed { code: 1040, .. })
        ));
        assert!(matches!(
            pending.failure(),
            Some(ClientError::Closed { code: 1040, .. })
        ));
    }
}
