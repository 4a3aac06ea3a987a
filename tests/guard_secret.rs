//! Secret callback paths: the `{secret}` segment's value comes from
//! configuration; a wrong or missing secret is indistinguishable from an
//! unknown path; the secret never shows in logs, spans, error bodies or
//! the inbox.

#[path = "support/log_text.rs"]
mod log_text;

use http::{Method, StatusCode};
use log_text::LogText;
use pesakit::inbox::ListFilter;
use pesakit::testing::{self, StkCallbackBuilder, TestRequest, TestResponse};
use pesakit::{Inbox, RouteError, StkCallback, daraja};

const SECRET: &str = "Zq8-xW2_vR5.tY7~uI9oP1";

#[daraja::stk_callback("/payments/{secret}/stk")]
fn paid(_callback: StkCallback) {}

#[daraja::b2c_result("/results/b2c")]
fn payout(_result: pesakit::DarajaResult<pesakit::B2cParams>) {}

fn routes() -> pesakit::Routes {
    pesakit::routes![paid, payout].path_secret(SECRET).expect("a valid secret")
}

async fn post(routes: &pesakit::Routes, path: &str, body: String) -> TestResponse {
    testing::post(routes, path, body).await
}

#[tokio::test]
async fn the_right_secret_is_served_and_a_wrong_one_is_an_unknown_path() {
    let routes = routes();
    let body = StkCallbackBuilder::cancelled().build();
    let served = post(&routes, &format!("/payments/{SECRET}/stk"), body.clone()).await;
    assert_eq!(served.status(), StatusCode::OK);

    let wrong_secret = post(&routes, "/payments/Zq8-xW2_vR5.tY7~uI9oP2/stk", body.clone()).await;
    let unknown = post(&routes, "/payments/Zq8-xW2_vR5.tY7~uI9oP2/stq", body.clone()).await;
    for refused in [&wrong_secret, &unknown] {
        assert_eq!(refused.status(), StatusCode::NOT_FOUND);
        assert_eq!(refused.json()["error"], "not_found");
        assert_eq!(refused.headers(), unknown.headers());
    }
    for missing in ["/payments/stk", "/payments//stk", "/payments/{secret}/stk"] {
        assert_eq!(post(&routes, missing, body.clone()).await.status(), StatusCode::NOT_FOUND, "{missing}");
    }
    // Paths without a secret segment are served as before.
    let result = testing::ResultBuilder::b2c_success().build();
    assert_eq!(post(&routes, "/results/b2c", result).await.status(), StatusCode::OK);
}

#[test]
fn the_registration_url_is_the_one_place_the_secret_is_written_out() {
    let routes = routes();
    let urls: Vec<_> =
        routes.iter().map(|route| routes.registration_url(route, "https://pay.example.co.ke/")).collect();
    assert_eq!(
        urls,
        [
            format!("https://pay.example.co.ke/payments/{SECRET}/stk"),
            "https://pay.example.co.ke/results/b2c".to_owned()
        ]
    );
}

#[test]
fn a_secret_path_without_a_secret_is_refused_before_serving() {
    let error = pesakit::routes![paid].check().expect_err("no secret given");
    assert_eq!(error, RouteError::MissingSecret { handler: "paid", path: "/payments/{secret}/stk" });
    assert!(error.to_string().contains(".path_secret("), "{error}");
    assert!(matches!(pesakit::routes![paid].path_secret("too-short"), Err(RouteError::InvalidSecret { .. })));
}

#[tokio::test]
async fn the_secret_never_shows_in_logs_bodies_or_the_inbox() {
    let (log, _guard) = LogText::capture();

    let dir = std::env::temp_dir().join(format!("pesakit-secret-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let inbox = Inbox::sqlite(dir.join("inbox.db")).expect("the inbox opens");
    let routes = routes().with_inbox(inbox.clone());
    let path = format!("/payments/{SECRET}/stk");

    let mut bodies = Vec::new();
    bodies.push(post(&routes, &path, StkCallbackBuilder::paid().build()).await);
    bodies.push(post(&routes, &path, "not json".to_owned()).await);
    bodies.push(testing::send(&routes, TestRequest::new(Method::GET, &path).build()).await);
    bodies.push(post(&routes, &format!("{path}/extra"), "{}".to_owned()).await);
    let statuses: Vec<_> = bodies.iter().map(TestResponse::status).collect();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::BAD_REQUEST, StatusCode::METHOD_NOT_ALLOWED, StatusCode::NOT_FOUND]
    );
    for response in &bodies {
        assert!(!response.text().contains(SECRET), "{}", response.text());
    }
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;

    let text = log.text();
    assert!(text.contains("{secret}"), "the log shows where the secret was: {text}");
    assert!(!text.contains(SECRET), "the secret leaked into the log:\n{text}");

    let stored = inbox.list(ListFilter::default()).await.expect("the store answers");
    assert_eq!(stored.len(), 2, "the callback and the quarantined body");
    for callback in stored {
        assert_eq!(callback.arrived.route_path, "/payments/{secret}/stk");
        let row = format!("{callback:?}");
        assert!(!row.contains(SECRET), "{row}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
