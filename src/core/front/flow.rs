//! What a request waits for between the steps of its driver: every continuation in one
//! enum, so one `resume` serves them all (see [`crate::core::front::step`]).

use crate::core::front::admin::Pending;
use crate::core::front::converse::Loading;
use crate::core::front::count::CountNext;
use crate::core::front::health::HealthRead;
use crate::core::front::jobs::Pending as JobPending;
use crate::core::front::stats::StatsNext;
use crate::core::front::stored::Pending as StoredPending;
use crate::core::front::usage::UsageNext;
use crate::core::pipeline::session::Session;

/// What a request waits for between steps.
#[derive(Debug)]
pub enum Flow {
    /// Nothing: the action is the reply.
    Done,
    /// A request across its attempts.
    Session(Box<Session>),
    /// A key lookup or an admin operation waiting on KV.
    Keys(Pending),
    /// `GET /v1/usage` waiting on the tenant's object.
    Usage(Box<UsageNext>),
    /// `GET /v1/health` or `GET /v1/stats` waiting on the targets' health objects.
    Health(Box<HealthRead>),
    /// `GET /v1/stats` waiting on the tenant's object.
    Stats(Box<StatsNext>),
    /// `POST /v1/messages/count_tokens` waiting on the Anthropic target's count.
    Count(Box<CountNext>),
    /// A chat or messages request waiting for its stored conversation's history.
    Conversation(Box<Loading>),
    /// A stored response's `GET`, `DELETE` or items list waiting on its conversation's object.
    Stored(Box<StoredPending>),
    /// A jobs request waiting on its job's object.
    Job(Box<JobPending>),
}

impl Flow {
    /// The session, when the flow is one.
    pub fn into_session(self) -> Option<Session> {
        match self {
            Flow::Session(s) => Some(*s),
            _ => None,
        }
    }
}
