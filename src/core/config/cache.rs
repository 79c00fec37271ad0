//! Response cache settings (README, "Cache"): the gateway-wide `cache`, a route's own
//! `routes[].cache`, and a route's similar-prompt settings (`routes[].cache.similar`).

/// Response cache settings (README, "Cache").
#[derive(Debug, Clone, PartialEq)]
pub struct CacheConfig {
    /// Cache every request, not only deterministic (temperature 0 or seeded) or opted-in ones.
    pub enabled: bool,
    /// Lifetime of an entry, seconds (at least 60, KV's minimum).
    pub ttl_seconds: u32,
    /// How long past its lifetime an entry may still answer when every target fails, in
    /// seconds (default 0: never).
    pub max_stale_seconds: u32,
    /// The similar-prompt cache (routes only).
    pub similar: Option<SimilarConfig>,
    /// Coalesce identical requests across isolates through a Durable Object (top level only;
    /// costs one Durable Object call per cacheable miss).
    pub coalesce: bool,
}

crate::de_struct!(CacheConfig, default, deny { enabled, ttl_seconds, max_stale_seconds, similar, coalesce });

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig { enabled: false, ttl_seconds: 3600, max_stale_seconds: 0, similar: None, coalesce: false }
    }
}

impl CacheConfig {
    /// What these settings say about caching, as the cache's policy reads it.
    pub fn policy(&self) -> RoutePolicy {
        RoutePolicy { enabled: self.enabled, ttl_s: self.ttl_seconds, max_stale_s: self.max_stale_seconds }
    }

    /// What is wrong with these settings' lifetimes, if anything.
    pub fn problem(&self) -> Option<&'static str> {
        (!(60..=31_536_000).contains(&self.ttl_seconds) || self.max_stale_seconds > 31_536_000)
            .then_some("ttl_seconds must be 60..31536000 and max_stale_seconds at most 31536000")
    }
}

/// What a route says about caching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RoutePolicy {
    /// Cache every request on the route, not only deterministic or opted-in ones.
    pub enabled: bool,
    /// Lifetime of entries written for this route, in seconds (raised to KV's minimum TTL,
    /// 60 s).
    pub ttl_s: u32,
    /// How long past its TTL an entry is kept as stale (an answer when every target fails),
    /// in seconds.
    pub max_stale_s: u32,
}

/// A route's similar-prompt settings (`routes[].cache.similar`).
#[derive(Debug, Clone, PartialEq)]
pub struct SimilarConfig {
    /// The public name of the embedding model that embeds prompts.
    pub embedding_model: String,
    /// The least cosine similarity that counts as the same question (0.5 to 1, default 0.95).
    pub threshold: f32,
    /// How many recent prompts per prefix the index keeps and searches (1 to 10 000, default
    /// 1000).
    pub max_entries: u32,
}

crate::de_struct!(
    SimilarConfig,
    required,
    deny { embedding_model, threshold: default(default_threshold()), max_entries: default(default_max_entries()) }
);

fn default_threshold() -> f32 {
    0.95
}

fn default_max_entries() -> u32 {
    1000
}

impl SimilarConfig {
    /// What is wrong with these settings, if anything.
    pub fn problem(&self) -> Option<&'static str> {
        (!(0.5..=1.0).contains(&self.threshold) || !(1..=10_000).contains(&self.max_entries))
            .then_some("threshold must be 0.5..1 and max_entries 1..10000")
    }
}
