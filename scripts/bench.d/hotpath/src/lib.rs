//! Four ways to serve one request (parse JSON, call the upstream, parse its JSON, respond):
//! B: the `worker` crate's `#[event(fetch)]` path with its Request/Response/Fetch wrappers;
//! C: async Rust on raw web-sys types, returning a Promise through wasm-bindgen-futures;
//! D: a synchronous export taking and returning bytes, with the I/O done by a few lines of JS.
//! (A, the bare JavaScript floor, lives in entry.js.) The upstream URL is the `UPSTREAM` binding.

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use worker::*;

fn work(bytes: &[u8]) -> Vec<u8> {
    let v: serde_json::Value = serde_json::from_slice(bytes).unwrap_or(serde_json::Value::Null);
    serde_json::to_vec(&v).unwrap()
}

// B: the worker crate's request path
#[event(fetch)]
async fn main(mut req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let upstream = env.var("UPSTREAM")?.to_string();
    let body = req.bytes().await?;
    let out = work(&body);
    let mut init = worker::RequestInit::new();
    init.with_method(Method::Post).with_body(Some(js_sys::Uint8Array::from(&out[..]).into()));
    let up = worker::Request::new_with_init(&upstream, &init)?;
    let mut resp = Fetch::Request(up).send().await?;
    let b = resp.bytes().await?;
    let out = work(&b);
    let mut r = Response::from_bytes(out)?;
    r.headers_mut().set("content-type", "application/json")?;
    Ok(r)
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(input: &str, init: &web_sys::RequestInit) -> js_sys::Promise;
}

// C: async Rust on raw web-sys, no worker wrappers
#[wasm_bindgen]
pub async fn fetch_raw(req: web_sys::Request, upstream: String) -> std::result::Result<web_sys::Response, JsValue> {
    let ab = JsFuture::from(req.array_buffer()?).await?;
    let body = js_sys::Uint8Array::new(&ab).to_vec();
    let out = work(&body);
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    let u8 = js_sys::Uint8Array::from(&out[..]);
    init.set_body(&u8);
    let resp: web_sys::Response = JsFuture::from(global_fetch(&upstream, &init)).await?.into();
    let ab = JsFuture::from(resp.array_buffer()?).await?;
    let b = js_sys::Uint8Array::new(&ab).to_vec();
    let mut out = work(&b);
    let ri = web_sys::ResponseInit::new();
    let h = web_sys::Headers::new()?;
    h.set("content-type", "application/json")?;
    ri.set_headers(&h);
    web_sys::Response::new_with_opt_u8_array_and_init(Some(&mut out), &ri)
}

// D: sync bytes in/out; JS does the I/O
#[wasm_bindgen]
pub fn transform(bytes: &[u8]) -> Vec<u8> {
    work(bytes)
}
