//! Stored conversations (config `sessions`; README, "Sessions"): how long an idle conversation
//! is kept, and how much one may hold. The store itself is
//! [`crate::core::state::conversation`]; this is only what the config says.

/// The most bytes one stored item may take: a SQLite-backed Durable Object keeps at most
/// 2 MB in one row (<https://developers.cloudflare.com/durable-objects/platform/limits/>),
/// and a row holds an item's id and position beside it.
pub const MAX_ITEM_BYTES: u32 = 1_900_000;

/// Stored conversation settings (every field optional).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionsConfig {
    /// A conversation not used for this many days deletes itself (1..3650, default 30).
    pub ttl_days: u32,
    /// The most items (messages, or Responses items) one conversation holds, across all its
    /// turns (1..100000, default 1000).
    pub max_items: u32,
    /// The most bytes of JSON one item (and one stored response record) may take (1024 up to
    /// [`MAX_ITEM_BYTES`], default 1 MiB).
    pub max_item_bytes: u32,
}

crate::de_struct!(SessionsConfig, default, deny { ttl_days, max_items, max_item_bytes });

impl Default for SessionsConfig {
    fn default() -> Self {
        SessionsConfig { ttl_days: 30, max_items: 1000, max_item_bytes: 1 << 20 }
    }
}

impl SessionsConfig {
    /// The idle lifetime in milliseconds.
    pub fn ttl_ms(&self) -> u64 {
        u64::from(self.ttl_days) * 86_400_000
    }

    /// What is wrong with these settings, if anything.
    pub fn problem(&self) -> Option<&'static str> {
        (!(1..=3650).contains(&self.ttl_days)
            || !(1..=100_000).contains(&self.max_items)
            || !(1024..=MAX_ITEM_BYTES).contains(&self.max_item_bytes))
        .then_some("ttl_days must be 1..3650, max_items 1..100000 and max_item_bytes 1024..1900000")
    }
}
