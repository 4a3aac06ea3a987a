//! The command line, as clap reads it.

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Exercise Daraja callback flows on your own machine, and check callback
/// URLs before go-live.
#[derive(Debug, Parser)]
#[command(name = "pesakit", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// POST what Daraja would post to your endpoint, show the exchange, and
    /// check the answer is what Daraja expects.
    ///
    /// `pesakit simulate c2b --to <validation-url> --confirm <confirmation-url>`
    /// plays the real C2B sequence: validation first, the confirmation only
    /// if the payment was accepted.
    Simulate(SimulateArgs),
    /// Print the body of a scenario, for piping into other tools.
    Payload(PayloadArgs),
    /// Check a callback URL against Daraja's rules.
    CheckUrl(CheckUrlArgs),
    /// Look into a durable inbox (SQLite or PostgreSQL): what arrived,
    /// what was handled, what needs reconciling; retry and prune.
    ///
    /// When a customer says "I paid and nothing happened":
    /// `pesakit inbox find <receipt or checkout request id>`.
    Inbox(InboxArgs),
    /// Run Daraja on this machine: OAuth and M-Pesa Express (STK push and
    /// query) answered as Daraja answers, and the callbacks delivered to
    /// the URLs in the requests. Point your Daraja client's base URL at it.
    ///
    /// The amount chooses what the customer does: 1 insufficient funds,
    /// 1019 expired, 1032 cancelled, 1037 no response, 2001 wrong PIN,
    /// anything else paid. `GET /emulator/transactions` lists what happened.
    Emulate(EmulateArgs),
}

#[derive(Debug, Args)]
pub(crate) struct EmulateArgs {
    /// The port to listen on.
    #[arg(long, default_value_t = 8089)]
    pub(crate) port: u16,
    /// Listen on every interface instead of loopback only.
    #[arg(long)]
    pub(crate) public: bool,
    /// Seconds the customer takes to answer a push (Daraja publishes no
    /// figure).
    #[arg(long, default_value_t = 2)]
    pub(crate) result_delay: u64,
    /// Seconds before a queue timeout, for requests that ask for one
    /// (Daraja publishes no figure).
    #[arg(long, default_value_t = 1)]
    pub(crate) queue_timeout_delay: u64,
    /// A PEM file of certificates to trust when delivering to https://
    /// URLs besides the public roots, such as your receiver's self-signed
    /// one; repeatable.
    #[arg(long, value_name = "PEM_FILE")]
    pub(crate) trust_certificate: Vec<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct InboxArgs {
    /// The inbox: `sqlite://PATH` (or a path to the SQLite file) or
    /// `postgres://USER@HOST/DATABASE`.
    #[arg(long, env = "PESAKIT_INBOX_DB", value_name = "URL", default_value = "pesakit-inbox.db")]
    pub(crate) db: String,
    /// PostgreSQL only: the schema the inbox lives in.
    #[arg(long, env = "PESAKIT_INBOX_SCHEMA", default_value = "pesakit")]
    pub(crate) schema: String,
    #[command(subcommand)]
    pub(crate) command: InboxCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum InboxCommand {
    /// Callbacks, newest first.
    List {
        #[command(flatten)]
        filter: InboxFilter,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One callback in full: its delivery, its handling and its body.
    Show {
        /// The inbox id (the first column of `list`).
        id: u64,
    },
    /// Every callback carrying a Daraja id: checkout request id, receipt or
    /// `TransID`, conversation id.
    Find {
        /// The id, as Daraja or the customer gives it.
        daraja_id: String,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// What needs reconciling, and why.
    Reconcile {
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Put a dead, failed or quarantined callback back to pending, after a
    /// fix: the running server takes it up at its next look.
    Retry {
        /// The inbox id.
        id: u64,
    },
    /// Raw bodies with their metadata, one JSON object per line, oldest
    /// first: for an accountant or a bug report.
    Export {
        #[command(flatten)]
        filter: InboxFilter,
    },
    /// Delete callbacks handled successfully longer ago than this; pending,
    /// failed, dead, quarantined and to-reconcile callbacks are kept.
    Prune {
        /// An age: `90d`, `12h`, `30m`.
        #[arg(long, value_name = "AGE")]
        older_than: String,
    },
}

/// Which callbacks `list` and `export` show.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct InboxFilter {
    /// Only this kind: `stk_callback`, `c2b_validation`, `c2b_confirmation`,
    /// `b2c_result`, `queue_timeout`, …
    #[arg(long)]
    pub(crate) kind: Option<String>,
    /// Only this state: `pending`, `done`, `failed`, `dead`, `quarantined`.
    #[arg(long)]
    pub(crate) state: Option<String>,
    /// Only those received since: an age (`2h`, `7d`) or an East Africa
    /// Time date or time (`2026-12-01`, `2026-12-01T14:30`).
    #[arg(long, value_name = "WHEN")]
    pub(crate) since: Option<String>,
    /// Only those received before: as `--since`.
    #[arg(long, value_name = "WHEN")]
    pub(crate) until: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct SimulateArgs {
    /// What to send.
    #[arg(value_enum)]
    pub(crate) scenario: Scenario,
    /// The URL to post to (for `c2b`, the validation URL).
    #[arg(long, value_name = "URL")]
    pub(crate) to: String,
    /// `c2b` only: the confirmation URL, posted when validation accepts.
    #[arg(long, value_name = "URL")]
    pub(crate) confirm: Option<String>,
    /// Seconds to wait for each answer.
    #[arg(long, default_value_t = 10)]
    pub(crate) timeout: u64,
    /// Send as if through a proxy, with `X-Forwarded-For: <ADDRESS>`, to
    /// test a source allowlist behind trusted proxies.
    #[arg(long, value_name = "ADDRESS")]
    pub(crate) forwarded_for: Option<std::net::IpAddr>,
    /// Show requests and responses in full even when not on a terminal.
    #[arg(long, short)]
    pub(crate) verbose: bool,
    #[command(flatten)]
    pub(crate) values: Values,
}

#[derive(Debug, Args)]
pub(crate) struct PayloadArgs {
    /// Which body to print.
    #[arg(value_enum)]
    pub(crate) scenario: Scenario,
    #[command(flatten)]
    pub(crate) values: Values,
}

#[derive(Debug, Args)]
pub(crate) struct CheckUrlArgs {
    /// The callback URL, such as `https://pay.example.co.ke/callbacks/stk`.
    pub(crate) url: String,
    /// Apply the production rules: HTTPS, a public host, no tunnels.
    #[arg(long)]
    pub(crate) production: bool,
    /// The endpoint enforces Safaricom's gateway allowlist
    /// (`SourceGuard::safaricom()`), so a URL without a secret segment is
    /// not a warning.
    #[arg(long)]
    pub(crate) allowlist: bool,
}

/// Values that override the scenario's defaults.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct Values {
    /// Amount in KES, such as `10` or `1500.50`.
    #[arg(long)]
    pub(crate) amount: Option<String>,
    /// Payer's number: `0712345678`, `+254712345678`, `254712345678` or
    /// `712345678`; sent as Daraja sends it, `254712345678`.
    #[arg(long)]
    pub(crate) phone: Option<String>,
    /// C2B account number (`BillRefNumber`).
    #[arg(long)]
    pub(crate) bill_ref: Option<String>,
    /// C2B paybill or till number (`BusinessShortCode`).
    #[arg(long)]
    pub(crate) short_code: Option<String>,
    /// C2B: send the number masked (`2547 ***** 149`), as current
    /// registrations receive it.
    #[arg(long)]
    pub(crate) masked: bool,
    /// Override the result code (failure scenarios).
    #[arg(long)]
    pub(crate) result_code: Option<i64>,
}

/// Every flow the simulator plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Scenario {
    /// STK push paid.
    StkPaid,
    /// STK push cancelled by the customer (1032).
    StkCancelled,
    /// STK push not answered (1037).
    StkTimeout,
    /// STK push with insufficient funds (1).
    StkInsufficientFunds,
    /// STK push with a wrong PIN (2001).
    StkWrongPin,
    /// STK push expired (1019).
    StkExpired,
    /// C2B validation, then confirmation if accepted.
    C2b,
    /// C2B validation request alone (Pay Bill).
    C2bValidation,
    /// C2B confirmation alone (Pay Bill).
    C2bConfirmation,
    /// C2B confirmation of a Buy Goods (till) payment.
    C2bBuyGoods,
    /// B2C payment result, success.
    B2cSuccess,
    /// B2C payment result, failure (2001 unless --result-code).
    B2cFailure,
    /// Account balance result.
    AccountBalance,
    /// Transaction status result.
    TransactionStatus,
    /// Reversal result.
    Reversal,
    /// B2B payment result.
    B2b,
    /// Queue timeout notification.
    QueueTimeout,
}
