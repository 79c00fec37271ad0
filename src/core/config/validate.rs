//! Whole-document validation: every problem of a parsed config, each with its JSON path,
//! never just the first. Checks that span sections (a key or a route naming a model, a
//! similar-prompt cache naming an embedding model) are made here; a section's own ranges are
//! checked by its type's `problem`.

use crate::core::config::{authority, Config, Prices, Problem, ProviderKind, RouteConfig, StepConfig, Strategy, CAP_PREFIX};
use crate::core::util::secret::is_sha256_hex;

/// USD per million tokens to integer micro-USD per million, for prices below a million USD.
fn micro_per_million(usd: f64) -> Option<u64> {
    (0.0..1e6).contains(&usd).then(|| (usd * 1e6).round() as u64)
}

/// The problems found so far, in the order found.
#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, path: String, message: &str) {
        self.0.push(Problem { path, message: message.to_string() });
    }

    /// A problem at `base` followed by `field` (`.name`): one shared join rather than a
    /// `format!` at every check.
    fn at(&mut self, base: &str, field: &str, message: &str) {
        self.add([base, field].concat(), message);
    }
}

impl Config {
    /// Every problem of a parsed config, with its path; fills in the model index and the
    /// integer prices on the way.
    pub(super) fn validate(&mut self) -> Vec<Problem> {
        let mut p = Problems::default();
        self.check_providers(&mut p);
        self.index_models(&mut p);
        self.check_keys(&mut p);
        self.check_routes(&mut p);
        if let Some(problem) = self.retry.problem() {
            p.add("retry".into(), problem);
        }
        if let Some(problem) = self.breaker.problem() {
            p.add("breaker".into(), problem);
        }
        for (i, m) in self.health_checks.iter().flat_map(|h| &h.models).enumerate() {
            if !self.index.contains_key(m) {
                p.add(format!("health_checks.models[{i}]"), &format!("unknown model '{m}'"));
            }
        }
        if let Some(t) = &self.tokens {
            if !(60..=86_400).contains(&t.max_ttl_seconds) {
                p.add("tokens.max_ttl_seconds".into(), "must be between 60 and 86400");
            }
            if t.secret.is_empty() {
                p.add("tokens.secret".into(), "must name a Worker secret");
            }
        }
        self.check_caches(&mut p);
        self.check_capabilities(&mut p);
        if let Some(problem) = self.sessions.problem() {
            p.add("sessions".into(), problem);
        }
        if let Some(problem) = self.jobs.problem() {
            p.add("jobs".into(), problem);
        }
        for name in self.jobs.provider_concurrency.keys().filter(|n| !self.providers.contains_key(*n)) {
            p.add(format!("jobs.provider_concurrency.{name}"), "names no provider");
        }
        for name in self.jobs.concurrency.keys().filter(|n| self.model(n).is_none() && self.route(n).is_none()) {
            p.add(format!("jobs.concurrency.{name}"), "names no model, alias, route or capability (cap:NAME)");
        }
        for (name, t) in &self.tenants {
            if let Some(problem) = t.limits.problem() {
                p.add(format!("tenants.{name}.limits"), problem);
            }
            let events = t.response_events_url.as_deref();
            if events.is_some_and(|u| self.jobs.webhook_secret.is_none() || !authority(u).is_some_and(|a| self.jobs.allows(&a))) {
                let problem = "must be an http(s) URL whose host is in jobs.webhook_hosts, with jobs.webhook_secret set";
                p.add(format!("tenants.{name}.response_events_url"), problem);
            }
        }
        if self.limits.max_body_bytes < 1024 || self.limits.max_body_bytes > 100 << 20 {
            p.add("limits.max_body_bytes".into(), "must be between 1024 and 104857600");
        }
        p.0
    }

    fn check_providers(&self, p: &mut Problems) {
        for (name, prov) in &self.providers {
            let path = format!("providers.{name}");
            match (&prov.base_url, prov.kind) {
                (Some(url), _) if !(url.starts_with("https://") || url.starts_with("http://")) => {
                    p.at(&path, ".base_url", "must start with https:// or http://")
                }
                (Some(url), _) if url.contains(['?', '#']) => p.at(&path, ".base_url", "must not carry a query or fragment"),
                (None, ProviderKind::AzureOpenai) => {
                    p.at(&path, ".base_url", "is required for kind azure-openai (https://RESOURCE.openai.azure.com)")
                }
                _ => {}
            }
            if prov.responses_api == Some(true) && prov.kind != ProviderKind::Openai {
                p.at(&path, ".responses_api", "applies only to kind openai");
            }
            if prov.api_version.is_some() && prov.kind != ProviderKind::AzureOpenai {
                p.at(&path, ".api_version", "applies only to kind azure-openai");
            }
            if let Some(s) = &prov.api_key_secret {
                if s.is_empty() || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                    p.at(&path, ".api_key_secret", "must be a secret name of letters, digits and _");
                }
            }
            if [prov.ttfb_timeout_ms, prov.idle_timeout_ms].iter().flatten().any(|t| !(10..=900_000).contains(t)) {
                p.at(&path, ".ttfb_timeout_ms", "ttfb_timeout_ms and idle_timeout_ms must be between 10 and 900000");
            }
            if !(100..=900_000).contains(&prov.timeout_ms) {
                p.at(&path, ".timeout_ms", "must be between 100 and 900000");
            }
        }
    }

    /// Check the models, index their names and aliases, and fill in their integer prices.
    fn index_models(&mut self, p: &mut Problems) {
        let Config { providers, models, index, .. } = self;
        index.clear();
        for (i, m) in models.iter_mut().enumerate() {
            let path = format!("models[{i}]");
            if !providers.contains_key(&m.provider) {
                p.at(&path, ".provider", &format!("unknown provider '{}'", m.provider));
            }
            if m.model.is_empty() {
                p.at(&path, ".model", "must not be empty");
            }
            for name in std::iter::once(&m.name).chain(&m.aliases) {
                if name.is_empty() {
                    p.at(&path, ".name", "names and aliases must not be empty");
                } else if index.insert(name.clone(), i).is_some() {
                    p.at(&path, ".name", &format!("'{name}' is defined twice"));
                }
            }
            if m.quota.requests_per_minute == Some(0) || m.quota.tokens_per_minute == Some(0) {
                p.at(&path, ".quota", "requests_per_minute and tokens_per_minute must be at least 1");
            }
            let pr = m.prices;
            let mut conv = |v: f64, field: &str| {
                micro_per_million(v).unwrap_or_else(|| {
                    p.add(format!("{path}.prices.{field}"), "must be a non-negative number of USD per million tokens");
                    0
                })
            };
            m.price = Prices {
                input: conv(pr.input, "input"),
                output: conv(pr.output, "output"),
                cached_input: conv(pr.cached_input.unwrap_or(pr.input), "cached_input"),
                cache_write: conv(pr.cache_write.unwrap_or(pr.input), "cache_write"),
            };
        }
    }

    fn check_keys(&self, p: &mut Problems) {
        for (i, k) in self.keys.iter().enumerate() {
            let path = format!("keys[{i}]");
            if !is_sha256_hex(&k.sha256) {
                p.add(format!("{path}.sha256"), "must be 64 lowercase hex digits (the SHA-256 of the key)");
            }
            if k.tenant.is_empty() || k.tenant.len() > 64 {
                p.at(&path, ".tenant", "must be 1 to 64 characters");
            }
            for (j, name) in k.models.iter().flatten().enumerate() {
                if !self.index.contains_key(name) && self.capability(name).is_none() {
                    p.add(format!("{path}.models[{j}]"), &format!("unknown model '{name}'"));
                }
            }
        }
        for (i, k) in self.keys.iter().enumerate() {
            if let Some(problem) = k.limits.problem() {
                p.add(format!("keys[{i}].limits"), problem);
            }
            for (j, o) in k.origins.iter().flatten().enumerate() {
                if o != "*" && !(o.starts_with("https://") || o.starts_with("http://")) || o.ends_with('/') {
                    p.add(format!("keys[{i}].origins[{j}]"), "must be \"*\" or an origin such as https://app.example (no path)");
                }
            }
        }
    }

    fn check_routes(&self, p: &mut Problems) {
        for (i, r) in self.routes.iter().enumerate() {
            let path = format!("routes[{i}]");
            if r.name.is_empty() || self.index.contains_key(&r.name) || self.routes[..i].iter().any(|o| o.name == r.name) {
                p.at(&path, ".name", "must be non-empty and differ from every model name, alias and other route");
            }
            if r.steps.is_empty()
                || r.steps.iter().any(|s| matches!(s, StepConfig::Pool { pool } if pool.is_empty() || pool.iter().all(|m| m.weight == 0)))
            {
                p.at(&path, ".steps", "needs at least one step, and every pool a member with weight > 0");
            }
            for (at, model) in r.models() {
                if !self.index.contains_key(model) {
                    p.add(format!("{path}.{at}"), &format!("unknown model '{model}'"));
                }
            }
            if !(1_000..=900_000).contains(&r.deadline_ms) {
                p.at(&path, ".deadline_ms", "must be between 1000 and 900000");
            }
            if let Some(problem) = r.retry.problem() {
                p.at(&path, ".retry", problem);
            }
            self.check_cascade(r, &path, p);
            if let Some(c) = &r.context {
                if let Some(problem) = c.problem() {
                    p.at(&path, ".context", problem);
                }
                if let Some(m) = c.summarizer.as_deref().filter(|m| self.model(m).is_none()) {
                    p.at(&path, ".context.summarizer", &format!("unknown model '{m}'"));
                }
            }
        }
    }

    /// A cascade route has gates and plain model steps (each a rung); gates need a cascade.
    fn check_cascade(&self, r: &RouteConfig, path: &str, p: &mut Problems) {
        match (r.strategy, &r.gates) {
            (Strategy::Cascade, Some(g)) if !g.is_empty() => {
                if let Some(problem) = g.problem() {
                    p.at(path, ".gates", problem);
                }
                if let Some(m) = g.judge().map(|j| j.model).filter(|m| self.model(m).is_none()) {
                    p.at(path, ".gates.judge.model", &format!("unknown model '{m}'"));
                }
                if r.steps.iter().any(|s| matches!(s, StepConfig::Pool { .. })) {
                    p.at(path, ".steps", "a cascade's steps are its rungs: each one model, not a pool");
                }
            }
            (Strategy::Cascade, _) => p.at(path, ".gates", "a cascade route needs at least one gate"),
            (_, Some(_)) => p.at(path, ".gates", "gates need \"strategy\": \"cascade\""),
            (_, None) if (0..r.steps.len()).all(|i| r.checked(i)) => {}
            (_, None) => p.at(path, ".steps", "a step's \"gates\" needs \"strategy\": \"cascade\""),
        }
        let cheapest = r.strategy == Strategy::CheapestCapable;
        if cheapest && r.steps.iter().any(|s| matches!(s, StepConfig::Pool { .. })) {
            p.at(path, ".steps", "a cheapest_capable route's steps are its candidates: each one model, not a pool");
        }
        if r.max_price.is_some_and(|m| !cheapest || !(0.0..1e6).contains(&m)) {
            p.at(path, ".max_price", "is a non-negative USD per million tokens, on a cheapest_capable route");
        }
        if r.min_pass_rate.is_some_and(|m| r.strategy != Strategy::Cascade || !(0.0..=1.0).contains(&m)) {
            p.at(path, ".min_pass_rate", "is a pass rate between 0 and 1, on a cascade route");
        }
    }

    /// Each capability on its own and the models its rungs name; then each is compiled into
    /// its hidden cascade route (`cap:NAME`).
    fn check_capabilities(&mut self, p: &mut Problems) {
        for (name, c) in &self.capabilities {
            let path = format!("capabilities.{name}");
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')) {
                p.add(path.clone(), "a capability's name is letters, digits, '_', '-' and '.'");
            }
            for (field, message) in c.problems() {
                p.add(format!("{path}.{field}"), &message);
            }
            for (j, model) in c.ladder.iter().enumerate().filter(|(_, m)| !self.index.contains_key(*m)) {
                p.add(format!("{path}.ladder[{j}]"), &format!("unknown model '{model}'"));
            }
        }
        for (i, r) in self.routes.iter().enumerate().filter(|(_, r)| r.name.starts_with(CAP_PREFIX)) {
            p.add(format!("routes[{i}].name"), &format!("'{}': the prefix cap: is for capabilities", r.name));
        }
        let compiled: Vec<RouteConfig> = self.capabilities.iter().map(|(name, c)| c.route(name)).collect();
        self.routes.retain(|r| !r.name.starts_with(CAP_PREFIX));
        self.routes.extend(compiled);
    }

    /// The gateway-wide cache settings, then each route's own.
    fn check_caches(&self, p: &mut Problems) {
        for (at, c) in std::iter::once(("cache".to_string(), &self.cache))
            .chain(self.routes.iter().enumerate().filter_map(|(i, r)| r.cache.as_ref().map(|c| (format!("routes[{i}].cache"), c))))
        {
            if let Some(problem) = c.problem() {
                p.add(at.clone(), problem);
            }
            if c.coalesce && at != "cache" {
                p.at(&at, ".coalesce", "is set for the whole gateway (cache.coalesce)");
            }
            if let Some(s) = &c.similar {
                if at == "cache" {
                    p.at(&at, ".similar", "is set per route (routes[].cache.similar)");
                }
                if let Some(problem) = s.problem() {
                    p.at(&at, ".similar", problem);
                }
                if !self.index.contains_key(&s.embedding_model) {
                    p.at(&at, ".similar.embedding_model", &format!("unknown model '{}'", s.embedding_model));
                }
            }
        }
    }
}
