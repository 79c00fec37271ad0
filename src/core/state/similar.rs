//! The similar-prompt cache: an index of recent prompts' embeddings per tenant and route,
//! held in a Durable Object (`SimilarIndex`, SQLite), searched by cosine similarity.
//!
//! Invariants:
//! - A prompt is only ever compared with prompts whose every earlier turn and every setting
//!   match exactly (the same [`crate::core::state::cache::prefix_hash`]): a multi-turn conversation
//!   can never receive another conversation's answer, nor a request another request's
//!   settings' answer.
//! - Only the last user turn's text is embedded; prompts with images or other parts are never
//!   matched by similarity.
//! - A match names an exact cache entry; that entry is served only if it is still fresh.

use crate::core::state::cache;
use crate::core::state::ledger::Query;
use crate::core::translate::embeddings;
use crate::core::types::Dialect;
use crate::json;
use serde::Serialize;
use serde_json::Value;

/// The index's table.
pub const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS entries (prefix TEXT NOT NULL, key TEXT NOT NULL, \
vector TEXT NOT NULL, created INTEGER NOT NULL, PRIMARY KEY (prefix, key)) WITHOUT ROWID";

/// What an index object is asked.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IndexOp {
    /// The most similar recent prompt with this prefix, if it reaches the threshold.
    Lookup {
        /// The prompt's prefix hash ([`cache::prefix_hash`]): only prompts with the same one
        /// are compared.
        prefix: String,
        /// The embedding of the prompt's last user turn.
        vector: Vec<f32>,
        /// The least cosine similarity that counts as a match (config `similar.threshold`).
        threshold: f32,
        /// How many of the prefix's most recent prompts are searched.
        max_entries: u32,
    },
    /// Remember a prompt's embedding and the cache key of its answer.
    Insert {
        /// The prompt's prefix hash ([`cache::prefix_hash`]).
        prefix: String,
        /// The response cache key of the stored answer.
        key: String,
        /// The embedding of the prompt's last user turn.
        vector: Vec<f32>,
        /// How many prompts the prefix keeps; older ones are deleted.
        max_entries: u32,
        /// When the answer was stored, Unix milliseconds (newest prompts are searched first).
        now_ms: u64,
    },
}

crate::de_variants!(IndexOp {
    Lookup = "lookup" { prefix: String, vector: Vec<f32>, threshold: f32, max_entries: u32 },
    Insert = "insert" { prefix: String, key: String, vector: Vec<f32>, max_entries: u32, now_ms: u64 },
});

/// A match: the cache key of the similar prompt's answer and the similarity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Match {
    /// The response cache key of the similar prompt's answer.
    pub key: String,
    /// The cosine similarity, at least the lookup's threshold.
    pub score: f32,
}

crate::de_struct!(Match, required, skip { key, score });

/// The statements an op runs; for a lookup, the last one's rows go to [`pick`].
pub fn statements(op: &IndexOp) -> Vec<Query> {
    match op {
        IndexOp::Lookup { prefix, max_entries, .. } => vec![Query {
            sql: "SELECT key, vector FROM entries WHERE prefix = ? ORDER BY created DESC LIMIT ?".into(),
            args: vec![json!(prefix), json!(max_entries)],
        }],
        IndexOp::Insert { prefix, key, vector, max_entries, now_ms } => vec![
            Query {
                sql: "INSERT OR REPLACE INTO entries (prefix, key, vector, created) VALUES (?, ?, ?, ?)".into(),
                args: vec![json!(prefix), json!(key), json!(serde_json::to_string(vector).unwrap_or_default()), json!(now_ms)],
            },
            Query {
                sql: "DELETE FROM entries WHERE prefix = ? AND key NOT IN \
                      (SELECT key FROM entries WHERE prefix = ? ORDER BY created DESC LIMIT ?)"
                    .into(),
                args: vec![json!(prefix), json!(prefix), json!(max_entries)],
            },
        ],
    }
}

/// The best match among the rows a lookup read (`[{"key", "vector"}]`).
pub fn pick(op: &IndexOp, rows: &str) -> Option<Match> {
    let IndexOp::Lookup { vector, threshold, .. } = op else { return None };
    let rows: Vec<serde_json::Map<String, Value>> = serde_json::from_slice(rows.as_bytes()).ok()?;
    rows.iter()
        .filter_map(|r| {
            let key = r.get("key")?.as_str()?;
            let stored: Vec<f32> = serde_json::from_slice(r.get("vector")?.as_str()?.as_bytes()).ok()?;
            Some(Match { key: key.to_string(), score: cache::cosine(vector, &stored) })
        })
        .filter(|m| m.score >= *threshold)
        .max_by(|a, b| a.score.total_cmp(&b.score))
}

/// The first embedding in an embeddings response of `wire` (OpenAI list or Gemini batch).
pub fn vector_from(wire: Dialect, body: &[u8]) -> Option<Vec<f32>> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let list = match wire {
        Dialect::Gemini => v.get("embeddings")?.get(0)?.get("values")?,
        _ => v.get("data")?.get(0)?.get("embedding")?,
    };
    let vector: Vec<f32> = list.as_array()?.iter().map(|x| x.as_f64().map(|f| f as f32)).collect::<Option<_>>()?;
    (!vector.is_empty() && vector.len() <= 16_384).then_some(vector)
}

/// The embedding the built-in mock gives `text` (no upstream call).
pub fn mock_vector(req: &embeddings::EmbeddingsRequest, model: &str) -> Option<Vec<f32>> {
    vector_from(Dialect::OpenAi, &embeddings::mock_response(req, model))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(vector: Vec<f32>) -> IndexOp {
        IndexOp::Lookup { prefix: "p".into(), vector, threshold: 0.9, max_entries: 10 }
    }

    #[test]
    fn picks_the_closest_above_the_threshold() {
        let rows = json!([
            {"key": "far", "vector": "[0.0, 1.0]"},
            {"key": "near", "vector": "[1.0, 0.1]"},
            {"key": "same", "vector": "[2.0, 0.0]"},
            {"key": "broken", "vector": "nope"},
        ])
        .to_string();
        assert_eq!(pick(&lookup(vec![1.0, 0.0]), &rows).map(|m| m.key), Some("same".into()));
        assert_eq!(pick(&lookup(vec![0.0, -1.0]), &rows), None, "nothing reaches the threshold");
        assert_eq!(pick(&lookup(vec![1.0, 0.0]), "not json"), None);
    }

    #[test]
    fn statements_bind_every_value() {
        let insert = IndexOp::Insert { prefix: "p'".into(), key: "k".into(), vector: vec![0.5], max_entries: 3, now_ms: 9 };
        for q in statements(&insert).iter().chain(&statements(&lookup(vec![1.0]))) {
            assert_eq!(q.sql.matches('?').count(), q.args.len(), "{}", q.sql);
        }
    }

    #[test]
    fn vectors_from_both_wires() {
        assert_eq!(vector_from(Dialect::OpenAi, br#"{"data":[{"embedding":[0.5,-1]}]}"#), Some(vec![0.5, -1.0]));
        assert_eq!(vector_from(Dialect::Gemini, br#"{"embeddings":[{"values":[1,2]}]}"#), Some(vec![1.0, 2.0]));
        assert_eq!(vector_from(Dialect::OpenAi, br#"{"data":[]}"#), None);
        assert_eq!(vector_from(Dialect::OpenAi, br#"{"data":[{"embedding":["x"]}]}"#), None);
    }
}
