//! Planning a model request (chat, messages, embeddings): decode it, resolve its public
//! model or route into targets, and decide its spend control, cache and similar-prompt
//! plans before the first attempt (a stored conversation's history is loaded first: see
//! `converse`).

use crate::core::config::{usd_to_nano, Config, Fit, Gates, Model, Strategy};
use crate::core::error::{Code, GatewayError};
use crate::core::front::caps;
use crate::core::front::inbound::Inbound;
use crate::core::front::principal::Principal;
use crate::core::pipeline::cheapest;
use crate::core::pipeline::context;
use crate::core::pipeline::protocol::Action;
use crate::core::pipeline::routes::{Plan, PlannedTarget};
use crate::core::pipeline::session::{
    CachePlan, Caller, CascadePlan, ConversationPlan, FitPlan, Plans, Session, Shared, SimilarPlan, SpendPlan, SummaryWork,
};
use crate::core::pipeline::target::{Payload, TargetSpec};
use crate::core::state::cache;
use crate::core::state::cost;
use crate::core::state::health::Health;
use crate::core::state::spend::LimitsExt;
use crate::core::translate::dialect;
use crate::core::translate::dialect::responses::Echo;
use crate::core::translate::embeddings;
use crate::core::translate::providers;
use crate::core::types::{ChatRequest, Content, Dialect, Part, ResponseFormat, Usage};
use crate::core::util::json_value::put;
use crate::core::util::redact::Redactor;
use crate::core::util::secret::Secret;
use crate::core::util::vecmap::VecMap;
use std::rc::Rc;

/// Azure OpenAI's `api-version` when the config names none.
pub const DEFAULT_AZURE_API_VERSION: &str = "2024-10-21";
/// Output cap sent where an upstream requires one and neither caller nor config gave one.
pub const DEFAULT_MAX_OUTPUT_TOKENS: u32 = 4096;
/// The budget of a request for a plain model, in milliseconds: no retry starts past it (each
/// attempt is bounded by its provider's `timeout_ms`, at most as long).
pub const PLAIN_DEADLINE_MS: u32 = 900_000;
/// How long a conversation summary stays stored, in seconds (a week).
pub const SUMMARY_TTL_S: u32 = 604_800;
/// Header that selects mock faults per request.
pub const MOCK_HEADER: &str = "x-switchyard-mock";

/// What planning needs from the isolate: the config, the secrets, which bindings exist,
/// this isolate's view of target health and the redactor of its secrets.
pub struct Planner<'a> {
    /// The validated config.
    pub config: &'a Config,
    /// Worker secrets by name.
    pub secrets: &'a VecMap<String, Secret>,
    /// The `CACHE` KV namespace is bound.
    pub cache: bool,
    /// The `SIMILAR` Durable Object namespace is bound.
    pub similar_index: bool,
    /// The `TENANTS` Durable Object namespace is bound.
    pub ledger: bool,
    /// The `CONVERSATIONS` Durable Object namespace is bound.
    pub conversations: bool,
    /// Breakers and retry budgets, shared with every session of the isolate.
    pub health: &'a Health,
    /// The secrets' redactor, shared with every session of the isolate.
    pub redactor: &'a Redactor,
}

/// What a model request asked, decoded, beside its payload.
#[derive(Debug, Clone)]
pub struct Asked {
    /// The caller API (by path).
    pub dialect: Dialect,
    /// The request's id.
    pub request_id: String,
    /// The caller's allowed browser origin, for CORS headers.
    pub cors_origin: Option<String>,
    /// The public model or route name asked for.
    pub name: String,
    /// The caller wants usage in its stream.
    pub include_usage: bool,
    /// `POST /v1/capabilities/NAME`: the reply in the capability's shape.
    pub capability: bool,
}

impl Planner<'_> {
    /// Take a model request (chat completions, messages or embeddings, by path): check the
    /// body, decode and cap it. It is then [`plan`](Self::plan)ned (after its stored
    /// conversation's history is loaded, when it names one: see `converse`).
    pub fn decode(
        &self,
        inb: &Inbound,
        dialect: Dialect,
        request_id: String,
        cors_origin: Option<String>,
    ) -> Result<(Asked, Payload), GatewayError> {
        check_body(self.config, inb)?;
        let embeddings_call = inb.path == "/v1/embeddings";
        let (payload, name, include_usage) = if embeddings_call {
            let req = embeddings::decode_request(inb.body)?;
            let name = req.model.clone();
            (Payload::Embeddings(Box::new(req)), name, false)
        } else {
            let mut req = dialect::decode_request(dialect, inb.body)?;
            caps::check_request(&req)?;
            req.forwarded_headers = providers::forwarded_headers(inb.headers);
            let (name, usage) = (req.model.clone(), req.include_usage);
            (Payload::Chat(Box::new(req)), name, usage)
        };
        Ok((Asked { dialect, request_id, cors_origin, name, include_usage, capability: false }, payload))
    }

    /// Start a decoded request's session: resolve the public name (a route's planned targets,
    /// or one model with no retries and a 900 000 ms deadline), drop targets whose model lacks
    /// a capability the request uses, then make the spend, cache and similar-prompt plans (no
    /// cache for a stored conversation's turn). `Err` when no target is left (the first
    /// capability refusal, else `model_not_found`) or any check fails.
    pub fn plan(
        &self,
        who: &Principal,
        inb: &Inbound,
        asked: Asked,
        payload: Payload,
        conversation: Option<ConversationPlan>,
    ) -> Result<(Session, Action), GatewayError> {
        let Asked { dialect, request_id, cors_origin, name, include_usage, capability } = asked;
        let cap = self.config.capability(&name);
        if cap.is_some() && !who.models.as_ref().is_none_or(|allowed| allowed.contains(&name)) {
            return Err(GatewayError::new(Code::ModelNotAllowed, format!("this key may not use '{name}'")).with_param("model"));
        }
        let embeddings_call = matches!(payload, Payload::Embeddings(_));
        // The route is looked up once: its strategy, steps, gates and floor are read below.
        let route_cfg = self.config.route(&name);
        let (mut planned, policy, deadline_ms) = match route_cfg {
            Some(route) => (route.plan(inb.seed), route.retry, route.deadline_ms),
            None => {
                let model = resolve(self.config, who, &name)?;
                let retry = self.config.retry;
                (
                    vec![PlannedTarget { model: model.name.clone(), max_retries: retry.max_retries, timeout_ms: None }],
                    retry,
                    PLAIN_DEADLINE_MS,
                )
            }
        };
        let mut route_reason = None;
        if let (Some(route), Payload::Chat(req)) = (route_cfg.filter(|r| r.strategy == Strategy::CheapestCapable), &payload) {
            let (ordered, reason) =
                cheapest::order(self.config, route, req, planned).map_err(|m| GatewayError::new(Code::NoCapableModel, m))?;
            (planned, route_reason) = (ordered, Some(reason));
        }
        let mut targets = Vec::new();
        let mut windows = Vec::new();
        let mut first_refusal = None;
        let mut checked = Vec::new();
        let mut names = Vec::new();
        for (i, p) in planned.iter().enumerate() {
            // A capability's key scope is its `cap:NAME`, not its rungs' models.
            let model = cap.and_then(|_| self.config.model(&p.model)).map_or_else(|| resolve(self.config, who, &p.model), Ok)?;
            windows.extend(model.context_window.map(|w| (w, model.max_output_tokens)));
            if let Payload::Chat(req) = &payload {
                if let Err(e) = check_capabilities(req, model) {
                    first_refusal.get_or_insert(e);
                    continue;
                }
            }
            checked.push(route_cfg.is_none_or(|r| r.checked(i)));
            names.push(model.name.clone());
            targets.push(self.target_spec(model, p));
        }
        if targets.is_empty() {
            return Err(first_refusal.unwrap_or_else(|| GatewayError::new(Code::ModelNotFound, "no target can serve this request")));
        }
        let mut payload = payload;
        let fit = self.fit_plan(&name, &mut payload, &windows)?;
        let run = inb.header("x-switchyard-run").filter(|r| r.len() <= 64).unwrap_or_default().to_string();
        let gates = route_cfg.filter(|r| r.strategy == Strategy::Cascade).and_then(|r| r.gates.clone());
        let judge = |g: &Gates| {
            let judge = g.judge()?;
            let m = self.config.model(&judge.model)?;
            Some((judge, self.target_spec(m, &PlannedTarget { model: m.name.clone(), max_retries: 0, timeout_ms: None })))
        };
        let (max_attempts, max_nusd) =
            cap.map_or((0, 0), |c| (c.max_attempts.unwrap_or(0), c.max_cost_usd.and_then(usd_to_nano).unwrap_or(0)));
        // A capability's floor is its route's too (`Capability::route`).
        let floor = route_cfg.and_then(|r| r.min_pass_rate.map(|m| (m, u64::from(r.min_samples))));
        let min_pass_rate = floor.filter(|_| self.ledger);
        let cascade = gates.map(|gates| CascadePlan {
            judge: judge(&gates).map(Box::new),
            gates,
            checked,
            names,
            reply: capability,
            max_attempts,
            max_nusd,
            min_pass_rate,
        });
        let mut spend = self.spend_plan(who, &payload, &targets, inb.body.len())?;
        if cascade.is_some() {
            // A cascade may ask every rung twice, the second time with the first answer added.
            spend.reserve_nusd = spend.reserve_nusd.saturating_mul(3).saturating_mul(targets.len() as u64);
        }
        let echo = match &payload {
            Payload::Chat(req) if dialect == Dialect::Responses => {
                // A stored response's id is the store's (`resp_` and its hex), as are its items'.
                let id = conversation.as_ref().and_then(|c| c.response.strip_prefix("resp_")).unwrap_or(&request_id);
                Some(Rc::new(Echo::new(id, req.raw.as_ref())))
            }
            _ => None,
        };
        let caller = Caller {
            request_id,
            tenant: who.tenant.clone(),
            key_name: who.key_name.clone(),
            public_model: name.clone(),
            run,
            api: if embeddings_call { Dialect::OpenAi } else { dialect },
            include_usage,
            cors_origin,
            mock_header: inb.header(MOCK_HEADER).map(str::to_string),
            now_ms: inb.now_ms,
            seed: inb.seed,
            echo,
        };
        let cache = if conversation.is_some() || capability { None } else { self.cache_plan(who, &payload, &targets, inb) };
        let similar = self.similar_plan(who, &payload, cache.as_ref(), &targets);
        let plans = Plans { spend, cache, similar, conversation, fit, cascade, route_reason };
        let shared = Shared { health: self.health.clone(), redactor: self.redactor.clone() };
        Ok(Session::start(caller, payload, targets, policy, deadline_ms, shared, plans))
    }

    /// For a route with `context` and a conversation longer than its smallest known window
    /// (`windows`: each target's window and output cap): the request truncated in place, or
    /// the summaries to find or write, or a `context_length_exceeded` refusal.
    pub fn fit_plan(&self, name: &str, payload: &mut Payload, windows: &[(u32, Option<u32>)]) -> Result<Option<FitPlan>, GatewayError> {
        let (Some(settings), Payload::Chat(req)) = (self.config.route(name).and_then(|r| r.context.as_ref()), payload) else {
            return Ok(None);
        };
        let Some(budget) = windows.iter().map(|&(w, cap)| context::input_budget(w, req.max_output_tokens, cap)).min() else {
            return Ok(None);
        };
        let summarizer = settings.summarizer.as_deref().and_then(|s| self.config.model(s));
        let scope = format!("{}\n{}", summarizer.map_or("", |m| m.name.as_str()), fingerprint_of(summarizer));
        let fitting = context::plan(&req.messages, &req.tools, budget, settings.fit, &scope, settings.keep_last_turns);
        let truncated = |req: &ChatRequest| match context::plan(&req.messages, &req.tools, budget, Fit::TruncateMiddle, "", 0) {
            context::Fitting::Truncated(messages, _) => Some(messages),
            _ => None,
        };
        let too_long = |estimated: u64| {
            GatewayError::new(
                Code::ContextLengthExceeded,
                format!("the conversation (about {estimated} tokens) does not fit the route's context window ({budget} tokens for input)"),
            )
            .with_param("messages")
        };
        let mut plan = FitPlan { ttl_s: SUMMARY_TTL_S, ..FitPlan::default() };
        match fitting {
            context::Fitting::Fits => return Ok(None),
            context::Fitting::TooLong { estimated, .. } => return Err(too_long(estimated)),
            context::Fitting::Truncated(messages, _) => {
                req.messages = messages;
                req.raw = None;
                plan.note = Some("truncated");
            }
            context::Fitting::Summarize(summary) => {
                let (Some(model), Some(fallback)) = (summarizer, truncated(req)) else {
                    let estimated = context::tools_tokens(&req.tools) + req.messages.iter().map(context::message_tokens).sum::<u64>();
                    return Err(too_long(estimated));
                };
                let target = self.target_spec(model, &PlannedTarget { model: model.name.clone(), max_retries: 0, timeout_ms: None });
                plan.summary = Some(SummaryWork::new(summary, target, fallback, self.cache));
            }
        }
        Ok(Some(plan))
    }

    /// For a route with `cache.similar` whose request reads the cache and ends with a text
    /// user turn: how to embed that turn and where its index is.
    pub fn similar_plan(
        &self,
        who: &Principal,
        payload: &Payload,
        cache: Option<&CachePlan>,
        targets: &[TargetSpec],
    ) -> Option<SimilarPlan> {
        let Payload::Chat(req) = payload else { return None };
        if !self.similar_index || !cache.is_some_and(|c| c.decision.read) {
            return None;
        }
        let route = self.config.route(&req.model)?;
        let settings = route.cache.as_ref()?.similar.as_ref()?;
        let text = cache::last_user_text(req)?;
        let model = self.config.model(&settings.embedding_model)?;
        let embed = self.target_spec(model, &PlannedTarget { model: model.name.clone(), max_retries: 0, timeout_ms: None });
        let fingerprint = cache::route_fingerprint(targets.iter().map(|t| (t.provider.as_str(), t.model.as_str())));
        let scope = cache::KeyScope { tenant: &who.tenant, public_model: &req.model, route: &fingerprint };
        let mut raw = serde_json::Map::new();
        put(&mut raw, "model", model.name.clone().into());
        put(&mut raw, "input", text.clone().into());
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
    pub fn cache_plan(&self, who: &Principal, payload: &Payload, targets: &[TargetSpec], inb: &Inbound) -> Option<CachePlan> {
        let Payload::Chat(req) = payload else { return None };
        if !self.cache {
            return None;
        }
        let policy = self.config.route(&req.model).and_then(|r| r.cache.as_ref()).unwrap_or(&self.config.cache).policy();
        let decision = cache::decide(req, &cache::CacheControl::from_headers(inb.headers), &policy);
        let key = if decision.read || decision.write {
            let route = cache::route_fingerprint(targets.iter().map(|t| (t.provider.as_str(), t.model.as_str())));
            cache::cache_key(&cache::KeyScope { tenant: &who.tenant, public_model: &req.model, route: &route }, req)
        } else {
            String::new()
        };
        Some(CachePlan { key, decision, coalesce: self.config.cache.coalesce })
    }

    /// Whose limits this request must fit, and its worst case: the input estimated from its
    /// text, the output at its cap, both at the dearest target's prices.
    pub fn spend_plan(
        &self,
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
        subjects.push(self.config.tenants.get(&who.tenant).map(|t| t.limits).unwrap_or_default().subject("tenant".into()));
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
                Code::SpendControlUnbound,
                "this key has limits but the TENANTS Durable Object namespace is not bound",
            ));
        }
        Ok(plan)
    }

    /// How to reach one planned target's upstream, with its API key from the secrets.
    #[inline(never)]
    pub fn target_spec(&self, model: &Model, planned: &PlannedTarget) -> TargetSpec {
        let provider = &self.config.providers[&model.provider];
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
            responses_api: provider.responses_api(),
            quota: model.quota,
        }
    }
}

/// The model a public name or alias names, if this key may use it.
pub fn resolve<'a>(config: &'a Config, who: &Principal, name: &str) -> Result<&'a Model, GatewayError> {
    let model = config
        .model(name)
        .ok_or_else(|| GatewayError::new(Code::ModelNotFound, format!("the model '{name}' does not exist")).with_param("model"))?;
    if !who.may_use(config, model) {
        return Err(GatewayError::new(Code::ModelNotAllowed, format!("this key may not use '{name}'")).with_param("model"));
    }
    Ok(model)
}

/// Whether `model`'s configured capabilities cover what the request uses: tools, JSON output
/// (`json_object` or `json_schema`), image input. `Err`: `unsupported_capability` naming the
/// first one missing.
pub fn check_capabilities(req: &ChatRequest, model: &Model) -> Result<(), GatewayError> {
    let caps = model.capabilities;
    let unsupported = |what: &str, param: &str| {
        GatewayError::new(Code::UnsupportedCapability, format!("the model '{}' does not support {what}", req.model)).with_param(param)
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

/// The body cap and content type, before anything is decoded.
pub fn check_body(config: &Config, inb: &Inbound) -> Result<(), GatewayError> {
    let max = config.limits.max_body_bytes;
    if inb.declared_len.unwrap_or(0) > max || inb.body.len() > max {
        return Err(GatewayError::new(Code::BodyTooLarge, format!("request body exceeds {max} bytes")));
    }
    match inb.header("content-type") {
        Some(ct) if !ct.trim_start().to_ascii_lowercase().starts_with("application/json") => {
            Err(GatewayError::new(Code::UnsupportedContentType, "content-type must be application/json"))
        }
        _ => Ok(()),
    }
}

/// The summarizer's provider and upstream model, so summaries made by another model are not
/// reused when the config changes it.
fn fingerprint_of(model: Option<&Model>) -> String {
    model.map(|m| format!("{}/{}", m.provider, m.model)).unwrap_or_default()
}
