//! The authorization-code and refresh exchanges, built by `oauth2` and sent through our pipeline
//! (`oauth::PipelineHttp`) to the sandbox's Entra ID: its refusals arrive as our typed errors with
//! the AADSTS number, a token endpoint outside the cloud is never called, a refresh is retried
//! after an outage while a code redemption is not, the SPA `Origin` header goes out, and no code,
//! verifier or token reaches the log.

mod common;

use common::{tenant, TestCloud};
use iotm_azure::oauth::PipelineHttp;
use iotm_azure::user::{redeem_code, refresh, UserApp};
use iotm_azure::{Cloud, Pipeline, PipelineOptions, Secret};
use iotm_sandbox::faults::FaultKind;
use iotm_sandbox::scenario::SANDBOX_SPA_CLIENT_ID;
use oauth2::AsyncHttpClient;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const FORGED_REFRESH_TOKEN: &str = "0.AXoAforged-refresh-token-7c1e";
const FORGED_CODE: &str = "0.AXoAforged-authorization-code-51ab";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn spa(origin: Option<&str>) -> UserApp {
    UserApp { tenant: tenant(), client_id: SANDBOX_SPA_CLIENT_ID.into(), spa_origin: origin.map(str::to_string) }
}

fn quick() -> PipelineOptions {
    PipelineOptions { retry_delay: Duration::from_millis(10), ..PipelineOptions::default() }
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn entra_refusals_reach_us_with_their_aadsts_number_and_no_secret_is_logged() {
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).with_env_filter("iotm_azure=trace").finish();
    let _logging = tracing::subscriber::set_default(subscriber);
    let cloud = TestCloud::start().await;

    // A SPA registration refreshed without Origin: Entra's browser-only rule.
    let no_origin = refresh(&cloud.pipeline, &spa(None), &Secret::new(FORGED_REFRESH_TOKEN.into()), "https://management.azure.com/user_impersonation")
        .await
        .err()
        .expect("refused");
    let entra = no_origin.service_error().expect("Entra's own answer");
    assert_eq!((entra.status, entra.aadsts, entra.code.as_deref()), (400, Some(9002327), Some("invalid_request")), "{no_origin}");

    // With the Origin header it gets past that rule, to the token itself.
    let forged = refresh(
        &cloud.pipeline,
        &spa(Some("http://localhost:3000")),
        &Secret::new(FORGED_REFRESH_TOKEN.into()),
        "https://management.azure.com/user_impersonation",
    )
    .await
    .err()
    .expect("refused");
    let entra = forged.service_error().expect("Entra's own answer");
    assert_eq!((entra.aadsts, entra.code.as_deref()), (Some(70000), Some("invalid_grant")), "{forged}");

    let unknown = UserApp { client_id: "0e0e0e0e-0000-4000-8000-00000000dead".into(), ..spa(None) };
    let redeemed = redeem_code(&cloud.pipeline, &unknown, &Secret::new(FORGED_CODE.into()), &Secret::new(VERIFIER.into()), "http://localhost:3000", &[], "n1")
        .await
        .err()
        .expect("refused");
    assert_eq!(redeemed.service_error().and_then(|e| e.aadsts), Some(700016), "{redeemed}");
    assert_eq!(cloud.calls_to("entra"), 3);

    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("Token_RefreshToken") && text.contains("Token_AuthorizationCode"), "the token calls are logged by the pipeline:\n{text}");
    for secret in [FORGED_REFRESH_TOKEN, FORGED_CODE, VERIFIER] {
        assert!(!text.contains(secret), "{secret} reached the log:\n{text}");
    }
}

#[tokio::test]
async fn a_token_endpoint_outside_the_cloud_is_refused_before_any_call() {
    let cloud = TestCloud::start().await;
    // The adapter itself, handed a request for another host.
    let request = oauth2::http::Request::builder()
        .method("POST")
        .uri("https://login.attacker.example/organizations/oauth2/v2.0/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("grant_type=refresh_token&refresh_token={FORGED_REFRESH_TOKEN}").into_bytes())
        .unwrap();
    let refused = PipelineHttp::refresh(&cloud.pipeline, None).call(request).await.unwrap_err();
    assert_eq!(refused.code(), "azure.host_not_allowed", "{refused}");
    assert!(!refused.to_string().contains(FORGED_REFRESH_TOKEN));

    // A "tenant" that would move the token endpoint to another host, in the public cloud.
    let public = Pipeline::new(Cloud::AzureCloud, PipelineOptions::default()).unwrap();
    let elsewhere = UserApp { tenant: "//login.attacker.example/x".into(), ..spa(None) };
    let refused =
        refresh(&public, &elsewhere, &Secret::new(FORGED_REFRESH_TOKEN.into()), "https://management.azure.com/.default").await.err().expect("refused");
    assert_eq!(refused.code(), "azure.host_not_allowed", "{refused}");
    assert_eq!(cloud.calls_to("entra"), 0);
}

#[tokio::test]
async fn a_refresh_is_tried_again_after_an_outage_but_a_code_is_redeemed_once() {
    let cloud = TestCloud::start_with(quick()).await;
    cloud.fault("entra", None, FaultKind::Unavailable, 1.0, Some(1), 0);
    let refreshed =
        refresh(&cloud.pipeline, &spa(Some("http://localhost:3000")), &Secret::new(FORGED_REFRESH_TOKEN.into()), "https://management.azure.com/.default")
            .await
            .err()
            .expect("refused");
    assert_eq!(refreshed.service_error().and_then(|e| e.aadsts), Some(70000), "the second try reached Entra: {refreshed}");
    assert_eq!(cloud.calls_to("entra"), 2);

    cloud.fault("entra", None, FaultKind::Unavailable, 1.0, Some(1), 0);
    let redeemed = redeem_code(
        &cloud.pipeline,
        &spa(Some("http://localhost:3000")),
        &Secret::new(FORGED_CODE.into()),
        &Secret::new(VERIFIER.into()),
        "http://localhost:3000",
        &[],
        "n1",
    )
    .await
    .err()
    .expect("refused");
    assert_eq!(redeemed.status(), Some(503), "{redeemed}");
    assert_eq!(cloud.calls_to("entra"), 3, "a code that may have reached Entra is not sent again");
}
