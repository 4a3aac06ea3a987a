//! `pesakit inbox` against a real inbox on each store: callbacks go in
//! through a route table with the inbox, the binary reads and acts on the
//! same database. The PostgreSQL half needs `PESAKIT_TEST_POSTGRES_URL`
//! (`.ci/run` sets it); without it it says how to run it and passes
//! without running.

use std::process::{Command, Output};
use std::time::Duration;

use pesakit::inbox::{CallbackState, PostgresStore, SqliteStore};
use pesakit::testing::{self, C2bPaymentBuilder, ResultBuilder, StkCallbackBuilder};
use pesakit::{Amount, B2cParams, C2bPayment, DarajaResult, Inbox, QueueTimeout, StkCallback, daraja};

#[daraja::stk_callback("/stk")]
fn paid(_callback: StkCallback) {}

#[daraja::c2b_confirmation("/confirm")]
fn confirmed(_payment: C2bPayment) {}

#[daraja::b2c_result("/b2c")]
fn payout(_result: DarajaResult<B2cParams>) -> Result<(), String> {
    Err("the payouts ledger is down".to_owned())
}

#[daraja::queue_timeout("/timeout")]
fn timed_out(_timeout: QueueTimeout) {}

/// Runs the binary off the async threads, with CI-style quiet output.
async fn pesakit(db: &[String], args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pesakit"));
    command.arg("inbox").args(db).args(args).env("CI", "true").env_remove("PESAKIT_INBOX_DB");
    tokio::task::spawn_blocking(move || command.output().expect("the binary runs")).await.expect("blocking task")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// What a support engineer does, on the inbox `inbox`, which the binary
/// reaches with `db`.
async fn support_session(inbox: Inbox, db: &[String]) {
    let routes = pesakit::routes![paid, confirmed, payout, timed_out].with_inbox(inbox.clone().max_attempts(1));
    let stk =
        StkCallbackBuilder::paid().receipt("TKL0000777").amount(Amount::from_minor_units(150_000).expect("an amount"));
    testing::post(&routes, "/stk", stk.build()).await;
    testing::post(&routes, "/confirm", C2bPaymentBuilder::pay_bill().trans_id("TKL0000777").build()).await;
    let timeout = ResultBuilder::queue_timeout();
    let timeout_id = timeout.ids().0.to_owned();
    testing::post(&routes, "/timeout", timeout.build()).await;
    let payout_result = ResultBuilder::b2c_success();
    let payout_id = payout_result.ids().0.to_owned();
    testing::post(&routes, "/b2c", payout_result.build()).await;
    // A hostile body: terminal escape sequences must not reach the screen raw.
    testing::post(&routes, "/b2c", "\u{1b}]0;owned\u{7}\u{1b}[2J not json").await;
    for _ in 0..500 {
        let found = inbox.find(&payout_id).await.expect("the store answers");
        let stk_done = inbox.find(&stk.checkout_id()).await.expect("the store answers");
        if found.first().is_some_and(|callback| callback.state == CallbackState::Dead)
            && stk_done.first().is_some_and(|callback| callback.state == CallbackState::Done)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let list = pesakit(db, &["list"]).await;
    assert!(list.status.success(), "{}", stderr(&list));
    let table = stdout(&list);
    assert!(table.starts_with("ID"), "{table}");
    assert_eq!(table.lines().count(), 6, "a header and five callbacks:\n{table}");
    assert!(table.contains("KES 1500.00") && table.contains(" EAT"), "{table}");
    assert!(table.contains("the payouts ledger is down"), "{table}");
    assert!(!table.contains('\u{1b}'), "escaped: {table}");

    let found = pesakit(db, &["find", "TKL0000777"]).await;
    let found = stdout(&found);
    assert_eq!(found.lines().count(), 3, "the STK payment and its C2B confirmation:\n{found}");
    assert!(found.contains("stk_callback") && found.contains("c2b_confirmation"), "{found}");
    let nothing = pesakit(db, &["find", "NOSUCH0001"]).await;
    assert!(!nothing.status.success() && stderr(&nothing).contains("no callback carries NOSUCH0001"));

    let reconcile = stdout(&pesakit(db, &["reconcile"]).await);
    assert!(reconcile.contains(&timeout_id) && reconcile.lines().count() == 2, "{reconcile}");

    let json = stdout(&pesakit(db, &["list", "--json", "--state", "dead"]).await);
    let dead: Vec<serde_json::Value> =
        json.lines().map(|line| serde_json::from_str(line).expect("a JSON line")).collect();
    assert_eq!(dead.len(), 1, "{json}");
    assert_eq!(dead[0]["dedupe_key"], payout_id.as_str());
    let dead_id = dead[0]["id"].as_u64().expect("an id").to_string();

    let shown = stdout(&pesakit(db, &["show", &dead_id]).await);
    assert!(shown.contains("the payouts ledger is down") && shown.contains("\"Result\""), "{shown}");
    let quarantined = stdout(&pesakit(db, &["list", "--json", "--state", "quarantined"]).await);
    let quarantined_id = serde_json::from_str::<serde_json::Value>(quarantined.trim()).expect("one line")["id"]
        .as_u64()
        .expect("an id")
        .to_string();
    let hostile = stdout(&pesakit(db, &["show", &quarantined_id]).await);
    assert!(hostile.contains("\\u{1b}]0;owned") && !hostile.contains('\u{1b}'), "{hostile}");

    let retried = pesakit(db, &["retry", &dead_id]).await;
    assert!(retried.status.success() && stdout(&retried).contains("pending again"), "{}", stderr(&retried));
    let again = pesakit(db, &["retry", &dead_id]).await;
    assert!(!again.status.success() && stderr(&again).contains("is pending"), "{}", stderr(&again));

    let export = stdout(&pesakit(db, &["export", "--kind", "stk-callback"]).await);
    let exported: serde_json::Value = serde_json::from_str(export.trim()).expect("one JSON line");
    assert_eq!(exported["body"], stk.build().as_str(), "the body as received");
    assert_eq!(exported["amount_kes"], "1500.00");

    let bad_kind = pesakit(db, &["list", "--kind", "stk"]).await;
    assert!(stderr(&bad_kind).contains("one of stk_callback"), "{}", stderr(&bad_kind));

    let pruned = stdout(&pesakit(db, &["prune", "--older-than", "0s"]).await);
    assert!(pruned.starts_with("pruned 2 callbacks"), "the STK payment and the confirmation: {pruned}");
    assert!(inbox.find(&stk.checkout_id()).await.expect("the store answers").is_empty());
}

/// "The customer says they paid, the order says no response": two
/// different STK results under one CheckoutRequestID, as the binary shows
/// them.
async fn conflicting_deliveries_session(inbox: Inbox, db: &[String]) {
    let routes = pesakit::routes![paid].with_inbox(inbox.clone());
    let paid_body = StkCallbackBuilder::paid().receipt("TKL0000888");
    let checkout_id = paid_body.checkout_id();
    testing::post(&routes, "/stk", StkCallbackBuilder::timeout().checkout_request_id(&checkout_id).build()).await;
    testing::post(&routes, "/stk", paid_body.build()).await;
    for _ in 0..500 {
        let found = inbox.find(&checkout_id).await.expect("the store answers");
        if found.len() == 2 && found.iter().all(|callback| callback.state == CallbackState::Done) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let found = stdout(&pesakit(db, &["find", &checkout_id]).await);
    assert_eq!(found.lines().count(), 3, "a header and both deliveries:\n{found}");
    assert!(found.contains("DELIVERY") && found.contains("conflicting deliveries"), "{found}");

    let reconcile = stdout(&pesakit(db, &["reconcile"]).await);
    assert!(reconcile.contains("conflicting deliveries: ResultCode 1037 then ResultCode 0"), "{reconcile}");
    assert!(reconcile.contains("differs from delivery 1"), "{reconcile}");
    assert!(reconcile.contains("Body.stkCallback.ResultCode: 1037 → 0"), "{reconcile}");
    assert!(reconcile.contains("Body.stkCallback.CallbackMetadata: (none) → {"), "{reconcile}");

    let json = stdout(&pesakit(db, &["find", "--json", &checkout_id]).await);
    let lines: Vec<serde_json::Value> =
        json.lines().map(|line| serde_json::from_str(line).expect("a JSON line")).collect();
    let second = lines.iter().find(|line| line["delivery"] == 2).expect("the second delivery");
    let second_id = second["id"].as_u64().expect("an id").to_string();
    let shown = stdout(&pesakit(db, &["show", &second_id]).await);
    assert!(shown.contains("delivery      2"), "{shown}");
    assert!(shown.contains("delivery 1 (id ") && shown.contains("ResultCode: 1037 → 0"), "{shown}");

    let export = stdout(&pesakit(db, &["export", "--kind", "stk-callback"]).await);
    let exported: Vec<serde_json::Value> =
        export.lines().map(|line| serde_json::from_str(line).expect("a JSON line")).collect();
    let deliveries: Vec<_> = exported
        .iter()
        .filter(|line| line["dedupe_key"] == checkout_id.as_str())
        .map(|line| (line["delivery"].as_u64(), line["body"].as_str().map(str::len).unwrap_or_default() > 0))
        .collect();
    assert_eq!(deliveries, [(Some(1), true), (Some(2), true)], "every delivery, with its body: {export}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_support_session_on_a_sqlite_inbox() {
    let dir = std::env::temp_dir().join(format!("pesakit-cli-inbox-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let path = dir.join("inbox.db");
    let missing = pesakit(&[format!("--db=sqlite://{}", dir.join("typo.db").display())], &["list"]).await;
    assert!(stderr(&missing).contains("no inbox database there"), "{}", stderr(&missing));

    let inbox = Inbox::with_store(SqliteStore::open(&path).expect("the store opens"));
    let db = [format!("--db=sqlite://{}", path.display())];
    support_session(inbox.clone(), &db).await;
    conflicting_deliveries_session(inbox, &db).await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_support_session_on_a_postgres_inbox() {
    let Some(url) = std::env::var("PESAKIT_TEST_POSTGRES_URL").ok().filter(|url| !url.is_empty()) else {
        eprintln!(
            "skipped: PESAKIT_TEST_POSTGRES_URL is not set; set it to run this test, for example to postgres://postgres@127.0.0.1:5432/test"
        );
        return;
    };
    let schema = format!("pesakit_cli_test_{}", std::process::id());
    let store = PostgresStore::builder(&url).schema(&schema).connect().await.expect("the store opens");
    let (inbox, db) = (Inbox::with_store(store), [format!("--db={url}"), format!("--schema={schema}")]);
    support_session(inbox.clone(), &db).await;
    conflicting_deliveries_session(inbox, &db).await;
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connects");
    tokio::spawn(connection);
    client.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).await.expect("dropped");
}
