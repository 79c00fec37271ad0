//! The gateway's front door: route an inbound request, authenticate it, decode it, resolve
//! the model and produce the first [`Action`] of its [`Exchange`].
//!
//! Invariant: nothing a client sends produces a 500 or reaches an upstream unless it passed
//! authentication, the body cap and decoding.

use crate::core::config::{Config, Model, Problem, ProviderKind, RetryPolicy};
use crate::core::error::{GatewayError, Kind};
use crate::core::front::admin;
use crate::core::front::caps;
use crate::core::front::cors;
use crate::core::front::principal::{self, Principal};
use crate::core::front::tokens::{self, Claims};
use crate::core::pipeline::exchange::{error_reply, Action, Reply};
use crate::core::pipeline::routes::{Plan, PlannedTarget};
use crate::core::pipeline::session::{CachePlan, Caller, Payload, Plans, Session, SimilarPlan, SpendPlan, TargetSpec};
use crate::core::state::cache;
use crate::core::state::cost;
use crate::core::state::health::{Health, Outcome};
use crate::core::state::keystore::{kv_key, KeyRecord, KvOp, OwnedInbound, Pending, LOOKUP_CACHE_TTL_S};
use crate::core::state::ledger;
use crate::core::state::spend::{LimitsExt, Op, TenantNext};
use crate::core::translate::dialect;
use crate::core::translate::dialect::fields::{as_str, invalid_value, opt_array, opt_u32, parse_object, req_str};
use crate::core::translate::embeddings;
use crate::core::translate::providers::{self, Target, UpstreamRequest};
use crate::core::types::{ChatRequest, Content, Dialect, Part, ResponseFormat, Usage};
use crate::core::util::secret::{sha256_hex, Secret};
use crate::core::util::vecmap::VecMap;
use serde_json::json;
use std::fmt::Write;

/// Azure OpenAI's `api-version` when the config names none.
pub const DEFAULT_AZURE_API_VERSION: &str = "2024-10-21";
/// Output cap sent where an upstream requires one and neither caller nor config gave one.
pub const DEFAULT_MAX_OUTPUT_TOKENS: u32 = 4096;

/// Header that selects mock faults per request.
pub const MOCK_HEADER: &str = "x-switchyard-mock";

/// An inbound HTTP request, as the edge saw it.
#[derive(Debug, Clone, Copy)]
pub struct Inbound<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// The query string, without `?`.
    pub query: &'a str,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
    /// `content-length` as declared, when the edge refused to read an oversized body.
    pub declared_len: Option<usize>,
    pub now_ms: u64,
    pub seed: u64,
    /// Random bytes for making secrets (the edge supplies them on admin routes only).
    pub entropy: &'a [u8],
}

impl Inbound<'_> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Per-isolate state: the validated config and the secrets it names.
pub struct Gateway {
    config: Result<Config, Vec<Problem>>,
    secrets: VecMap<String, Secret>,
    /// The `KEYS` KV namespace is bound: runtime keys and the admin API are on.
    keystore: bool,
    /// The `TENANTS` Durable Object namespace is bound: limits, budgets and the ledger are on.
    ledger: bool,
    /// The `CACHE` KV namespace is bound: the response cache is on.
    cache: bool,
    /// The `SIMILAR` Durable Object namespace is bound: routes may use the similar-prompt cache.
    similar_index: bool,
    /// This isolate's view of target health (breakers, retry budgets).
    health: Health,
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
        Gateway { config, secrets: VecMap::new(), keystore: false, ledger: false, cache: false, similar_index: false, health }
    }

    pub fn config_problems(&self) -> Option<&[Problem]> {
        self.config.as_ref().err().map(Vec::as_slice)
    }

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

    pub fn set_keystore(&mut self, bound: bool) {
        self.keystore = bound;
    }

    pub fn set_ledger(&mut self, bound: bool) {
        self.ledger = bound;
    }

    pub fn set_cache(&mut self, bound: bool) {
        self.cache = bound;
    }

    pub fn set_similar_index(&mut self, bound: bool) {
        self.similar_index = bound;
    }

    /// Answer `GET /v1/usage` with the rows the tenant's object returned (`None`: no answer).
    pub fn resume_tenant(&self, then: TenantNext, rows: Option<&str>) -> Action {
        let TenantNext::Usage { request_id, tenant, query, cors_origin } = then else {
            return Action::Respond(Reply::json("", &json!({})));
        };
        let result = rows
            .ok_or_else(|| GatewayError::new(Kind::UpstreamError, "ledger_unavailable", "the usage ledger did not answer").with_status(503))
            .and_then(|r| ledger::usage_reply(&tenant, &query, r));
        let mut reply = match result {
            Ok(body) => Reply::json(&request_id, &body),
            Err(e) => error_reply(&request_id, &e, Dialect::OpenAi),
        };
        reply.headers.extend(cors_origin.as_deref().map(cors::headers).unwrap_or_default());
        Action::Respond(reply)
    }

    pub fn set_secret(&mut self, name: &str, value: &str) {
        if !value.is_empty() {
            self.secrets.insert(name.to_string(), Secret::new(value));
        }
    }

    pub fn max_body_bytes(&self) -> usize {
        self.config.as_ref().map_or(crate::core::config::DEFAULT_MAX_BODY_BYTES, |c| c.limits.max_body_bytes)
    }

    /// Handle an inbound request up to its first action.
    pub fn start(&self, inb: &Inbound) -> (Option<Session>, Action) {
        let request_id = request_id(inb);
        let (dialect, allowed) = route_of(inb.path);
        let origin = inb.header("origin");
        let reply = |e: GatewayError, cors: bool| respond_error(&request_id, &e, dialect, origin.filter(|_| cors));
        if let Err(e) = caps::check_headers(inb.headers) {
            return reply(e, false);
        }
        if inb.path == "/admin/keys" || inb.path.starts_with("/admin/keys/") {
            return match self.admin(inb, &request_id) {
                Ok(action) => (None, action),
                Err(e) => reply(e, false),
            };
        }
        if allowed.is_empty() {
            return reply(GatewayError::new(Kind::NotFound, "unknown_route", format!("no route for {}", inb.path)), false);
        }
        if inb.method == "OPTIONS" {
            return (None, Action::Respond(cors::preflight(&request_id, origin, inb.header("access-control-request-headers"))));
        }
        if inb.method != allowed && !(inb.method == "HEAD" && allowed == "GET") {
            let err = GatewayError::new(Kind::MethodNotAllowed, "method_not_allowed", format!("{} accepts {allowed}", inb.path));
            let mut r = error_reply(&request_id, &err, dialect);
            r.headers.push(("allow".into(), allowed.into()));
            return (None, Action::Respond(r));
        }
        if inb.path == "/healthz" {
            let body = json!({"status": "ok", "config": if self.config.is_ok() { "ok" } else { "invalid" }});
            return (None, Action::Respond(Reply::json(&request_id, &body)));
        }
        let config = match self.config() {
            Ok(c) => c,
            Err(e) => return reply(e, false),
        };
        match principal::identify(config, &self.secrets, inb) {
            Ok(who) => self.authenticated(config, inb, &who, request_id),
            Err(_) if self.keystore && principal::presented(inb).is_some_and(|c| !c.starts_with(tokens::PREFIX)) => {
                // Not a config key: perhaps one made at runtime. Look it up by hash in KV.
                let hash = sha256_hex(principal::presented(inb).unwrap_or_default().as_bytes());
                let op = KvOp::Get { key: kv_key(&hash), cache_ttl_s: LOOKUP_CACHE_TTL_S };
                (None, Action::Kv { op, then: Box::new(Pending::Authenticate(Box::new(OwnedInbound::from(inb)))) })
            }
            Err((e, cors)) => reply(e, cors),
        }
    }

    /// Carry on after a KV step with its result (a value, a JSON list, or nothing).
    pub fn resume(&self, pending: Pending, kv_result: Option<&str>) -> (Option<Session>, Action) {
        let Pending::Authenticate(owned) = pending else {
            return (None, Action::Respond(admin::finish(pending, kv_result)));
        };
        let inb = owned.view();
        let record = kv_result.and_then(|v| serde_json::from_slice::<KeyRecord>(v.as_bytes()).ok());
        match (self.config(), record) {
            (Ok(config), Some(record)) => self.authenticated(config, &inb, &record.principal(), request_id(&inb)),
            (Err(e), _) => respond_error(&request_id(&inb), &e, route_of(inb.path).0, None),
            (Ok(_), None) => respond_error(&request_id(&inb), &principal::no_key(), route_of(inb.path).0, None),
        }
    }

    fn config(&self) -> Result<&Config, GatewayError> {
        self.config.as_ref().map_err(|problems| {
            let list: Vec<String> = problems.iter().map(Problem::to_string).collect();
            GatewayError::new(Kind::Internal, "config_invalid", format!("the gateway's config is invalid: {}", list.join("; ")))
        })
    }

    fn admin(&self, inb: &Inbound, request_id: &str) -> Result<Action, GatewayError> {
        let config = self.config()?;
        admin::authorize(inb, self.secrets.get(admin::ADMIN_SECRET))?;
        if !self.keystore {
            return Err(GatewayError::new(Kind::NotFound, "keystore_disabled", "runtime keys need the KEYS KV namespace bound"));
        }
        check_body(config, inb)?;
        let (op, then) = admin::start(config, inb, request_id)?;
        Ok(Action::Kv { op, then: Box::new(then) })
    }

    /// The request's caller is known: check its origin and serve the route.
    fn authenticated(&self, config: &Config, inb: &Inbound, who: &Principal, request_id: String) -> (Option<Session>, Action) {
        let dialect = route_of(inb.path).0;
        let origin = inb.header("origin");
        if let Err(e) = who.check_origin(origin) {
            return respond_error(&request_id, &e, dialect, None);
        }
        let cors_origin = origin.map(str::to_string);
        let result = match inb.path {
            "/v1/models" => Ok((None, Action::Respond(list_models(config, who, &request_id)))),
            "/v1/health" => Ok((None, Action::Respond(self.health_report(config, inb.now_ms, &request_id)))),
            "/v1/tokens" => self.mint_token(config, who, inb, &request_id).map(|r| (None, Action::Respond(r))),
            "/v1/usage" => self.usage(who, inb, &request_id, cors_origin.clone()).map(|a| (None, a)),
            _ => self.chat(config, who, inb, dialect, request_id.clone(), cors_origin.clone()).map(|(s, a)| (Some(s), a)),
        };
        match result {
            Ok((ex, Action::Respond(mut r))) => {
                if let Some(o) = &cors_origin {
                    r.headers.extend(cors::headers(o));
                }
                (ex, Action::Respond(r))
            }
            Ok(other) => other,
            Err(e) => respond_error(&request_id, &e, dialect, origin),
        }
    }

    /// `GET /v1/usage`: the ledger of the caller's tenant (keys only, not browser tokens).
    fn usage(&self, who: &Principal, inb: &Inbound, request_id: &str, cors_origin: Option<String>) -> Result<Action, GatewayError> {
        if !self.ledger {
            return Err(GatewayError::new(Kind::NotFound, "ledger_disabled", "usage needs the TENANTS Durable Object namespace bound"));
        }
        if who.is_token {
            return Err(GatewayError::new(Kind::Permission, "token_cannot_read_usage", "a browser token cannot read usage"));
        }
        let query = ledger::parse_query(inb.query, inb.now_ms)?;
        let op = serde_json::to_string(&Op::Usage(query.clone())).unwrap_or_default();
        let then = TenantNext::Usage { request_id: request_id.to_string(), tenant: who.tenant.clone(), query, cors_origin };
        Ok(Action::Tenant { tenant: who.tenant.clone(), op, then })
    }

    /// `POST /v1/tokens`: a key (never a token) mints a short-lived browser token.
    fn mint_token(&self, config: &Config, who: &Principal, inb: &Inbound, request_id: &str) -> Result<Reply, GatewayError> {
        let Some(tc) = &config.tokens else {
            return Err(GatewayError::new(Kind::NotFound, "tokens_disabled", "browser tokens are not enabled in this gateway's config"));
        };
        if who.is_token {
            return Err(GatewayError::new(Kind::Permission, "token_cannot_mint", "a token cannot mint tokens"));
        }
        let secret = self.secrets.get(&tc.secret).ok_or_else(|| {
            GatewayError::new(Kind::Internal, "token_secret_missing", format!("the secret '{}' for signing tokens is not set", tc.secret))
        })?;
        check_body(config, inb)?;
        let body = parse_object(inb.body)?;
        let origin = req_str(&body, "origin", "origin")?;
        if !(origin.starts_with("https://") || origin.starts_with("http://")) || origin.ends_with('/') || origin.len() > 256 {
            return Err(invalid_value("origin", "must be an origin such as https://app.example"));
        }
        if who.origins.is_some() && who.check_origin(Some(&origin)).is_err() {
            return Err(GatewayError::new(Kind::Permission, "origin_not_allowed", "this key may not mint tokens for that origin")
                .with_param("origin"));
        }
        let ttl = opt_u32(&body, "ttl_seconds", "ttl_seconds")?.map_or(tokens::DEFAULT_TTL_S, u64::from);
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
        let claims = Claims { t: who.tenant.clone(), k: who.key_name.clone(), m: models.clone(), o: origin.clone(), exp, l };
        let token = tokens::mint(&claims, secret);
        Ok(Reply::json(request_id, &json!({"token": token, "expires_at": exp, "origin": origin, "models": models, "limits": l})))
    }

    fn chat(
        &self,
        config: &Config,
        who: &Principal,
        inb: &Inbound,
        dialect: Dialect,
        request_id: String,
        cors_origin: Option<String>,
    ) -> Result<(Session, Action), GatewayError> {
        check_body(config, inb)?;
        let embeddings_call = inb.path == "/v1/embeddings";
        let (payload, name, include_usage) = if embeddings_call {
            let req = embeddings::decode_request(inb.body)?;
            let name = req.model.clone();
            (Payload::Embeddings(Box::new(req)), name, false)
        } else {
            let req = dialect::decode_request(dialect, inb.body)?;
            caps::check_request(&req)?;
            let (name, usage) = (req.model.clone(), req.include_usage);
            (Payload::Chat(Box::new(req)), name, usage)
        };
        let (planned, policy, deadline_ms) = match config.route(&name) {
            Some(route) => (route.plan(inb.seed), route.retry, route.deadline_ms),
            None => {
                let model = resolve(config, who, &name)?;
                (vec![PlannedTarget { model: model.name.clone(), max_retries: 0, timeout_ms: None }], RetryPolicy::NONE, 900_000)
            }
        };
        let mut targets = Vec::new();
        let mut first_refusal = None;
        for p in &planned {
            let model = resolve(config, who, &p.model)?;
            if let Payload::Chat(req) = &payload {
                if let Err(e) = check_capabilities(req, model) {
                    first_refusal.get_or_insert(e);
                    continue;
                }
            }
            targets.push(self.target_spec(config, model, p));
        }
        if targets.is_empty() {
            return Err(
                first_refusal.unwrap_or_else(|| GatewayError::new(Kind::NotFound, "model_not_found", "no target can serve this request"))
            );
        }
        let run = inb.header("x-switchyard-run").filter(|r| r.len() <= 64).unwrap_or_default().to_string();
        let spend = self.spend_plan(config, who, &payload, &targets, inb.body.len())?;
        let caller = Caller {
            request_id,
            tenant: who.tenant.clone(),
            key_name: who.key_name.clone(),
            public_model: name.clone(),
            run,
            client: if embeddings_call { Dialect::OpenAi } else { dialect },
            include_usage,
            cors_origin,
            mock_header: inb.header(MOCK_HEADER).map(str::to_string),
            now_ms: inb.now_ms,
            seed: inb.seed,
        };
        let cache = self.cache_plan(config, who, &payload, &targets, inb);
        let similar = self.similar_plan(config, who, &payload, cache.as_ref(), &targets);
        let plans = Plans { spend, cache, similar };
        Ok(Session::start_with(caller, payload, targets, policy, deadline_ms, self.health.clone(), plans))
    }

    /// For a route with `cache.similar` whose request reads the cache and ends with a text
    /// user turn: how to embed that turn and where its index is.
    fn similar_plan(
        &self,
        config: &Config,
        who: &Principal,
        payload: &Payload,
        cache: Option<&CachePlan>,
        targets: &[TargetSpec],
    ) -> Option<SimilarPlan> {
        let Payload::Chat(req) = payload else { return None };
        if !self.similar_index || !cache.is_some_and(|c| c.decision.read) {
            return None;
        }
        let route = config.route(&req.model)?;
        let settings = route.cache.as_ref()?.similar.as_ref()?;
        let text = cache::last_user_text(req)?;
        let model = config.model(&settings.embedding_model)?;
        let embed = self.target_spec(config, model, &PlannedTarget { model: model.name.clone(), max_retries: 0, timeout_ms: None });
        let fingerprint = cache::route_fingerprint(targets.iter().map(|t| (t.provider.as_str(), t.model.as_str())));
        let scope = cache::KeyScope { tenant: &who.tenant, public_model: &req.model, route: &fingerprint };
        let mut raw = serde_json::Map::new();
        raw.insert("model".into(), model.name.clone().into());
        raw.insert("input".into(), text.clone().into());
        Some(SimilarPlan {
            index: serde_json::to_string(&[&who.tenant, &route.name]).unwrap_or_default(),
            prefix: cache::prefix_hash(&scope, req),
            threshold: settings.threshold,
            max_entries: settings.max_entries,
            embed,
            request: embeddings::EmbeddingsRequest {
                model: model.name.clone(),
                inputs: vec![text],
                dimensions: None,
                base64: false,
                raw,
                token_input: false,
            },
            vector: None,
            matched: None,
        })
    }

    /// Whether the response cache reads or writes for this request, and under which key
    /// (scoped by tenant, public model and the targets of the resolved route).
    fn cache_plan(&self, config: &Config, who: &Principal, payload: &Payload, targets: &[TargetSpec], inb: &Inbound) -> Option<CachePlan> {
        let Payload::Chat(req) = payload else { return None };
        if !self.cache {
            return None;
        }
        let policy = config.route(&req.model).and_then(|r| r.cache.as_ref()).unwrap_or(&config.cache).policy();
        let decision = cache::decide(req, &cache::CacheControl::from_headers(inb.headers), &policy);
        let key = if decision.read || decision.write {
            let route = cache::route_fingerprint(targets.iter().map(|t| (t.provider.as_str(), t.model.as_str())));
            cache::cache_key(&cache::KeyScope { tenant: &who.tenant, public_model: &req.model, route: &route }, req)
        } else {
            String::new()
        };
        Some(CachePlan { key, decision, coalesce: config.cache.coalesce })
    }

    /// Whose limits this request must fit, and its worst case: the input estimated from its
    /// text, the output at its cap, both at the dearest target's prices.
    fn spend_plan(
        &self,
        config: &Config,
        who: &Principal,
        payload: &Payload,
        targets: &[TargetSpec],
        body_len: usize,
    ) -> Result<SpendPlan, GatewayError> {
        let mut subjects = Vec::new();
        if let Some((id, limits)) = &who.token {
            subjects.push(limits.subject(id.clone()));
        }
        subjects.push(who.limits.subject(format!("key:{}", who.key_name)));
        subjects.push(config.tenants.get(&who.tenant).map(|t| t.limits).unwrap_or_default().subject("tenant".into()));
        let (input, output) = match payload {
            Payload::Chat(req) => {
                let chars = req.messages.iter().map(|m| m.content.text().chars().count() as u64).sum();
                let input = cost::estimate(chars, req.messages.len() as u64, 0).input_tokens;
                let cap = targets.iter().map(|t| t.max_output_tokens).max().unwrap_or(DEFAULT_MAX_OUTPUT_TOKENS);
                (input, req.max_output_tokens.unwrap_or(cap).min(cap.max(1)) as u64)
            }
            Payload::Embeddings(_) => ((body_len as u64).div_ceil(4), 0),
        };
        let worst = Usage { input_tokens: input, output_tokens: output, ..Usage::default() };
        let reserve_nusd = targets.iter().map(|t| cost::nano_usd(&worst, &t.prices)).max().unwrap_or(0);
        let plan = SpendPlan::new(subjects, input + output, reserve_nusd);
        if !self.ledger && plan.needs_admission() {
            return Err(GatewayError::new(
                Kind::Internal,
                "spend_control_unbound",
                "this key has limits but the TENANTS Durable Object namespace is not bound",
            ));
        }
        Ok(plan)
    }

    /// The scheduled probes: a one-token chat request to each model in `health_checks` (the
    /// mock is skipped). Each is `(target, request, timeout_ms)`.
    pub fn probes(&self) -> Vec<(String, UpstreamRequest, u32)> {
        let Ok(config) = &self.config else { return Vec::new() };
        let names = config.health_checks.iter().flat_map(|h| &h.models);
        let probe = r#"{"model":"probe","messages":[{"role":"user","content":"ping"}],"max_tokens":1}"#;
        let Ok(req) = dialect::openai::decode_request(probe.as_bytes()) else { return Vec::new() };
        names
            .filter_map(|name| config.model(name))
            .filter(|m| config.providers[&m.provider].kind != ProviderKind::Mock)
            .filter_map(|m| {
                let spec = self.target_spec(config, m, &PlannedTarget { model: m.name.clone(), max_retries: 0, timeout_ms: None });
                let api_key = spec.api_key.clone().ok()?;
                let target = Target {
                    kind: spec.kind,
                    base_url: &spec.base_url,
                    model: &spec.model,
                    api_key: api_key.as_deref(),
                    api_version: &spec.api_version,
                    max_output_tokens: 1,
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

    /// `GET /v1/health`: this isolate's view of every configured target.
    fn health_report(&self, config: &Config, now_ms: u64, request_id: &str) -> Reply {
        let health = self.health.borrow();
        let data: Vec<serde_json::Value> =
            config.models.iter().map(|m| health.report(&format!("{}/{}", m.provider, m.model), now_ms)).collect();
        Reply::json(request_id, &json!({"object": "list", "scope": "isolate", "data": data}))
    }

    /// How to reach one planned target's upstream, with its API key from the secrets.
    fn target_spec(&self, config: &Config, model: &Model, planned: &PlannedTarget) -> TargetSpec {
        let provider = &config.providers[&model.provider];
        let api_key = match &provider.api_key_secret {
            None => Ok(None),
            Some(name) => self.secrets.get(name).map(|s| Some(s.expose().to_string())).ok_or_else(|| name.clone()),
        };
        TargetSpec {
            provider: model.provider.clone(),
            kind: provider.kind,
            base_url: provider.base_url().to_string(),
            model: model.model.clone(),
            api_key,
            api_version: provider.api_version.clone().unwrap_or_else(|| DEFAULT_AZURE_API_VERSION.to_string()),
            max_output_tokens: model.max_output_tokens.unwrap_or(DEFAULT_MAX_OUTPUT_TOKENS),
            timeout_ms: planned.timeout_ms.unwrap_or(provider.timeout_ms),
            ttfb_timeout_ms: provider.ttfb_timeout_ms.unwrap_or(0),
            idle_timeout_ms: provider.idle_timeout_ms.unwrap_or(0),
            max_retries: planned.max_retries,
            stream_chunk_ms: provider.stream_chunk_ms,
            allow_panic: provider.allow_panic,
            prices: model.price,
            quota: model.quota,
        }
    }
}

/// The caller's dialect and the method a path accepts (`""`: no such route).
fn route_of(path: &str) -> (Dialect, &'static str) {
    match path {
        "/v1/chat/completions" | "/v1/embeddings" | "/v1/tokens" => (Dialect::OpenAi, "POST"),
        "/v1/messages" => (Dialect::Anthropic, "POST"),
        "/healthz" | "/v1/models" | "/v1/health" | "/v1/usage" => (Dialect::OpenAi, "GET"),
        _ => (Dialect::OpenAi, ""),
    }
}

/// An error reply in `dialect`, with CORS headers for `cors_origin` when given.
fn respond_error(request_id: &str, e: &GatewayError, dialect: Dialect, cors_origin: Option<&str>) -> (Option<Session>, Action) {
    let mut r = error_reply(request_id, e, dialect);
    r.headers.extend(cors_origin.map(cors::headers).unwrap_or_default());
    (None, Action::Respond(r))
}

/// The body cap and content type, before anything is decoded.
fn check_body(config: &Config, inb: &Inbound) -> Result<(), GatewayError> {
    let max = config.limits.max_body_bytes;
    if inb.declared_len.unwrap_or(0) > max || inb.body.len() > max {
        return Err(GatewayError::new(Kind::PayloadTooLarge, "body_too_large", format!("request body exceeds {max} bytes")));
    }
    match inb.header("content-type") {
        Some(ct) if !ct.trim_start().to_ascii_lowercase().starts_with("application/json") => {
            Err(GatewayError::new(Kind::UnsupportedMediaType, "unsupported_content_type", "content-type must be application/json"))
        }
        _ => Ok(()),
    }
}

/// The model a public name or alias names, if this key may use it.
fn resolve<'a>(config: &'a Config, who: &Principal, name: &str) -> Result<&'a Model, GatewayError> {
    let model = config.model(name).ok_or_else(|| {
        GatewayError::new(Kind::NotFound, "model_not_found", format!("the model '{name}' does not exist")).with_param("model")
    })?;
    if !who.may_use(config, model) {
        return Err(GatewayError::new(Kind::Permission, "model_not_allowed", format!("this key may not use '{name}'")).with_param("model"));
    }
    Ok(model)
}

fn check_capabilities(req: &ChatRequest, model: &Model) -> Result<(), GatewayError> {
    let caps = model.capabilities;
    let unsupported = |what: &str, param: &str| {
        GatewayError::invalid("unsupported_capability", format!("the model '{}' does not support {what}", req.model)).with_param(param)
    };
    if !caps.tools && !req.tools.is_empty() {
        return Err(unsupported("tools", "tools"));
    }
    if !caps.json && matches!(req.response_format, Some(ResponseFormat::JsonObject | ResponseFormat::JsonSchema { .. })) {
        return Err(unsupported("JSON output", "response_format"));
    }
    let has_image =
        req.messages.iter().any(|m| matches!(&m.content, Content::Parts(p) if p.iter().any(|x| matches!(x, Part::Image { .. }))));
    if !caps.vision && has_image {
        return Err(unsupported("image input", "messages"));
    }
    Ok(())
}

fn list_models(config: &Config, who: &Principal, request_id: &str) -> Reply {
    let data: Vec<serde_json::Value> = config
        .models
        .iter()
        .filter(|m| who.may_use(config, m))
        .flat_map(|m| {
            std::iter::once(&m.name)
                .chain(&m.aliases)
                .map(move |id| json!({"id": id, "object": "model", "created": 0, "owned_by": m.provider}))
        })
        .collect();
    let body = json!({"object": "list", "data": data});
    Reply::json(request_id, &body)
}

/// The client's `x-request-id` when it is short and plain, else one made from the seed.
fn request_id(inb: &Inbound) -> String {
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
