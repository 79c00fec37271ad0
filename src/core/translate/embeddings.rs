//! Embeddings (`POST /v1/embeddings`, OpenAI's shape) for every upstream that has them.
//!
//! References: <https://platform.openai.com/docs/api-reference/embeddings/create> and
//! <https://ai.google.dev/api/embeddings#method:-models.batchembedcontents>. OpenAI-family
//! upstreams get the request as sent (model replaced) and their answer passes back as is;
//! Azure OpenAI gets the deployment's path and `api-key`; Gemini gets `batchEmbedContents`, at
//! most 100 inputs a call (the API's limit), several calls made in turn for more, and the
//! vectors come back in input order as an OpenAI `list`, as floats
//! or as base64 of little-endian f32 (`encoding_format: "base64"`); the mock makes
//! deterministic unit vectors from a hash of each input.

use crate::core::config::ProviderKind;
use crate::core::error::{Code, GatewayError};
use crate::core::translate::dialect::fields::*;
use crate::core::translate::providers::{malformed, Target, UpstreamRequest};
use crate::core::types::{Dialect, Usage};
use crate::core::util::json_value::put;
use crate::json;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// A caller's `POST /v1/embeddings` request, in OpenAI's shape, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingsRequest {
    /// The public model name the caller asked for.
    pub model: String,
    /// Text inputs; token-array inputs are kept in `raw` for OpenAI-family upstreams only.
    pub inputs: Vec<String>,
    /// Requested vector length (OpenAI `dimensions`, Gemini `outputDimensionality`; the mock's
    /// default is 256).
    pub dimensions: Option<u32>,
    /// Whether the caller asked for `encoding_format: "base64"` (vectors as base64 of
    /// little-endian `f32`) rather than float arrays.
    pub base64: bool,
    /// The body as sent, for same-wire upstreams.
    pub raw: Map<String, Value>,
    /// The input was token arrays rather than text.
    pub token_input: bool,
}

const MAX_INPUTS: usize = 2048;

/// Decode an embeddings request body: `input` as a string, up to 2048 strings, or token
/// arrays; `encoding_format` `float` (default) or `base64`.
pub fn decode_request(body: &[u8]) -> Result<EmbeddingsRequest, GatewayError> {
    let obj = parse_object(body)?;
    let model = req_str(&obj, "model", "model")?;
    let (inputs, token_input) = match opt(&obj, "input") {
        None => return Err(missing("input")),
        Some(Value::String(s)) => (vec![s.clone()], false),
        Some(Value::Array(a)) if a.is_empty() => return Err(invalid_value("input", "must not be empty")),
        Some(Value::Array(a)) if a.len() > MAX_INPUTS => return Err(invalid_value("input", "at most 2048 inputs")),
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => {
            (a.iter().filter_map(Value::as_str).map(str::to_string).collect(), false)
        }
        Some(Value::Array(a)) if a.iter().all(|v| v.is_number() || v.is_array()) => (Vec::new(), true),
        Some(_) => return Err(invalid_value("input", "must be a string, an array of strings, or token arrays")),
    };
    let dimensions = opt_u32(&obj, "dimensions", "dimensions")?;
    let base64 = match opt_str(&obj, "encoding_format", "encoding_format")?.as_deref() {
        None | Some("float") => false,
        Some("base64") => true,
        Some(_) => return Err(invalid_value("encoding_format", "must be float or base64")),
    };
    Ok(EmbeddingsRequest { model, inputs, dimensions, base64, raw: obj, token_input })
}

/// Gemini's `batchEmbedContents` takes at most this many requests per call.
pub const GEMINI_BATCH: usize = 100;

/// The upstream call for a request that fits in one (every caller but the main embeddings
/// path, which sends [`build_requests`] in turn); more than one Gemini batch is refused.
pub fn build_request(req: &EmbeddingsRequest, t: &Target) -> Result<UpstreamRequest, GatewayError> {
    let mut calls = build_requests(req, t)?;
    match calls.len() {
        1 => Ok(calls.remove(0)),
        _ => Err(invalid_value("input", "at most 100 inputs for this model")),
    }
}

/// The upstream calls, to be made in turn: OpenAI-family upstreams get the caller's body in
/// one, with `model` replaced (Azure: removed, the deployment is in the URL, and the key goes
/// in `api-key`); Gemini gets `batchEmbedContents`, one call per [`GEMINI_BATCH`] text inputs.
/// Any other wire, or token arrays for Gemini, is a client error `unsupported_for_provider`.
pub fn build_requests(req: &EmbeddingsRequest, t: &Target) -> Result<Vec<UpstreamRequest>, GatewayError> {
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    let base = t.base_url.trim_end_matches('/');
    match t.kind.wire() {
        Dialect::OpenAi => {
            let mut body = req.raw.clone();
            let url = if t.kind == ProviderKind::AzureOpenai {
                // <https://learn.microsoft.com/en-us/azure/ai-foundry/openai/reference#embeddings>
                body.remove("model");
                headers.extend(t.api_key.map(|key| ("api-key".to_string(), key.to_string())));
                format!("{base}/openai/deployments/{}/embeddings?api-version={}", t.model, t.api_version)
            } else {
                put(&mut body, "model", t.model.into());
                headers.extend(t.api_key.map(|key| ("authorization".to_string(), format!("Bearer {key}"))));
                format!("{base}/embeddings")
            };
            Ok(vec![UpstreamRequest { url, headers, body: serde_json::to_vec(&body).unwrap_or_default() }])
        }
        Dialect::Gemini if !req.token_input => {
            if let Some(key) = t.api_key {
                headers.push(("x-goog-api-key".into(), key.to_string()));
            }
            let url = format!("{base}/v1beta/models/{}:batchEmbedContents", t.model);
            let batches = req.inputs.chunks(GEMINI_BATCH).map(|batch| {
                let requests: Vec<Value> = batch
                    .iter()
                    .map(|text| {
                        let mut r = json!({"model": format!("models/{}", t.model), "content": {"parts": [{"text": text}]}});
                        if let Some(d) = req.dimensions {
                            r["outputDimensionality"] = d.into();
                        }
                        r
                    })
                    .collect();
                let body = serde_json::to_vec(&json!({"requests": requests})).unwrap_or_default();
                UpstreamRequest { url: url.clone(), headers: headers.clone(), body }
            });
            Ok(batches.collect())
        }
        _ => Err(GatewayError::new(Code::UnsupportedForProvider, "this model's provider does not offer embeddings for this input")
            .with_param("model")),
    }
}

struct GeminiBatch {
    embeddings: Vec<GeminiValues>,
}

crate::de_struct!(GeminiBatch, required, skip { embeddings });

struct GeminiValues {
    values: Vec<f32>,
}

crate::de_struct!(GeminiValues, required, skip { values });

/// The vectors of one `batchEmbedContents` answer, in request order.
pub fn gemini_vectors(body: &[u8]) -> Result<Vec<Vec<f32>>, GatewayError> {
    let batch: GeminiBatch = serde_json::from_slice(body).map_err(|_| malformed("embeddings response"))?;
    Ok(batch.embeddings.into_iter().map(|e| e.values).collect())
}

/// Gemini's vectors, every batch's in order, as OpenAI's embedding list (indexes are
/// positions in the caller's input); a count that does not match the inputs is malformed.
pub fn gemini_to_openai(vectors: &[Vec<f32>], req: &EmbeddingsRequest, model: &str) -> Result<Vec<u8>, GatewayError> {
    if vectors.len() != req.inputs.len() {
        return Err(malformed("embeddings response (wrong number of vectors)"));
    }
    Ok(openai_list(vectors, req.base64, model, estimate_tokens(req)))
}

/// What an embeddings request is billed for: the input tokens the upstream reported
/// (`usage.prompt_tokens` of an OpenAI-shaped answer), or else an estimate, marked as one.
pub fn usage(req: &EmbeddingsRequest, answer: Option<&[u8]>) -> Usage {
    struct Answer {
        usage: Option<Reported>,
    }
    crate::de_struct!(Answer, required, skip { usage: default });
    struct Reported {
        prompt_tokens: u64,
    }
    crate::de_struct!(Reported, required, skip { prompt_tokens });
    match answer.map(serde_json::from_slice::<Answer>) {
        Some(Ok(Answer { usage: Some(r) })) => Usage { input_tokens: r.prompt_tokens, ..Usage::default() },
        _ => Usage { input_tokens: estimate_tokens(req), estimated: true, ..Usage::default() },
    }
}

/// Input tokens of an embeddings request when nobody counted them: four characters a token
/// for text, one per id for token arrays.
pub fn estimate_tokens(req: &EmbeddingsRequest) -> u64 {
    if !req.token_input {
        return req.inputs.iter().map(|t| (t.chars().count() as u64).div_ceil(4)).sum();
    }
    match req.raw.get("input") {
        Some(Value::Array(items)) => items.iter().map(|v| v.as_array().map_or(1, |a| a.len() as u64)).sum(),
        _ => 0,
    }
}

/// OpenAI's embedding list for `vectors`.
pub fn openai_list(vectors: &[Vec<f32>], base64: bool, model: &str, prompt_tokens: u64) -> Vec<u8> {
    let data: Vec<Value> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let embedding = if base64 { Value::String(base64_f32(v)) } else { json!(v) };
            json!({"object": "embedding", "index": i, "embedding": embedding})
        })
        .collect();
    let body =
        json!({"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens}});
    serde_json::to_vec(&body).unwrap_or_default()
}

/// The built-in mock's answer: one deterministic unit vector per input.
pub fn mock_response(req: &EmbeddingsRequest, model: &str) -> Vec<u8> {
    let dims = req.dimensions.unwrap_or(256).clamp(1, 4096) as usize;
    let vectors: Vec<Vec<f32>> = req
        .inputs
        .iter()
        .map(|text| {
            let mut v: Vec<f32> = (0..dims)
                .map(|i| {
                    let d = Sha256::digest(format!("{i}:{text}").as_bytes());
                    (d[0] as f32 - 127.5) / 127.5
                })
                .collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(f32::EPSILON);
            v.iter_mut().for_each(|x| *x /= norm);
            v
        })
        .collect();
    let tokens: u64 = req.inputs.iter().map(|t| (t.chars().count() as u64).div_ceil(4)).sum();
    openai_list(&vectors, req.base64, model, tokens)
}

fn base64_f32(v: &[f32]) -> String {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    crate::core::util::b64::encode(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(kind: ProviderKind) -> Target<'static> {
        Target {
            kind,
            base_url: "https://x",
            model: "emb-1",
            api_key: Some("k"),
            api_version: "",
            max_output_tokens: 0,
            responses_api: false,
        }
    }

    #[test]
    fn usage_is_what_the_upstream_reported_or_else_an_estimate() {
        let text = decode_request(br#"{"model":"e","input":["abcdefgh","xyz"]}"#).unwrap();
        let reported = usage(&text, Some(br#"{"object":"list","data":[],"usage":{"prompt_tokens":7,"total_tokens":7}}"#));
        assert_eq!((reported.input_tokens, reported.estimated), (7, false));
        // Four characters a token, rounded up per input: 2 + 1.
        for answer in [None, Some(&b"not json"[..]), Some(&br#"{"data":[]}"#[..])] {
            let u = usage(&text, answer);
            assert_eq!((u.input_tokens, u.output_tokens, u.estimated), (3, 0, true));
        }
        let ids = decode_request(br#"{"model":"e","input":[[1,2,3],[4]]}"#).unwrap();
        assert_eq!(estimate_tokens(&ids), 4);
        assert_eq!(estimate_tokens(&decode_request(br#"{"model":"e","input":[1,2,3]}"#).unwrap()), 3);
    }

    #[test]
    fn decodes_inputs_and_rejects_bad_ones() {
        let r = decode_request(br#"{"model":"e","input":["a","b"],"dimensions":8,"encoding_format":"base64"}"#).unwrap();
        assert_eq!((r.inputs.len(), r.dimensions, r.base64), (2, Some(8), true));
        assert!(decode_request(br#"{"model":"e","input":[[1,2],[3]]}"#).unwrap().token_input);
        for (body, param) in [
            (r#"{"model":"e"}"#, "input"),
            (r#"{"model":"e","input":[]}"#, "input"),
            (r#"{"model":"e","input":5}"#, "input"),
            (r#"{"model":"e","input":"a","encoding_format":"hex"}"#, "encoding_format"),
        ] {
            assert_eq!(decode_request(body.as_bytes()).unwrap_err().param.as_deref(), Some(param), "{body}");
        }
    }

    #[test]
    fn gemini_batch_request_and_response() {
        let r = decode_request(br#"{"model":"e","input":["hello","world"],"dimensions":3}"#).unwrap();
        let up = build_request(&r, &target(ProviderKind::Gemini)).unwrap();
        assert_eq!(up.url, "https://x/v1beta/models/emb-1:batchEmbedContents");
        let body: Value = serde_json::from_slice(&up.body).unwrap();
        assert_eq!(
            body["requests"][1],
            json!({"model": "models/emb-1", "content": {"parts": [{"text": "world"}]}, "outputDimensionality": 3})
        );
        let vectors = gemini_vectors(br#"{"embeddings":[{"values":[0.5,1.0]},{"values":[0.25,0.0]}]}"#).unwrap();
        let out: Value = serde_json::from_slice(&gemini_to_openai(&vectors, &r, "e").unwrap()).unwrap();
        assert_eq!(out["data"][1]["embedding"], json!([0.25, 0.0]));
        assert_eq!(out["data"][1]["index"], 1);
        assert_eq!(gemini_to_openai(&vectors[..1], &r, "e").unwrap_err().code, Code::UpstreamMalformed);
    }

    #[test]
    fn gemini_inputs_go_in_batches_of_100() {
        let inputs: Vec<String> = (0..250).map(|i| format!("t{i}")).collect();
        let r = decode_request(&serde_json::to_vec(&json!({"model": "e", "input": inputs})).unwrap()).unwrap();
        let calls = build_requests(&r, &target(ProviderKind::Gemini)).unwrap();
        let sizes: Vec<usize> =
            calls.iter().map(|c| serde_json::from_slice::<Value>(&c.body).unwrap()["requests"].as_array().unwrap().len()).collect();
        assert_eq!(sizes, [100, 100, 50]);
        let last: Value = serde_json::from_slice(&calls[2].body).unwrap();
        assert_eq!(last["requests"][0]["content"]["parts"][0]["text"], "t200");
        assert_eq!(build_request(&r, &target(ProviderKind::Gemini)).unwrap_err().status, 400);
    }

    #[test]
    fn azure_embeddings_use_the_deployment_path_and_api_key() {
        let r = decode_request(br#"{"model":"public","input":["x"],"dimensions":8}"#).unwrap();
        let t = Target { api_version: "2024-10-21", ..target(ProviderKind::AzureOpenai) };
        let up = build_request(&r, &t).unwrap();
        assert_eq!(up.url, "https://x/openai/deployments/emb-1/embeddings?api-version=2024-10-21");
        assert!(up.headers.contains(&("api-key".into(), "k".into())));
        assert!(!up.headers.iter().any(|(k, _)| k == "authorization"));
        assert_eq!(serde_json::from_slice::<Value>(&up.body).unwrap(), json!({"input": ["x"], "dimensions": 8}));
    }

    #[test]
    fn openai_family_passes_the_request_through() {
        let r = decode_request(br#"{"model":"public","input":"x","user":"u"}"#).unwrap();
        let body: Value = serde_json::from_slice(&build_request(&r, &target(ProviderKind::Openai)).unwrap().body).unwrap();
        assert_eq!(body, json!({"model": "emb-1", "input": "x", "user": "u"}));
        assert!(build_request(&r, &target(ProviderKind::Anthropic)).is_err());
    }

    #[test]
    fn base64_is_little_endian_f32() {
        assert_eq!(base64_f32(&[1.0]), "AACAPw==");
        assert_eq!(base64_f32(&[0.0, 1.0]), "AAAAAAAAgD8=");
    }

    #[test]
    fn mock_vectors_are_deterministic_unit_vectors() {
        let r = decode_request(br#"{"model":"e","input":["a","b"],"dimensions":16}"#).unwrap();
        let v: Value = serde_json::from_slice(&mock_response(&r, "m")).unwrap();
        let a: Vec<f64> = serde_json::from_value(v["data"][0]["embedding"].clone()).unwrap();
        assert_eq!(a.len(), 16);
        assert!((a.iter().map(|x| x * x).sum::<f64>() - 1.0).abs() < 1e-3);
        assert_eq!(mock_response(&r, "m"), mock_response(&r, "m"));
        assert_ne!(v["data"][0]["embedding"], v["data"][1]["embedding"]);
    }
}
