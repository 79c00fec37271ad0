//! The gateway's front door: route an inbound request, authenticate it, decode it, resolve
//! the model and produce its first [`Action`], with the [`Flow`] that carries it on (for a
//! model request, a [`Session`](crate::core::pipeline::session::Session) of attempts).
//!
//! Invariant: nothing a client sends produces a 500 or reaches an upstream unless it passed
//! authentication, the body cap and decoding.

use crate::core::config::{Config, Problem, ProviderKind};
use crate::core::error::{Code, GatewayError};
use crate::core::front::admin;
use crate::core::front::admin::Pending;
use crate::core::front::browser_token::{self, Claims};
use crate::core::front::capability;
use crate::core::front::caps;
use crate::core::front::converse::{self, Started};
use crate::core::front::cors;
use crate::core::front::count;
use crate::core::front::flow::Flow;
use crate::core::front::health;
use crate::core::front::inbound::{Inbound, OwnedInbound};
use crate::core::front::isolate::Isolate;
use crate::core::front::jobs;
use crate::core::front::models;
use crate::core::front::plan::{check_body, resolve, Planner};
use crate::core::front::principal::{self, Principal};
use crate::core::front::stats;
use crate::core::front::stored;
use crate::core::front::usage;
use crate::core::pipeline::protocol::{error_reply, Action, Reply};
use crate::core::pipeline::routes::PlannedTarget;
use crate::core::pipeline::session::SESSION_HEADER;
use crate::core::pipeline::target::Payload;
use crate::core::state::health::{Health, Outcome};
use crate::core::state::keystore::{kv_key, KeyRecord, KvOp, LOOKUP_CACHE_TTL_S};
use crate::core::translate::dialect;
use crate::core::translate::dialect::fields::{as_str, invalid_value, opt_array, opt_u32, parse_object, req_str};
use crate::core::translate::providers::{self, Target, UpstreamRequest};
use crate::core::types::Dialect;
use crate::core::util::redact::Redactor;
use crate::core::util::secret::{sha256_hex, Secret};
use crate::core::util::vecmap::VecMap;
use crate::json;
use std::cell::RefCell;
use std::fmt::Write;

/// Per-isolate state: the validated config and the secrets it names.
pub struct Gateway {
    config: Result<Config, Vec<Problem>>,
    secrets: VecMap<String, Secret>,
    /// Every secret's value, to cut out of upstream error text; built as secrets are set.
    redactor: Redactor,
    /// The `KEYS` KV namespace is bound: runtime keys and the admin API are on.
    keystore: bool,
    /// The `TENANTS` Durable Object namespace is bound: limits, budgets and the ledger are on.
    pub(crate) ledger: bool,
    /// The `CACHE` KV namespace is bound: the response cache is on.
    cache: bool,
    /// The `SIMILAR` Durable Object namespace is bound: routes may use the similar-prompt cache.
    similar_index: bool,
    /// The `CONVERSATIONS` Durable Object namespace is bound: stored conversations are on.
    conversations: bool,
    /// The `JOB` Durable Object namespace and the `JOBS` queue are bound: queued jobs are on.
    pub(crate) jobs: bool,
    /// This isolate's view of target health (breakers, retry budgets).
    health: Health,
    /// This isolate's recent cache entries, requests in flight and waiting settlements.
    pub(crate) isolate: RefCell<Isolate>,
}

impl Gateway {
    /// Build from config text (`None`: the embedded default). A bad config is kept as its
    /// problems, reported on every request, so the worker never fails to start.
    pub fn new(config_text: Option<&str>) -> Gateway {
        let text = config_text.filter(|t| !t.trim().is_empty()).unwrap_or(crate::core::config::DEFAULT_CONFIG);
        let config = Config::parse(text);
        let health = Health::default();
        if let Ok(c) = &config {
            health.borrow_mut().config = c.breaker;
        }
        Gateway {
            config,
            secrets: VecMap::new(),
            redactor: Redactor::default(),
            keystore: false,
            ledger: false,
            cache: false,
            similar_index: false,
            conversations: false,
            jobs: false,
            health,
            isolate: RefCell::default(),
        }
    }

    /// Every problem of a config that did not validate (each request then answers 500
    /// `config_invalid`); `None` when it validated.
    pub fn config_problems(&self) -> Option<&[Problem]> {
        self.config.as_ref().err().map(Vec::as_slice)
    }

    /// Names of the Worker secrets for the driver to pass to [`Gateway::set_secret`]: those the
    /// config names (provider API keys, the token-signing secret) and [`admin::ADMIN_SECRET`],
    /// which alone remains when the config is invalid.
    pub fn secret_names(&self) -> Vec<String> {
        let mut names = self.config.as_ref().map(Config::secret_names).unwrap_or_default();
        names.push(admin::ADMIN_SECRET.to_string());
        names
    }

    /// The breaker settings as JSON, for the Durable Objects that apply outcomes.
    pub fn breaker_config_json(&self) -> String {
        serde_json::to_string(&self.health.borrow().config).unwrap_or_default()
    }

    /// Adopt a target's shared breaker state, as its Durable Object answered.
    pub fn adopt_health(&self, stored: &str) {
        self.health.borrow_mut().adopt(stored);
    }

    /// Whether the `KEYS` KV namespace is bound: runtime keys and the admin API.
    pub fn set_keystore(&mut self, bound: bool) {
        self.keystore = bound;
    }

    /// Whether the `TENANTS` Durable Object namespace is bound: limits, budgets, the ledger and
    /// `/v1/usage`.
    pub fn set_ledger(&mut self, bound: bool) {
        self.ledger = bound;
    }

    /// Whether the `CACHE` KV namespace is bound: the response cache.
    pub fn set_cache(&mut self, bound: bool) {
        self.cache = bound;
    }

    /// Whether the `SIMILAR` Durable Object namespace is bound: routes may use the
    /// similar-prompt cache (only when the response cache is on too).
    pub fn set_similar_index(&mut self, bound: bool) {
        self.similar_index = bound;
    }

    /// Whether the `CONVERSATIONS` Durable Object namespace is bound: stored conversations
    /// (`x-switchyard-session`).
    pub fn set_conversations(&mut self, bound: bool) {
        self.conversations = bound;
    }

    /// Whether the `JOB` Durable Object namespace and the `JOBS` queue are bound: queued jobs.
    pub fn set_jobs(&mut self, bound: bool) {
        self.jobs = bound;
    }

    /// Set a Worker secret (provider keys, the admin key, the token signing secret). Its value
    /// is redacted from upstream error text from then on.
    pub fn set_secret(&mut self, name: &str, value: &str) {
        if !value.is_empty() {
            self.redactor.add(value);
            self.secrets.insert(name.to_string(), Secret::new(value));
        }
    }

    /// The request body cap in bytes (`limits.max_body_bytes`; the default while the config is
    /// invalid). The driver does not read a body declared larger; it passes the declared
    /// length instead, and a route that reads bodies refuses it with 413 `body_too_large`.
    pub fn max_body_bytes(&self) -> usize {
        self.config.as_ref().map_or(crate::core::config::DEFAULT_MAX_BODY_BYTES, |c| c.limits.max_body_bytes)
    }

    /// Handle an inbound request up to its first action.
    pub(crate) fn start(&self, inb: &Inbound) -> (Flow, Action) {
        let request_id = request_id(inb);
        let (dialect, allowed) = route_of(inb.path);
        let origin = inb.header("origin");
        let reply = |e: GatewayError, cors: bool| respond_error(&request_id, &e, dialect, origin.filter(|_| cors));
        if let Err(e) = caps::check_headers(inb.headers) {
            return reply(e, false);
        }
        if inb.path == "/admin/keys" || inb.path.starts_with("/admin/keys/") {
            return match self.admin(inb, &request_id) {
                Ok((flow, action)) => (flow, action),
                Err(e) => reply(e, false),
            };
        }
        if allowed.is_empty() {
            return reply(GatewayError::new(Code::UnknownRoute, format!("no route for {}", inb.path)), false);
        }
        if inb.method == "OPTIONS" {
            return (Flow::Done, Action::Respond(cors::preflight(&request_id, origin, inb.header("access-control-request-headers"))));
        }
        let head_of_get = inb.method == "HEAD" && allowed.starts_with("GET");
        if !(head_of_get || allowed.split(", ").any(|m| m == inb.method)) {
            let err = GatewayError::new(Code::MethodNotAllowed, format!("{} accepts {allowed}", inb.path));
            let mut r = error_reply(&request_id, &err, dialect);
            r.headers.push(("allow".into(), allowed.into()));
            return (Flow::Done, Action::Respond(r));
        }
        if inb.path == "/healthz" {
            let body = json!({"status": "ok", "config": if self.config.is_ok() { "ok" } else { "invalid" }});
            return (Flow::Done, Action::Respond(Reply::json(&request_id, &body)));
        }
        let config = match self.config() {
            Ok(c) => c,
            Err(e) => return reply(e, false),
        };
        if matches!(inb.path, "/v1/usage" | "/v1/stats") {
            // The admin key reads any tenant's usage and stats, named by `?tenant=`.
            if let Some(admin) = stats::as_admin(inb, self.secrets.get(admin::ADMIN_SECRET)) {
                return match admin {
                    Ok((who, query)) => self.authenticated(config, &Inbound { query: &query, ..*inb }, &who, request_id),
                    Err(e) => reply(e, false),
                };
            }
        }
        match principal::identify(config, &self.secrets, inb) {
            Ok(who) => self.authenticated(config, inb, &who, request_id),
            Err(_) if self.keystore && principal::presented(inb).is_some_and(|c| !c.starts_with(browser_token::PREFIX)) => {
                // Not a config key: perhaps one made at runtime. Look it up by hash in KV.
                let hash = sha256_hex(principal::presented(inb).unwrap_or_default().as_bytes());
                let op = KvOp::Get { key: kv_key(&hash), cache_ttl_s: LOOKUP_CACHE_TTL_S };
                (Flow::Keys(Pending::Authenticate(Box::new(OwnedInbound::from(inb)))), Action::Kv(op))
            }
            Err((e, cors)) => reply(e, cors),
        }
    }

    /// Carry on after a KV step with its result (a value, a JSON list, or nothing).
    pub fn resume_keys(&self, pending: Pending, kv_result: Option<&str>) -> (Flow, Action) {
        let Pending::Authenticate(owned) = pending else {
            return (Flow::Done, Action::Respond(admin::finish(pending, kv_result)));
        };
        let inb = owned.view();
        let record = kv_result.and_then(|v| serde_json::from_slice::<KeyRecord>(v.as_bytes()).ok());
        match (self.config(), record) {
            (Ok(config), Some(record)) => self.authenticated(config, &inb, &Principal::from(record), request_id(&inb)),
            (Err(e), _) => respond_error(&request_id(&inb), &e, route_of(inb.path).0, None),
            (Ok(_), None) => respond_error(&request_id(&inb), &principal::no_key(), route_of(inb.path).0, None),
        }
    }

    pub(crate) fn planner<'a>(&'a self, config: &'a Config) -> Planner<'a> {
        Planner {
            config,
            secrets: &self.secrets,
            cache: self.cache,
            similar_index: self.similar_index,
            ledger: self.ledger,
            conversations: self.conversations,
            health: &self.health,
            redactor: &self.redactor,
        }
    }

    pub(crate) fn config(&self) -> Result<&Config, GatewayError> {
        self.config.as_ref().map_err(|problems| {
            let list: Vec<String> = problems.iter().map(Problem::to_string).collect();
            GatewayError::new(Code::ConfigInvalid, format!("the gateway's config is invalid: {}", list.join("; ")))
        })
    }

    fn admin(&self, inb: &Inbound, request_id: &str) -> Result<(Flow, Action), GatewayError> {
        let config = self.config()?;
        admin::authorize(inb, self.secrets.get(admin::ADMIN_SECRET))?;
        if !self.keystore {
            return Err(GatewayError::new(Code::KeystoreDisabled, "runtime keys need the KEYS KV namespace bound"));
        }
        check_body(config, inb)?;
        let (op, then) = admin::start(config, inb, request_id)?;
        Ok((Flow::Keys(then), Action::Kv(op)))
    }

    /// The request's caller is known: check its origin and serve the route.
    fn authenticated(&self, config: &Config, inb: &Inbound, who: &Principal, request_id: String) -> (Flow, Action) {
        let dialect = route_of(inb.path).0;
        let origin = inb.header("origin");
        if let Err(e) = who.check_origin(origin) {
            return respond_error(&request_id, &e, dialect, None);
        }
        let cors_origin = origin.map(str::to_string);
        let result = match inb.path {
            "/v1/models" => Ok((Flow::Done, Action::Respond(models::list(config, who, &request_id)))),
            "/v1/messages/count_tokens" => count::start(&self.planner(config), who, inb, &request_id, cors_origin.clone())
                .map(|(next, a)| (next.map_or(Flow::Done, |n| Flow::Count(Box::new(n))), a)),
            p if p.starts_with(stored::RESPONSES_PREFIX) && p.ends_with("/cancel") => match self.jobs {
                true => jobs::cancel_response(who, &p[stored::RESPONSES_PREFIX.len()..p.len() - 7], &request_id, cors_origin.clone())
                    .map(|(next, a)| (Flow::Job(Box::new(next)), a)),
                false => Err(jobs_disabled()),
            },
            "/v1/responses" if self.jobs && self.conversations && jobs::is_background(inb.body) => {
                jobs::background(config, who, inb, &request_id, cors_origin.clone()).map(|(next, a)| (Flow::Job(Box::new(next)), a))
            }
            p if p.starts_with(stored::RESPONSES_PREFIX) || p.starts_with(stored::CONVERSATIONS_PATH) => {
                stored::route(&self.planner(config), who, inb, &request_id, cors_origin.clone())
                    .map(|(next, a)| (Flow::Stored(Box::new(next)), a))
            }
            p if p.starts_with(jobs::JOBS_PATH) => match self.jobs {
                true => jobs::route(config, who, inb, &request_id, cors_origin.clone()).map(|(next, a)| (Flow::Job(Box::new(next)), a)),
                false => Err(jobs_disabled()),
            },
            p if p.starts_with(MODELS_PREFIX) => {
                models::retrieve(config, who, &p[MODELS_PREFIX.len()..], &request_id).map(|r| (Flow::Done, Action::Respond(r)))
            }
            "/v1/health" => Ok(health_read(health::start(config, &request_id, None))),
            "/v1/tokens" => self.mint_token(config, who, inb, &request_id).map(|r| (Flow::Done, Action::Respond(r))),
            p if p.starts_with(capability::PATH_PREFIX) => {
                capability::start(&self.planner(config), who, inb, request_id.clone(), cors_origin.clone())
                    .map(|(s, a)| (Flow::Session(Box::new(s)), a))
            }
            "/v1/usage" => {
                usage::start(self.ledger, who, inb, &request_id, cors_origin.clone()).map(|(u, a)| (Flow::Usage(Box::new(u)), a))
            }
            "/v1/stats" => stats::start(self.ledger, who, inb, &request_id, cors_origin.clone())
                .map(|then| health_read(health::start(config, &request_id, Some(then)))),
            _ => {
                let planner = self.planner(config);
                let decoded = planner.decode(inb, dialect, request_id.clone(), cors_origin.clone()).and_then(|(asked, mut payload)| {
                    if let Payload::Chat(req) = &mut payload {
                        capability::rewrite(config, req)?;
                    }
                    Ok((asked, payload))
                });
                let started = decoded.and_then(|(asked, payload)| match dialect {
                    Dialect::Responses if inb.header(SESSION_HEADER).is_none() => stored::start(&planner, who, inb, asked, payload),
                    _ => converse::start(&planner, who, inb, asked, payload),
                });
                started.map(|s| match s {
                    Started::Session(s, a) => (Flow::Session(s), a),
                    Started::Loading(l, a) => (Flow::Conversation(l), a),
                })
            }
        };
        match result {
            Ok((ex, Action::Respond(mut r))) => {
                if let Some(o) = &cors_origin {
                    r.headers.extend(crate::core::pipeline::protocol::cors_headers(o));
                }
                (ex, Action::Respond(r))
            }
            Ok(other) => other,
            Err(e) => respond_error(&request_id, &e, dialect, origin),
        }
    }

    /// A job's request, for the queue consumer (never reached by HTTP): run its body on its
    /// url as the identity the job stored (`who`, see [`jobs::principal_of`]), through the same
    /// path as an HTTP request. A config key no longer in the config answers 401.
    pub fn job_start(&self, who: &str, inb: &Inbound) -> (Flow, Action) {
        let request_id = request_id(inb);
        let config = match self.config() {
            Ok(c) => c,
            Err(e) => return respond_error(&request_id, &e, dialect_of(inb.path), None),
        };
        match jobs::principal_of(config, who) {
            Some(p) if jobs::is_job_path(inb.path) => self.authenticated(config, inb, &p, request_id),
            Some(_) => respond_error(&request_id, &GatewayError::new(Code::UnknownRoute, "not a job's url"), Dialect::OpenAi, None),
            None => respond_error(&request_id, &principal::no_key(), dialect_of(inb.path), None),
        }
    }

    /// `POST /v1/tokens`: a key (never a token) mints a short-lived browser token.
    fn mint_token(&self, config: &Config, who: &Principal, inb: &Inbound, request_id: &str) -> Result<Reply, GatewayError> {
        let Some(tc) = &config.tokens else {
            return Err(GatewayError::new(Code::TokensDisabled, "browser tokens are not enabled in this gateway's config"));
        };
        if who.is_token {
            return Err(GatewayError::new(Code::TokenCannotMint, "a token cannot mint tokens"));
        }
        let secret = self.secrets.get(&tc.secret).ok_or_else(|| {
            GatewayError::new(Code::TokenSecretMissing, format!("the secret '{}' for signing tokens is not set", tc.secret))
        })?;
        check_body(config, inb)?;
        let body = parse_object(inb.body)?;
        let origin = req_str(&body, "origin", "origin")?;
        if !(origin.starts_with("https://") || origin.starts_with("http://")) || origin.ends_with('/') || origin.len() > 256 {
            return Err(invalid_value("origin", "must be an origin such as https://app.example"));
        }
        if who.origins.is_some() && who.check_origin(Some(&origin)).is_err() {
            return Err(GatewayError::new(Code::OriginNotAllowed, "this key may not mint tokens for that origin").with_param("origin"));
        }
        let ttl = opt_u32(&body, "ttl_seconds", "ttl_seconds")?.map_or(browser_token::DEFAULT_TTL_S, u64::from);
        if !(1..=tc.max_ttl_seconds).contains(&ttl) {
            return Err(invalid_value("ttl_seconds", &format!("must be between 1 and {}", tc.max_ttl_seconds)));
        }
        let models = match opt_array(&body, "models", "models")? {
            None => None,
            Some(list) => Some(
                list.iter()
                    .enumerate()
                    .map(|(i, m)| {
                        let name = as_str(m, &format!("models[{i}]"))?;
                        let model = resolve(config, who, name).map_err(|e| e.with_param(format!("models[{i}]")))?;
                        Ok(model.name.clone())
                    })
                    .collect::<Result<Vec<_>, GatewayError>>()?,
            ),
        };
        let limits = admin::parse_limits(&body)?;
        let exp = inb.now_ms / 1000 + ttl;
        let l = (!limits.is_empty()).then_some(limits);
        // A runtime key's scope is signed into the token: verification never reads KV.
        let (m, kl) = match who.runtime {
            true => (models.clone().or_else(|| who.models.clone()), (!who.limits.is_empty()).then_some(who.limits)),
            false => (models.clone(), None),
        };
        let claims = Claims { t: who.tenant.clone(), k: who.key_name.clone(), m, o: origin.clone(), exp, l, r: who.runtime, kl };
        let token = browser_token::mint(&claims, secret);
        Ok(Reply::json(request_id, &json!({"token": token, "expires_at": exp, "origin": origin, "models": models, "limits": l})))
    }

    /// The scheduled probes: a one-token chat request to each model in `health_checks` (the
    /// mock, and a model whose API key secret is unset, are skipped). Each is `(target,
    /// request, timeout_ms)`: the breaker key `provider/model`, and the target's timeout
    /// capped at 30 000 ms. None while the config is invalid.
    pub fn probes(&self) -> Vec<(String, UpstreamRequest, u32)> {
        let Ok(config) = &self.config else { return Vec::new() };
        let names = config.health_checks.iter().flat_map(|h| &h.models);
        let probe = r#"{"model":"probe","messages":[{"role":"user","content":"ping"}],"max_tokens":1}"#;
        let Ok(req) = dialect::openai::decode_request(probe.as_bytes()) else { return Vec::new() };
        names
            .filter_map(|name| config.model(name))
            .filter(|m| config.providers[&m.provider].kind != ProviderKind::Mock)
            .filter_map(|m| {
                let spec = self.planner(config).target_spec(m, &PlannedTarget { model: m.name.clone(), max_retries: 0, timeout_ms: None });
                let api_key = spec.api_key.clone().ok()?;
                let target = Target {
                    kind: spec.kind,
                    base_url: &spec.base_url,
                    model: &spec.model,
                    api_key: api_key.as_deref(),
                    api_version: &spec.api_version,
                    max_output_tokens: 1,
                    responses_api: false,
                };
                let request = providers::build_request(&req, &target).ok()?;
                Some((format!("{}/{}", m.provider, m.model), request, spec.timeout_ms.min(30_000)))
            })
            .collect()
    }

    /// Record a probe's result (`status` 0: no answer) in this isolate's view; the outcome to
    /// report to the target's Durable Object, if it is news.
    pub fn probe_result(&self, target: &str, status: u16, elapsed_ms: u64, now_ms: u64) -> Option<Outcome> {
        let ok = (200..300).contains(&status) || (400..500).contains(&status) && !matches!(status, 401 | 403 | 404 | 408 | 429);
        let mut health = self.health.borrow_mut();
        let news = health.worth_reporting(target, ok);
        health.record(target, now_ms, if ok { Ok(()) } else { Err("probe_failed") }, elapsed_ms);
        news.then(|| Outcome { target: target.to_string(), ok, now_ms, elapsed_ms })
    }

    /// This isolate's view of target health, read-only.
    pub fn health_view(&self) -> std::cell::Ref<'_, crate::core::state::health::HealthView> {
        self.health.borrow()
    }
}

/// The step of a `/v1/health` or `/v1/stats` request that reads the targets' health objects.
fn health_read((read, action): (health::HealthRead, Action)) -> (Flow, Action) {
    (Flow::Health(Box::new(read)), action)
}

/// The caller dialect a path speaks: Anthropic for `/v1/messages` and anything under it
/// (so even an unknown path there is answered in Anthropic's shape), else OpenAI.
pub fn dialect_of(path: &str) -> Dialect {
    route_of(path).0
}

/// `GET /v1/models/{id}`: the path before the model's id.
const MODELS_PREFIX: &str = "/v1/models/";

/// The caller's dialect and the method a path accepts (`""`: no such route).
fn route_of(path: &str) -> (Dialect, &'static str) {
    match path {
        "/v1/chat/completions" | "/v1/embeddings" | "/v1/tokens" => (Dialect::OpenAi, "POST"),
        "/v1/completions" => (Dialect::Completions, "POST"),
        "/v1/responses" => (Dialect::Responses, "POST"),
        "/v1/messages" | "/v1/messages/count_tokens" => (Dialect::Anthropic, "POST"),
        "/healthz" | "/v1/models" | "/v1/health" | "/v1/usage" | "/v1/stats" => (Dialect::OpenAi, "GET"),
        p if p.starts_with("/v1/messages/") => (Dialect::Anthropic, ""),
        p if p.starts_with(MODELS_PREFIX) => (Dialect::OpenAi, "GET"),
        p if p.starts_with(capability::PATH_PREFIX) => (Dialect::OpenAi, "POST"),
        p if p.starts_with(stored::RESPONSES_PREFIX) && p.ends_with("/input_items") => (Dialect::OpenAi, "GET"),
        p if p.starts_with(stored::RESPONSES_PREFIX) && p.ends_with("/cancel") => (Dialect::OpenAi, "POST"),
        p if p.starts_with(stored::RESPONSES_PREFIX) => (Dialect::OpenAi, "GET, DELETE"),
        stored::CONVERSATIONS_PATH | jobs::JOBS_PATH => (Dialect::OpenAi, "POST"),
        p if p.starts_with("/v1/jobs/") && p.ends_with("/cancel") => (Dialect::OpenAi, "POST"),
        p if p.starts_with("/v1/jobs/") => (Dialect::OpenAi, "GET"),
        p if p.starts_with("/v1/conversations/") && p.ends_with("/items") => (Dialect::OpenAi, "GET"),
        p if p.starts_with("/v1/conversations/") => (Dialect::OpenAi, "GET, DELETE"),
        _ => (Dialect::OpenAi, ""),
    }
}

fn jobs_disabled() -> GatewayError {
    GatewayError::new(Code::JobsDisabled, "jobs need the JOB and SEMAPHORES Durable Object namespaces and the JOBS queue bound")
}

/// An error reply in `dialect`, with CORS headers for `cors_origin` when given.
fn respond_error(request_id: &str, e: &GatewayError, dialect: Dialect, cors_origin: Option<&str>) -> (Flow, Action) {
    let mut r = error_reply(request_id, e, dialect);
    r.headers.extend(cors_origin.map(crate::core::pipeline::protocol::cors_headers).unwrap_or_default());
    (Flow::Done, Action::Respond(r))
}

/// The request's id: the caller's `x-request-id` when it is 1 to 64 characters of ASCII
/// letters, digits, `-`, `_` and `.`; else `req_` and the seed in 16 hex digits.
pub(crate) fn request_id(inb: &Inbound) -> String {
    match inb.header("x-request-id") {
        Some(id) if (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) => {
            id.to_string()
        }
        _ => {
            let mut id = String::with_capacity(20);
            let _ = write!(id, "req_{:016x}", inb.seed);
            id
        }
    }
}

#[cfg(test)]
#[path = "gateway_tests.rs"]
mod tests;
