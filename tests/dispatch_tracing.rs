//! Every handled request is one `daraja_callback` span with the kind, the
//! path and the correlation id; failures are logged inside it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use pesakit::testing::TestRequest;
use pesakit::{State, StkCallback, daraja, testing};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

type Fields = BTreeMap<String, String>;

#[derive(Default)]
struct FieldVisitor(Fields);

impl Visit for FieldVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

/// An event's level and fields, with the fields of its span.
type CapturedEvent = (Level, Fields, Option<Fields>);

/// Closed spans with their final fields, and events with their span's.
#[derive(Clone, Default)]
struct Capture {
    spans: Arc<Mutex<Vec<(String, Fields)>>>,
    events: Arc<Mutex<Vec<CapturedEvent>>>,
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attributes: &Attributes<'_>, id: &Id, context: Context<'_, S>) {
        let mut visitor = FieldVisitor::default();
        attributes.record(&mut visitor);
        if let Some(span) = context.span(id) {
            span.extensions_mut().insert(visitor.0);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, context: Context<'_, S>) {
        if let Some(span) = context.span(id) {
            let mut extensions = span.extensions_mut();
            if let Some(fields) = extensions.get_mut::<Fields>() {
                let mut visitor = FieldVisitor(std::mem::take(fields));
                values.record(&mut visitor);
                *fields = visitor.0;
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, context: Context<'_, S>) {
        let mut visitor = FieldVisitor::default();
        event.record(&mut visitor);
        let span_fields = context.event_span(event).and_then(|span| span.extensions().get::<Fields>().cloned());
        self.events.lock().expect("not poisoned").push((*event.metadata().level(), visitor.0, span_fields));
    }

    fn on_close(&self, id: Id, context: Context<'_, S>) {
        if let Some(span) = context.span(&id) {
            let fields = span.extensions().get::<Fields>().cloned().unwrap_or_default();
            self.spans.lock().expect("not poisoned").push((span.name().to_owned(), fields));
        }
    }
}

#[derive(Clone)]
struct Fail(bool);

/// An error with a cause, as a database client returns it.
#[derive(Debug)]
struct LedgerError(std::io::Error);

impl std::fmt::Display for LedgerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ledger write failed")
    }
}

impl std::error::Error for LedgerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[daraja::stk_callback("/traced/stk")]
async fn traced(_callback: StkCallback, State(fail): State<Fail>) -> Result<(), LedgerError> {
    if fail.0 { Err(LedgerError(std::io::Error::other("disk full"))) } else { Ok(()) }
}

const CANCELLED: &str = r#"{"Body":{"stkCallback":{"MerchantRequestID":"1","CheckoutRequestID":"ws_CO_42","ResultCode":1032,"ResultDesc":"Request cancelled by user"}}}"#;

fn field<'a>(fields: &'a Fields, name: &str) -> &'a str {
    fields.get(name).map(String::as_str).unwrap_or_default()
}

#[tokio::test]
async fn each_request_is_one_span_with_kind_path_and_correlation_id() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(capture.clone()));

    let routes = pesakit::routes![traced].with_state(Fail(false));
    testing::post(&routes, "/traced/stk", CANCELLED).await;
    let spans = capture.spans.lock().expect("not poisoned").clone();
    assert_eq!(spans.len(), 1, "{spans:?}");
    let (name, fields) = &spans[0];
    assert_eq!(name, "daraja_callback");
    assert_eq!(
        (field(fields, "kind"), field(fields, "path"), field(fields, "correlation_id")),
        ("stk_callback", "/traced/stk", "ws_CO_42")
    );
}

#[tokio::test]
async fn failures_are_logged_in_the_span_with_what_went_wrong() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(capture.clone()));

    testing::post(&pesakit::routes![traced].with_state(Fail(true)), "/traced/stk", CANCELLED).await;
    // Past the check that `testing` makes, as a host mounting the table as a
    // plain tower service would.
    let unchecked = TestRequest::post("/traced/stk").body(CANCELLED).build();
    pesakit::routes![traced].dispatch(unchecked).await;
    testing::post(&pesakit::routes![traced].with_state(Fail(false)), "/traced/stk", r#"{"Body":{}}"#).await;

    let events = capture.events.lock().expect("not poisoned").clone();
    let errors: Vec<_> = events.iter().filter(|(level, ..)| *level == Level::ERROR).collect();
    assert_eq!(errors.len(), 2, "{events:?}");
    for (_, fields, span) in &errors {
        assert_eq!(span.as_ref().map(|span| field(span, "correlation_id")), Some("ws_CO_42"));
        assert_eq!(field(fields, "message"), "callback handler failed");
    }
    // The whole chain of causes, not only the outermost message.
    assert_eq!(field(&errors[0].1, "error"), "ledger write failed: disk full");
    assert!(field(&errors[1].1, "error").contains(".with_state(value)"), "{:?}", errors[1]);

    let refused = events.iter().find(|(level, ..)| *level == Level::WARN).expect("a warning for the bad body");
    assert!(field(&refused.1, "error").contains("missing field `stkCallback`"), "{refused:?}");
    assert_eq!(refused.2.as_ref().map(|span| field(span, "path")), Some("/traced/stk"));
}

#[derive(Clone)]
struct Release(Arc<tokio::sync::Notify>);

#[daraja::c2b_validation("/traced/validate")]
async fn slow_validation(_payment: pesakit::C2bPayment, State(release): State<Release>) -> pesakit::Validation {
    release.0.notified().await;
    pesakit::Validation::Accept
}

#[tokio::test]
async fn a_late_verdict_is_logged_and_never_sent() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(capture.clone()));
    let release = Release(Arc::new(tokio::sync::Notify::new()));
    let routes = pesakit::routes![slow_validation]
        .with_state(release.clone())
        .validation_deadline(std::time::Duration::from_millis(10));
    let payment = r#"{"TransID":"RKTQDM7W6S","TransTime":"20191122063845","TransAmount":"10","MSISDN":"254708374149"}"#;

    let response = testing::post(&routes, "/traced/validate", payment).await;
    assert_eq!(response.text(), r#"{"ResultCode":"C2B00016","ResultDesc":"Rejected"}"#);

    release.0.notify_one();
    let late = |events: &[CapturedEvent]| {
        events.iter().any(|(level, fields, span)| {
            *level == Level::WARN
                && field(fields, "message") == "late validation verdict was not sent"
                && span.as_ref().map(|span| field(span, "correlation_id")) == Some("RKTQDM7W6S")
        })
    };
    for _ in 0..1000 {
        if late(&capture.events.lock().expect("not poisoned")) {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("no late-verdict warning: {:?}", capture.events.lock().expect("not poisoned"));
}

#[daraja::c2b_validation("/traced/checked")]
async fn logging_validation(payment: pesakit::C2bPayment) -> bool {
    tracing::info!(amount = %payment.trans_amount, "checking the payment");
    true
}

// One thread: the subscriber is this thread's default, and the handler's
// task runs here too, outside the request's future.
#[tokio::test]
async fn a_validation_handler_logs_in_the_request_span_on_its_own_task() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(capture.clone()));
    let payment = r#"{"TransID":"RKTQDM7W6S","TransTime":"20191122063845","TransAmount":"10","MSISDN":"254708374149"}"#;

    testing::post(&pesakit::routes![logging_validation], "/traced/checked", payment).await;

    let events = capture.events.lock().expect("not poisoned").clone();
    let (_, _, span) = events
        .iter()
        .find(|(_, fields, _)| field(fields, "message") == "checking the payment")
        .unwrap_or_else(|| panic!("the handler's event: {events:?}"));
    let span = span.as_ref().expect("the handler's event is in the request span");
    assert_eq!(
        (field(span, "kind"), field(span, "path"), field(span, "correlation_id")),
        ("c2b_validation", "/traced/checked", "RKTQDM7W6S")
    );
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods_are_warned_about() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(capture.clone()));
    let routes = pesakit::routes![traced].with_state(Fail(false));

    testing::post(&routes, "/traced/stk-typo", CANCELLED).await;
    testing::send(&routes, TestRequest::new(http::Method::GET, "/traced/stk").build()).await;

    let events = capture.events.lock().expect("not poisoned").clone();
    let warnings: Vec<_> = events
        .iter()
        .filter(|(level, ..)| *level == Level::WARN)
        .map(|(_, fields, _)| (field(fields, "message"), field(fields, "path"), field(fields, "method")))
        .collect();
    assert_eq!(
        warnings,
        [
            ("no callback route at this path", "/traced/stk-typo", "POST"),
            ("callback route called without POST", "/traced/stk", "GET"),
        ]
    );
}

#[daraja::b2c_result("/traced/sync")]
fn logging_sync(_result: pesakit::DarajaResult<pesakit::B2cParams>) {
    tracing::info!("recording the payout");
}

#[tokio::test]
async fn a_sync_handler_logs_in_the_request_span_on_the_blocking_pool() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(capture.clone()));
    let body = pesakit::testing::ResultBuilder::b2c_success().originator_conversation_id("oc-7").build();

    testing::post(&pesakit::routes![logging_sync], "/traced/sync", body).await;

    let events = capture.events.lock().expect("not poisoned").clone();
    let (_, _, span) = events
        .iter()
        .find(|(_, fields, _)| field(fields, "message") == "recording the payout")
        .unwrap_or_else(|| panic!("the handler's event: {events:?}"));
    let span = span.as_ref().expect("the handler's event is in the request span");
    assert_eq!((field(span, "kind"), field(span, "path")), ("b2c_result", "/traced/sync"));
}
