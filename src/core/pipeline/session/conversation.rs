//! The session's stored-conversation steps (`x-switchyard-session`; README, "Sessions"):
//! once the answer is complete, its turn (the request's new messages and the answer) goes to
//! the conversation's object, and only then does the caller get it, so a next turn always
//! sees this one.
//!
//! A full reply is held while the turn is stored (an [`Action::Conversation`] comes first);
//! a stream's head goes out at once, and its last chunk (the one carrying the upstream's
//! clean end) waits for the store ([`Session::store_op`], [`Session::on_stream_stored`]). A
//! turn that cannot be stored ends the request with the store's error instead (in-band for a
//! stream): the caller then knows the conversation does not hold it.

use super::Session;
use crate::core::pipeline::protocol::{cors_headers, error_reply, Action};
use crate::core::state::conversation::answer::{self, StoreError};
use crate::core::state::conversation::{Item, Op, Record, Turn};
use crate::core::translate::dialect::encode_response;
use crate::core::translate::history;
use crate::core::types::Dialect;
use serde_json::Value;

impl Session {
    /// A labelled success for the caller. With a stored conversation, a full answer waits for
    /// its turn to be stored (the store's action comes instead), and a stream's head names
    /// the conversation.
    pub(super) fn keep_turn(&mut self, action: Action) -> Action {
        let action = self.label(action);
        let op = match &action {
            Action::Respond(_) if self.keeping.is_some() => self.turn_op(),
            _ => None,
        };
        let Some(k) = self.keeping.as_deref_mut() else { return action };
        match (action, op) {
            (Action::Stream(mut r), _) => {
                r.headers.push(k.header());
                Action::Stream(r)
            }
            (Action::Respond(r), Some(op)) => {
                k.held = Some(r);
                Action::Conversation { name: k.plan.object.clone(), op }
            }
            (Action::Respond(_), None) => self.not_stored(StoreError::Unavailable),
            (other, _) => other,
        }
    }

    /// The turn's append op: the request's new messages, then the answer's first choice, under
    /// the plan's response id (`None` without a complete answer). A Responses caller's turn is
    /// its input items and the `response` object's output items, each under its own id, and
    /// the object itself as the record.
    fn turn_op(&mut self) -> Option<String> {
        let answer = self.exchange.answer.as_ref()?;
        let (output, body) = match self.caller.api {
            Dialect::Responses => {
                let object = encode_response(Dialect::Responses, answer, self.caller.echo.as_deref());
                let body: Value = serde_json::from_slice(&object).ok()?;
                (body["output"].as_array()?.clone(), body)
            }
            _ => (vec![history::answer(answer)?], history::record(answer)),
        };
        let responses = self.caller.api == Dialect::Responses;
        let p = &mut self.keeping.as_deref_mut()?.plan;
        let item = |i: usize, body: Value| {
            let id = body["id"].as_str().filter(|_| responses).map_or_else(|| format!("{}.{i}", p.response), str::to_string);
            Item { id, body }
        };
        let input: Vec<Item> = std::mem::take(&mut p.items).into_iter().enumerate().map(|(i, b)| item(i, b)).collect();
        let output = output.into_iter().enumerate().map(|(i, b)| item(input.len() + i, b)).collect();
        let record = Record { id: p.response.clone(), parent: p.parent.clone(), body };
        Some(Op::Append(Box::new(Turn { conv: p.id.clone(), create: p.create, record, input, output, limits: p.limits })).to_json())
    }

    /// The conversation's object answered the append (`None`: it could not be reached): the
    /// held reply, naming the conversation, or the error that the turn was not stored.
    pub fn on_stored(&mut self, reply: Option<&str>) -> Action {
        let checked = answer::check(reply);
        let Some(k) = self.keeping.as_deref_mut() else { return self.not_stored(StoreError::Unavailable) };
        match (checked, k.held.take()) {
            (Ok(_), Some(mut r)) => {
                r.headers.push(k.header());
                Action::Respond(r)
            }
            (Err(e), _) => self.not_stored(e),
            (Ok(_), None) => self.not_stored(StoreError::Unavailable),
        }
    }

    /// The reply when the turn was not stored.
    fn not_stored(&mut self, e: StoreError) -> Action {
        let id = self.keeping.as_deref().map(|k| k.plan.id.as_str()).unwrap_or_default();
        let err = e.to_error(id);
        let mut reply = error_reply(&self.caller.request_id, &err, self.caller.api);
        reply.headers.extend(self.caller.cors_origin.as_deref().map(cors_headers).unwrap_or_default());
        let action = self.label(Action::Respond(reply));
        self.error_code = Some(err.code);
        action
    }

    /// A stream chunk's bytes for the caller: with a stored conversation, from the chunk that
    /// carries the upstream's clean end on, they wait for the store.
    pub(super) fn hold_tail(&mut self, out: Option<Vec<u8>>) -> Option<Vec<u8>> {
        let done = self.exchange.saw_done();
        match (self.keeping.as_deref_mut(), out) {
            (Some(k), Some(bytes)) if done => {
                k.tail.extend(bytes);
                Some(Vec::new())
            }
            (_, out) => out,
        }
    }

    /// The stream's closing bytes `out`: with a stored conversation and a clean end, they wait
    /// with the held tail for the store ([`Session::store_op`]); a failed stream's error goes
    /// out at once, its held tail dropped.
    pub(super) fn end_turn(&mut self, out: Vec<u8>) -> Vec<u8> {
        let completed = self.exchange.completed;
        let op = if completed { self.turn_op() } else { None };
        let Some(k) = self.keeping.as_deref_mut() else { return out };
        if !completed {
            k.tail.clear();
            return out;
        }
        if op.is_none() {
            k.tail.clear();
            return self.on_stream_stored(None);
        }
        k.tail.extend(out);
        k.op = op;
        Vec::new()
    }

    /// Once a stream ended cleanly: the turn to store, `(object, op)`, for the driver to send
    /// before it closes the stream with [`Session::on_stream_stored`] (taken once).
    pub fn store_op(&mut self) -> Option<(String, String)> {
        let k = self.keeping.as_deref_mut()?;
        Some((k.plan.object.clone(), k.op.take()?))
    }

    /// The stream's append was answered (`None`: the object could not be reached): the held
    /// tail, or, when the turn was not stored, an in-band error in its place.
    pub fn on_stream_stored(&mut self, reply: Option<&str>) -> Vec<u8> {
        let Some(k) = self.keeping.as_deref_mut() else { return Vec::new() };
        let tail = std::mem::take(&mut k.tail);
        match answer::check(reply) {
            Ok(_) => tail,
            Err(e) => {
                let err = e.to_error(&k.plan.id);
                self.error_code = Some(err.code);
                self.exchange.in_band_error(&err.message)
            }
        }
    }
}
