//! `/v1/stats` and the admin key's way into `/v1/usage` and `/v1/stats`, through the gateway's
//! front door: who may read, which tenant's object is asked, and the reply.

use super::*;
use crate::core::front::flow::Flow;
use crate::core::front::gateway::Gateway;

const ADMIN: &str = "adm-secret-1234";

fn gateway() -> Gateway {
    let mut gw = Gateway::new(None);
    gw.set_ledger(true);
    gw.set_secret(admin::ADMIN_SECRET, ADMIN);
    gw
}

fn start(gw: &Gateway, path: &str, query: &str, auth: &str) -> (Flow, Action) {
    let headers = vec![("authorization".to_string(), format!("Bearer {auth}"))];
    let inb = Inbound { query, now_ms: 1_700_000_000_000, seed: 7, ..Inbound::test("GET", path, &headers, b"") };
    gw.start(&inb)
}

fn refused(a: Action) -> (u16, String, Option<String>) {
    let Action::Respond(r) = a else { panic!("expected a reply, got {a:?}") };
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    (r.status, v["error"]["code"].as_str().unwrap_or_default().into(), v["error"]["param"].as_str().map(Into::into))
}

#[test]
fn a_key_reads_its_own_tenants_stats_with_the_isolates_breakers() {
    let gw = gateway();
    let (flow, action) = start(&gw, "/v1/stats", "", "sk-switchyard-dev");
    let (Flow::Health(read), Action::Health { .. }) = (flow, action) else { panic!("the breakers are read first") };
    let (next, action) = crate::core::front::health::answer(*read, &gw.health_view(), None, 5);
    let Action::Tenant { tenant, op } = action else { panic!("{action:?}") };
    assert_eq!((tenant.as_str(), op.as_str()), ("dev", r#""stats""#));
    let next = next.expect("the stats continue");
    assert!(!next.breakers.as_array().unwrap().is_empty(), "one entry per configured target");
    let Action::Respond(r) = answer(next.clone(), Some("[]"), 5) else { panic!() };
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        (r.status, v["object"].as_str(), v["tenant"].as_str(), v["queue_depth"].as_u64()),
        (200, Some("stats"), Some("dev"), Some(0))
    );
    assert_eq!(v["breakers"], next.breakers);
    assert_eq!(refused(answer(next, None, 5)).0, 503, "the object did not answer");
}

#[test]
fn the_admin_key_names_the_tenant() {
    let gw = gateway();
    for path in ["/v1/stats", "/v1/usage"] {
        let (flow, action) = start(&gw, path, "tenant=acme%20co", ADMIN);
        let action = match flow {
            Flow::Health(read) => crate::core::front::health::answer(*read, &gw.health_view(), None, 5).1,
            _ => action,
        };
        let Action::Tenant { tenant, .. } = action else { panic!("{path}: {action:?}") };
        assert_eq!(tenant, "acme co", "{path}");
        assert_eq!(refused(start(&gw, path, "", ADMIN).1), (400, "invalid_query".into(), Some("tenant".into())), "{path}");
    }
    // The rest of the query still counts for /v1/usage.
    let (flow, _) = start(&gw, "/v1/usage", "group_by=model&tenant=acme", ADMIN);
    let Flow::Usage(u) = flow else { panic!("{flow:?}") };
    assert_eq!(u.query.group_by, Some(crate::core::state::ledger::GroupBy::Model));
    // The admin key is no gateway key elsewhere, nor a tenant name a gateway key can choose.
    assert_eq!(refused(start(&gw, "/v1/models", "", ADMIN).1).0, 401);
    assert_eq!(
        refused(start(&gw, "/v1/stats", "tenant=acme", "sk-switchyard-dev").1),
        (400, "invalid_query".into(), Some("tenant".into()))
    );
    assert_eq!(refused(start(&Gateway::new(None), "/v1/stats", "tenant=acme", ADMIN).1).0, 401, "no admin key set");
}

#[test]
fn refusals() {
    let gw = gateway();
    assert_eq!(refused(start(&gw, "/v1/stats", "", "nope").1).0, 401);
    let mut off = Gateway::new(None);
    off.set_secret(admin::ADMIN_SECRET, ADMIN);
    assert_eq!(refused(start(&off, "/v1/stats", "", "sk-switchyard-dev").1).1, "ledger_disabled");
}
