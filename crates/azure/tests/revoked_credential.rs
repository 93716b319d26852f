//! A signed-in person's credential after sign-out: whoever still holds it (a running migration's
//! clients) gets no token from it, it asks the token endpoint for none, and a refresh that was on
//! the wire when it was revoked hands nothing back to be stored. Also: a token endpoint's
//! `expires_in` past what an `Instant` holds is clamped, not a panic (which aborts the app).

mod common;

use axum::routing::post;
use axum::{Json, Router};
use common::{https_server, pipeline_to, TestCloud};
use iotm_azure::user::{UserApp, UserCredential};
use iotm_azure::{Credential, Secret};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A token endpoint that answers after `delay` with a fresh access token and a rotated refresh token.
async fn token_endpoint(cloud: &TestCloud, delay: Duration) -> (String, Arc<AtomicUsize>) {
    token_endpoint_lasting(cloud, delay, 3600).await
}

async fn token_endpoint_lasting(cloud: &TestCloud, delay: Duration, expires_in: u64) -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let router = Router::new().route(
        "/{tenant}/oauth2/v2.0/token",
        post(move || async move {
            let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::time::sleep(delay).await;
            Json(serde_json::json!({"token_type": "Bearer", "access_token": format!("at-{n}"), "refresh_token": format!("rt-{n}"), "expires_in": expires_in}))
        }),
    );
    (https_server(cloud.state.path(), router).await, calls)
}

fn credential(cloud: &TestCloud, base: &str, rotated: Arc<AtomicUsize>) -> Arc<UserCredential> {
    let app = UserApp { tenant: common::tenant(), client_id: "5a4b1c2d-0000-4000-8000-00000000a002".into(), spa_origin: None };
    let on_rotate = Arc::new(move |_: &Secret<String>| {
        rotated.fetch_add(1, Ordering::SeqCst);
    });
    Arc::new(UserCredential::new(pipeline_to(&cloud.sandbox, base), app, Secret::new("rt-0".into()), on_rotate))
}

#[tokio::test]
async fn a_revoked_credential_hands_out_no_token_and_asks_for_none() {
    let cloud = TestCloud::start().await;
    let (base, calls) = token_endpoint(&cloud, Duration::ZERO).await;
    let rotated = Arc::new(AtomicUsize::new(0));
    let held = credential(&cloud, &base, rotated.clone());
    assert_eq!(held.authorization("https://management.azure.com/").await.unwrap().expose(), "Bearer at-1");
    held.revoke();
    assert!(held.is_revoked());
    let cached = held.authorization("https://management.azure.com/").await.unwrap_err();
    assert_eq!(cached.code(), "azure.signed_out", "the token in memory is not handed out: {cached}");
    let fresh = held.authorization("https://iothubs.azure.net").await.unwrap_err();
    assert_eq!(fresh.code(), "azure.signed_out");
    assert_eq!((calls.load(Ordering::SeqCst), rotated.load(Ordering::SeqCst)), (1, 1), "nothing asked for or stored after the revoke");
}

#[tokio::test]
async fn a_refresh_on_the_wire_when_the_credential_is_revoked_stores_nothing() {
    let cloud = TestCloud::start().await;
    let (base, calls) = token_endpoint(&cloud, Duration::from_millis(500)).await;
    let rotated = Arc::new(AtomicUsize::new(0));
    let held = credential(&cloud, &base, rotated.clone());
    let refreshing = tokio::spawn({
        let held = held.clone();
        async move { held.authorization("https://management.azure.com/").await.map(|h| h.expose().clone()) }
    });
    while calls.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    held.revoke();
    let answer = refreshing.await.unwrap().unwrap_err();
    assert_eq!(answer.code(), "azure.signed_out", "{answer}");
    assert_eq!(rotated.load(Ordering::SeqCst), 0, "the rotated refresh token was not written back");
}

#[tokio::test]
async fn an_expires_in_no_instant_can_hold_is_clamped_not_a_crash() {
    let cloud = TestCloud::start().await;
    let (base, calls) = token_endpoint_lasting(&cloud, Duration::ZERO, u64::MAX).await;
    let user = credential(&cloud, &base, Arc::new(AtomicUsize::new(0)));
    assert_eq!(user.authorization("https://management.azure.com/").await.unwrap().expose(), "Bearer at-1");
    assert_eq!(user.authorization("https://management.azure.com/").await.unwrap().expose(), "Bearer at-1", "kept, as a day-long token");
    let service = iotm_azure::ClientSecretCredential::new(pipeline_to(&cloud.sandbox, &base), &common::tenant(), "c", Secret::new("s".into())).unwrap();
    assert_eq!(service.authorization("https://management.azure.com/").await.unwrap().expose(), "Bearer at-2");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}
