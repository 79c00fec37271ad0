//! A capability's part of a cascade (README, "Capabilities"): its limits (`max_attempts`
//! bounds the upstream calls, checked before each; `max_cost_usd` is checked in the cascade
//! before a re-prompt or escalation) and the reply of `POST /v1/capabilities/NAME`:
//! `{"output", "model", "attempts", "gates", "cost": {"usd"}}`, where `output` is the answer's
//! text, or its JSON for a JSON output contract, and `gates` lists every checked answer's rung
//! with the verdicts it got.

use super::Session;
use crate::core::pipeline::protocol::Action;
use crate::core::state::ledger::{gate_row, recent_gates};
use crate::core::state::spend::Op;
use crate::json;
use serde_json::Value;

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

    /// With a `min_pass_rate`: ask the tenant's object for its gate records first.
    pub(super) fn read_rates(&mut self) -> Option<Action> {
        let c = self.cascade.as_deref_mut().filter(|c| c.plan.min_pass_rate.is_some() && self.targets.len() > 1)?;
        c.reading_rates = true;
        let op = serde_json::to_string(&Op::Usage(recent_gates(self.caller.now_ms))).unwrap_or_default();
        Some(Action::Tenant { tenant: self.caller.tenant.clone(), op })
    }

    /// The gate records arrived (`None`: the object did not answer, and nothing is skipped):
    /// rungs with at least `min_samples` checked answers and a pass rate below
    /// `min_pass_rate` are dropped from the plan, the last rung always kept.
    pub(super) fn skip_rungs(&mut self, rows: Option<&str>) {
        let Some(c) = self.cascade.as_deref_mut() else { return };
        c.reading_rates = false;
        let Some((min, samples)) = c.plan.min_pass_rate else { return };
        let rows: Vec<Value> = rows.and_then(|r| serde_json::from_slice(r.as_bytes()).ok()).unwrap_or_default();
        let mut i = 0;
        while i + 1 < self.targets.len() {
            let name = c.plan.names.get(i).map_or("", String::as_str);
            let row = rows.iter().find(|r| r["route"] == self.caller.public_model.as_str() && r["model"] == name);
            let (calls, passes) = row.map_or((0, 0), |r| (r["calls"].as_u64().unwrap_or(0), r["passes"].as_u64().unwrap_or(0)));
            let rate = passes as f64 / calls.max(1) as f64;
            if calls < samples || rate >= min {
                i += 1;
                continue;
            }
            c.notes.push(format!("{name} skipped: pass rate {} < {}", hundredths(rate), hundredths(min)));
            c.plan.names.remove(i);
            c.plan.checked.remove(i);
            self.targets.remove(i);
            self.keys.remove(i);
        }
    }

    /// The checked answers of a cascade, for its rungs' gate records: every refused one, and
    /// the accepted one when its rung is checked (a cached answer checked nothing).
    pub(super) fn gate_rows(&self) -> Value {
        let Some(c) = self.cascade.as_deref() else { return Value::Null };
        let model = |i: usize| c.plan.names.get(i).map_or("", String::as_str);
        let route = self.caller.public_model.as_str();
        let mut rows: Vec<Value> = c.refused.iter().map(|(i, _, n)| gate_row(route, model(*i), false, *n)).collect();
        let checked = c.plan.checked.get(self.index).copied().unwrap_or(false);
        if self.status == 200 && checked && !self.served_from_cache() {
            rows.push(gate_row(route, model(self.index), true, self.attempt_usage_and_cost().map_or(0, |(_, n)| n)));
        }
        Value::Array(rows)
    }

    /// The capability reply for the accepted answer (the current attempt's).
    pub(super) fn capability_body(&self) -> Vec<u8> {
        let Some(c) = self.cascade.as_deref() else { return Vec::new() };
        let name = |i: usize| c.plan.names.get(i).cloned().unwrap_or_default();
        let text = self.exchange.answer.as_ref().and_then(|a| a.choices.first()).and_then(|ch| ch.content.as_deref()).unwrap_or("");
        let output = match c.plan.gates.json {
            Some(Value::Object(_) | Value::Bool(true)) => serde_json::from_slice(text.trim().as_bytes()).unwrap_or_else(|_| text.into()),
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

/// `x` to two decimals (`0.12`), without float formatting.
fn hundredths(x: f64) -> String {
    let h = (x * 100.0).round() as u64;
    format!("{}.{:02}", h / 100, h % 100)
}
