//! The durable inbox on PostgreSQL, in-process: the same conformance suite
//! as the SQLite store (`tests/inbox_suite`), each test in a schema of its
//! own. Needs `PESAKIT_TEST_POSTGRES_URL` (`.ci/run` sets it); without it
//! every test says how to run it and passes without running.

mod common;
mod inbox_suite;

use std::time::{Duration, SystemTime};

use inbox_suite::Backend;
use pesakit::inbox::{InboxStore, NewCallback, PostgresStore, Recorded};

/// The store every conformance test of this crate runs on.
const STORE_UNDER_TEST: Backend = Backend::Postgres;

/// Accepts the server's certificate whatever it is (this machine's server
/// has a self-signed one for its own name), still checking the handshake's
/// signatures: the test is about the connection being encrypted.
#[derive(Debug)]
struct AnyCertificate(std::sync::Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls_pki_types::CertificateDer<'_>,
        _intermediates: &[rustls_pki_types::CertificateDer<'_>],
        _server_name: &rustls_pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_tls_every_connection_to_the_database_is_encrypted() {
    use pesakit::inbox::ListFilter;

    let Some(place) = Backend::Postgres.place("tls") else { return };
    let inbox_suite::Place::Postgres { url, schema } = &place else { unreachable!("a PostgreSQL place") };
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .dangerous()
        .with_custom_certificate_verifier(std::sync::Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    let application = format!("pesakit_tls_{}", std::process::id());
    let separator = if url.contains('?') { '&' } else { '?' };
    let tls_url = format!("{url}{separator}sslmode=require&application_name={application}");
    let store =
        PostgresStore::builder(tls_url).schema(schema.clone()).tls(tls).connect().await.expect("connects over TLS");
    let routes = pesakit::routes![inbox_suite::paid]
        .with_state(inbox_suite::Log::default())
        .with_inbox(pesakit::Inbox::with_store(store.clone()));
    let response =
        pesakit::testing::post(&routes, "/inbox/stk", pesakit::testing::StkCallbackBuilder::paid().build()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(store.list(ListFilter::default()).await.expect("the store answers").len(), 1);

    let encrypted = inbox_suite::postgres::execute(
        url,
        &format!(
            "SELECT ssl FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE application_name = '{application}'"
        ),
    )
    .expect("the connections are listed");
    let flags: Vec<bool> = encrypted.iter().map(|row| row.get(0)).collect();
    assert!(!flags.is_empty() && flags.iter().all(|ssl| *ssl), "every connection encrypted: {flags:?}");
}

/// A store on `place` with `connections` connections, half of them writers.
async fn store_with(place: &inbox_suite::Place, connections: usize) -> PostgresStore {
    let inbox_suite::Place::Postgres { url, schema } = place else { unreachable!("a PostgreSQL place") };
    let builder = PostgresStore::builder(url.clone()).schema(schema.clone()).max_connections(connections);
    builder.connect().await.expect("connects")
}

/// A store on `place` with two connections, so one writer: callbacks
/// recorded together share its batch.
async fn one_writer_store(place: &inbox_suite::Place) -> PostgresStore {
    store_with(place, 2).await
}

/// A B2C result as the store receives it, with `secondary_ids`.
fn new_callback(dedupe_key: String, secondary_ids: Vec<(String, String)>) -> NewCallback {
    NewCallback::new(
        inbox_suite::arrived(pesakit::CallbackKind::B2cResult, "/inbox/b2c", "{}"),
        dedupe_key,
        secondary_ids,
        None,
        SystemTime::now() + Duration::from_secs(60),
    )
}

#[tokio::test(flavor = "current_thread")]
async fn a_callback_the_database_refuses_fails_alone_not_the_batch_it_shared() {
    let Some(place) = Backend::Postgres.place("fallback") else { return };
    let store = one_writer_store(&place).await;
    // Longer than an index entry may be (2,704 bytes) and too random to
    // compress: the database refuses the row, and with it the batch.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let refused: String = (0..8000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b'a' + u8::try_from(state % 26).unwrap_or(0))
        })
        .collect();
    // Polled together on this one thread, the three are queued before the
    // writer takes any of them.
    let (first, bad, last) = tokio::join!(
        store.record(new_callback("origin-first".to_owned(), Vec::new())),
        store.record(new_callback(refused, Vec::new())),
        store.record(new_callback("origin-last".to_owned(), Vec::new())),
    );
    assert!(matches!(first, Ok(Recorded::New(_))), "{first:?}");
    assert!(matches!(last, Ok(Recorded::New(_))), "{last:?}");
    let error = bad.expect_err("the database refuses it");
    // The database's own error is the source, and the whole chain says why.
    let source = std::error::Error::source(&error).map(ToString::to_string).unwrap_or_default();
    assert!(source.contains("index row size"), "{error:#}");
    assert!(format!("{error:#}").contains("SQLSTATE 54000"), "{error:#}");
    let stats = store.stats();
    assert!(stats.operations > stats.commits, "one batch held several: {stats:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn callbacks_recorded_in_one_batch_each_keep_their_own_ids() {
    let Some(place) = Backend::Postgres.place("batch_ids") else { return };
    let store = one_writer_store(&place).await;
    let ids = |number: usize| -> Vec<(String, String)> {
        (0..number).map(|index| (format!("name-{number}-{index}"), format!("value-{number}-{index}"))).collect()
    };
    let callback = |number: usize| new_callback(format!("origin-{number}"), ids(number));
    let recorded = tokio::join!(store.record(callback(1)), store.record(callback(2)), store.record(callback(3)));
    let stats = store.stats();
    assert_eq!((stats.commits, stats.operations), (1, 3), "one batch");
    for (number, recorded) in [(1, recorded.0), (2, recorded.1), (3, recorded.2)] {
        let Ok(Recorded::New(id)) = recorded else { panic!("stored: {recorded:?}") };
        let stored = store.get(id).await.expect("read").expect("stored");
        assert_eq!(stored.secondary_ids, ids(number), "callback {number}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_schema_name_that_is_not_a_plain_identifier_is_refused() {
    let Some(url) = inbox_suite::postgres::url_or_skip() else { return };
    for name in ["pesakit; DROP TABLE x", "Pesakit", "1pesakit", "pesakit-inbox", "", &"a".repeat(64)] {
        let error = PostgresStore::builder(url.clone()).schema(name).connect().await.expect_err(name).to_string();
        assert!(error.contains("not a plain PostgreSQL identifier"), "{name}: {error}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_store_s_debug_output_shows_its_writers_and_the_writes_waiting() {
    let Some(place) = Backend::Postgres.place("debug_output") else { return };
    let store = one_writer_store(&place).await;
    store.record(new_callback("origin-debug".to_owned(), Vec::new())).await.expect("stored");
    let debug = format!("{store:?}");
    // Half the pool's two connections write; nothing is waiting.
    assert!(debug.contains("Queue { writers: 1, waiting: 0 }"), "{debug}");
    let Some(wider) = Backend::Postgres.place("debug_writers") else { return };
    let debug = format!("{:?}", store_with(&wider, 9).await);
    assert!(debug.contains("Queue { writers: 4, waiting: 0 }"), "{debug}");
}

#[test]
fn a_builder_s_debug_output_never_shows_the_password() {
    for url in
        ["postgres://payments:s3cret-Pa55@db.internal/payments", "host=db.internal user=payments password=s3cret-Pa55"]
    {
        let debug = format!("{:?}", PostgresStore::builder(url).schema("inbox"));
        assert!(!debug.contains("s3cret-Pa55"), "{debug}");
        assert!(debug.contains("db.internal") && debug.contains("inbox"), "{debug}");
    }
    let debug = format!("{:?}", PostgresStore::builder("postgres://payments:s3cret-Pa55@db.internal:notaport/x"));
    assert!(!debug.contains("s3cret-Pa55"), "{debug}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_database_that_does_not_wait_for_its_disk_is_warned_about() {
    let Some(place) = Backend::Postgres.place("synchronous_off") else { return };
    let inbox_suite::Place::Postgres { url, schema } = &place else { unreachable!("a PostgreSQL place") };
    let (log, _guard) = inbox_suite::log_text::LogText::capture();
    let separator = if url.contains('?') { '&' } else { '?' };
    for (options, warned) in [("", false), ("options=-c%20synchronous_commit%3Doff", true)] {
        let url = if options.is_empty() { url.clone() } else { format!("{url}{separator}{options}") };
        PostgresStore::builder(url).schema(schema.clone()).max_connections(2).connect().await.expect("connects");
        assert_eq!(log.text().contains("synchronous_commit=off"), warned, "{options}: {}", log.text());
    }
}
