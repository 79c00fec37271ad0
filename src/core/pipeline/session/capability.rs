//! A capability's part of a cascade (README, "Capabilities"): its limits (`max_attempts`
//! bounds the upstream calls, checked before each; `max_cost_usd` is checked in the cascade
//! before a re-prompt or escalation) and the reply of `POST /v1/capabilities/NAME`:
//! `{"output", "model", "attempts", "gates", "cost": {"usd"}}`, where `output` is the answer's
//! text, or its JSON for a JSON output contract, and `gates` lists every checked answer's rung
//! with the verdicts it got.

use super::Session;
use crate::core::pipeline::protocol::Action;
use crate::core::state::ledger::GateRow;
use serde_json::{json, Value};

impl Session {
    /// Before an upstream call: a 422 when the capability's `max_attempts` calls were made.
    #[inline(never)]
    pub(super) fn attempts_spent(&mut self) -> Option<Action> {
        let c = self.cascade.as_deref_mut()?;
        if c.plan.max_attempts == 0 || self.attempts < c.plan.max_attempts {
            return None;
        }
        c.stop = Some(format!("stopped: max_attempts ({}) reached", c.plan.max_attempts));
        Some(self.refuse())
    }

    /// The checked answers of a cascade, for its rungs' gate records: every refused one, and
    /// the accepted one when its rung is checked (a cached answer checked nothing).
    pub(super) fn gate_rows(&self) -> Vec<GateRow> {
        let Some(c) = self.cascade.as_deref() else { return Vec::new() };
        let row = |i: usize, passes: u64, cost_nusd: u64| GateRow {
            route: self.caller.public_model.clone(),
            model: c.plan.names.get(i).cloned().unwrap_or_default(),
            calls: 1,
            passes,
            cost_nusd,
        };
        let mut rows: Vec<GateRow> = c.refused.iter().map(|(i, _, n)| row(*i, 0, *n)).collect();
        let checked = c.plan.checked.get(self.index).copied().unwrap_or(false);
        if self.status == 200 && checked && !self.served_from_cache() {
            rows.push(row(self.index, 1, self.attempt_usage_and_cost().map_or(0, |(_, n)| n)));
        }
        rows
    }

    /// The capability reply for the accepted answer (the current attempt's).
    pub(super) fn capability_body(&self) -> Vec<u8> {
        let Some(c) = self.cascade.as_deref() else { return Vec::new() };
        let name = |i: usize| c.plan.names.get(i).cloned().unwrap_or_default();
        let text = self.exchange.answer.as_ref().and_then(|a| a.choices.first()).and_then(|ch| ch.content.as_deref()).unwrap_or("");
        let output = match c.plan.gates.json {
            Some(Value::Object(_) | Value::Bool(true)) => serde_json::from_str(text.trim()).unwrap_or_else(|_| text.into()),
            _ => Value::from(text),
        };
        let mut gates: Vec<Value> = c
            .refused
            .iter()
            .map(|(i, vs, _)| {
                let verdicts: Vec<Value> = vs.iter().map(|v| json!({"gate": v.gate, "reason": v.reason})).collect();
                json!({"model": name(*i), "passed": false, "verdicts": verdicts})
            })
            .collect();
        gates.push(json!({"model": name(self.index), "passed": true, "verdicts": []}));
        let nusd = self.usage_and_cost().map_or(0, |(_, n)| n) + self.lookup_nusd;
        let body = json!({
            "output": output,
            "model": name(self.index),
            "attempts": self.attempts,
            "gates": gates,
            "cost": {"usd": nusd as f64 / 1e9},
        });
        serde_json::to_vec(&body).unwrap_or_default()
    }
}
