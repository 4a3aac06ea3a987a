//! `pesakit inbox`: what a support engineer asks of the durable inbox, on
//! either store. Everything shown came from a request, so every text is
//! escaped before it reaches the terminal.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use pesakit::inbox::{CallbackState, InboxStore, ListFilter, PostgresStore, SqliteStore, StoredCallback};
use pesakit::record::RecordId;
use pesakit::{B2cParams, C2bPayment, CallbackKind, DarajaResult, EAT, StkCallback, StkOutcome};
use serde_json::json;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use crate::cli::{InboxArgs, InboxCommand, InboxFilter};
use crate::output::Output;

/// Longest note (error, reconciliation reason) shown in a table cell.
const NOTE_WIDTH: usize = 60;

pub(crate) fn run(args: &InboxArgs, output: &Output) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => return output.fail(&format!("cannot start: {error}")),
    };
    match runtime.block_on(execute(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => output.fail(&message),
    }
}

async fn execute(args: &InboxArgs) -> Result<(), String> {
    let store = open(&args.db, &args.schema).await?;
    let fail = |error: pesakit::inbox::StoreError| format!("{error:#}");
    match &args.command {
        InboxCommand::List { filter, limit, json } => {
            let filter = ListFilter { limit: Some(*limit), ..list_filter(filter, SystemTime::now())? };
            print_callbacks(&store.list(filter).await.map_err(fail)?, *json);
        }
        InboxCommand::Show { id } => match store.get(RecordId(*id)).await.map_err(fail)? {
            Some(callback) => {
                let others = deliveries(&*store, &callback).await.map_err(fail)?;
                print!("{}{}", details(&callback), other_deliveries(&callback, &others));
            }
            None => return Err(format!("no callback {id} in this inbox: `pesakit inbox list` shows the ids")),
        },
        InboxCommand::Find { daraja_id, json } => {
            let found = store.find(daraja_id.clone()).await.map_err(fail)?;
            if found.is_empty() && !json {
                return Err(format!(
                    "no callback carries {}: it never arrived here, or it was pruned",
                    printable(daraja_id)
                ));
            }
            print_callbacks(&found, *json);
        }
        InboxCommand::Reconcile { json } => {
            let marked =
                store.list(ListFilter { needs_reconciliation: true, ..ListFilter::default() }).await.map_err(fail)?;
            if *json {
                print_callbacks(&marked, true);
            } else if marked.is_empty() {
                println!("nothing needs reconciling");
            } else {
                let mut earlier = Vec::new();
                for callback in &marked {
                    earlier.push(previous_delivery(&deliveries(&*store, callback).await.map_err(fail)?, callback));
                }
                print!("{}", reconcile_table(&marked, &earlier));
            }
        }
        InboxCommand::Retry { id } => {
            if store.retry(RecordId(*id), SystemTime::now()).await.map_err(fail)? {
                println!("callback {id} is pending again: the running server takes it up at its next look");
            } else {
                let state = store.get(RecordId(*id)).await.map_err(fail)?.map(|callback| callback.state);
                return Err(match state {
                    Some(state) => {
                        format!("callback {id} is {state}: only dead, failed and quarantined ones are retried")
                    }
                    None => format!("no callback {id} in this inbox: `pesakit inbox list` shows the ids"),
                });
            }
        }
        InboxCommand::Export { filter } => {
            let mut callbacks = store.list(list_filter(filter, SystemTime::now())?).await.map_err(fail)?;
            callbacks.reverse();
            for callback in &callbacks {
                println!("{}", export_line(callback));
            }
        }
        InboxCommand::Prune { older_than } => {
            let age = parse_age(older_than)?;
            let before = SystemTime::now().checked_sub(age).unwrap_or(SystemTime::UNIX_EPOCH);
            let pruned = store.prune(before).await.map_err(fail)?;
            println!("pruned {pruned} callbacks handled before {}", eat(before));
        }
    }
    Ok(())
}

/// Every delivery of `callback`'s kind and dedupe key, itself included,
/// in the order they arrived.
async fn deliveries(
    store: &dyn InboxStore,
    callback: &StoredCallback,
) -> Result<Vec<StoredCallback>, pesakit::inbox::StoreError> {
    let Some(key) = &callback.dedupe_key else { return Ok(vec![callback.clone()]) };
    let mut found = store.find(key.clone()).await?;
    found.retain(|other| other.arrived.kind == callback.arrived.kind && other.dedupe_key.as_ref() == Some(key));
    found.sort_by_key(|other| other.delivery);
    Ok(found)
}

/// The delivery that came just before `callback`, among `deliveries`.
fn previous_delivery(deliveries: &[StoredCallback], callback: &StoredCallback) -> Option<StoredCallback> {
    deliveries.iter().rev().find(|other| other.delivery < callback.delivery).cloned()
}

/// The fields in which two deliveries differ, one `path: earlier → later`
/// each, escaped.
fn changes(earlier: &StoredCallback, later: &StoredCallback) -> Vec<String> {
    pesakit::inbox::differing_fields(&earlier.arrived.body, &later.arrived.body)
        .into_iter()
        .map(|change| {
            let side = |value: Option<String>| value.map_or_else(|| "(none)".to_owned(), |value| printable(&value));
            format!("{}: {} → {}", printable(&change.path), side(change.earlier), side(change.later))
        })
        .collect()
}

/// For `show`: the callback's other deliveries and what differs from each.
fn other_deliveries(callback: &StoredCallback, deliveries: &[StoredCallback]) -> String {
    let mut text = String::new();
    for other in deliveries.iter().filter(|other| other.id != callback.id) {
        let (earlier, later) = if other.delivery < callback.delivery { (other, callback) } else { (callback, other) };
        let _ = writeln!(
            text,
            "delivery {} (id {}, received {}, {}) differs in:",
            other.delivery,
            other.id,
            eat(other.arrived.received_at),
            other.state
        );
        for change in changes(earlier, later) {
            let _ = writeln!(text, "  {change}");
        }
    }
    text
}

/// The store named by `--db`.
async fn open(db: &str, schema: &str) -> Result<Box<dyn InboxStore>, String> {
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        let store = PostgresStore::builder(db).schema(schema).max_connections(2).connect().await;
        return store.map(|store| Box::new(store) as Box<dyn InboxStore>).map_err(|error| error.to_string());
    }
    let path = db.strip_prefix("sqlite://").unwrap_or(db);
    if path.contains("://") {
        return Err(format!("--db {db}: use sqlite://PATH, a path to the SQLite file, or postgres://…"));
    }
    SqliteStore::open_existing(path)
        .map(|store| Box::new(store) as Box<dyn InboxStore>)
        .map_err(|error| error.to_string())
}

fn list_filter(filter: &InboxFilter, now: SystemTime) -> Result<ListFilter, String> {
    let kind = filter
        .kind
        .as_deref()
        .map(|name| {
            CallbackKind::from_attribute_name(&name.replace('-', "_")).ok_or_else(|| {
                let names: Vec<_> = CallbackKind::ALL.iter().map(|kind| kind.attribute_name()).collect();
                format!("--kind {name}: not a callback kind; one of {}", names.join(", "))
            })
        })
        .transpose()?;
    let state = filter
        .state
        .as_deref()
        .map(|name| {
            CallbackState::from_name(name).ok_or_else(|| {
                let names: Vec<_> = CallbackState::ALL.iter().map(|state| state.as_str()).collect();
                format!("--state {name}: not a state; one of {}", names.join(", "))
            })
        })
        .transpose()?;
    let moment = |flag: &str, text: &Option<String>| {
        text.as_deref().map(|text| parse_moment(text, now).map_err(|why| format!("--{flag} {text}: {why}"))).transpose()
    };
    Ok(ListFilter {
        kind,
        state,
        since: moment("since", &filter.since)?,
        until: moment("until", &filter.until)?,
        ..ListFilter::default()
    })
}

/// An age (`90d`, `12h`, `30m`, `45s`).
fn parse_age(text: &str) -> Result<Duration, String> {
    let split = text.find(|character: char| !character.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 =
        number.parse().map_err(|_| format!("{text}: an age is a number and a unit, such as 90d or 12h"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 60 * 60,
        "d" => 24 * 60 * 60,
        _ => return Err(format!("{text}: the unit is s, m, h or d, such as 90d or 12h")),
    };
    Ok(Duration::from_secs(number.saturating_mul(seconds)))
}

/// An age before `now`, or a date or time in East Africa Time.
fn parse_moment(text: &str, now: SystemTime) -> Result<SystemTime, String> {
    if text.ends_with(['s', 'm', 'h', 'd']) {
        return parse_age(text).map(|age| now.checked_sub(age).unwrap_or(SystemTime::UNIX_EPOCH));
    }
    let (date, time) = text.split_once(['T', ' ']).unwrap_or((text, "00:00"));
    let number = |part: Option<&str>| part.and_then(|part| part.parse::<u16>().ok());
    let mut date_parts = date.split('-');
    let (year, month, day) = (number(date_parts.next()), number(date_parts.next()), number(date_parts.next()));
    let mut time_parts = time.split(':');
    let (hour, minute) = (number(time_parts.next()), number(time_parts.next()));
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), None, None) =
        (year, month, day, hour, minute, date_parts.next(), time_parts.next())
    else {
        return Err("use an age (2h, 7d), a date (2026-12-01) or a date and time (2026-12-01T14:30), in EAT".to_owned());
    };
    let month = u8::try_from(month).ok().and_then(|month| Month::try_from(month).ok());
    let date = month.and_then(|month| Date::from_calendar_date(i32::from(year), month, u8::try_from(day).ok()?).ok());
    let time = Time::from_hms(u8::try_from(hour).unwrap_or(u8::MAX), u8::try_from(minute).unwrap_or(u8::MAX), 0).ok();
    match (date, time) {
        (Some(date), Some(time)) => Ok(PrimitiveDateTime::new(date, time).assume_offset(EAT).into()),
        _ => Err("not a real date and time".to_owned()),
    }
}

/// `2026-12-01 14:30:05 EAT`.
fn eat(moment: SystemTime) -> String {
    let local = OffsetDateTime::from(moment).to_offset(EAT);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} EAT",
        local.year(),
        u8::from(local.month()),
        local.day(),
        local.hour(),
        local.minute(),
        local.second()
    )
}

/// RFC 3339 in East Africa Time, for JSON.
fn eat_rfc3339(moment: SystemTime) -> String {
    let local = OffsetDateTime::from(moment).to_offset(EAT);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+03:00",
        local.year(),
        u8::from(local.month()),
        local.day(),
        local.hour(),
        local.minute(),
        local.second(),
        local.millisecond()
    )
}

/// `text` with control characters (a terminal's escape sequences among
/// them) written as escapes.
fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|character| {
            let escaped: Vec<char> =
                if character.is_control() { character.escape_default().collect() } else { vec![character] };
            escaped
        })
        .collect()
}

/// At most `width` characters of `text`, escaped, with `…` when cut.
fn cell(text: &str, width: usize) -> String {
    let text = printable(text);
    if text.chars().count() <= width {
        text
    } else {
        let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// The amount a callback moved, in KES, when its kind carries one.
fn amount(callback: &StoredCallback) -> Option<String> {
    let body = std::str::from_utf8(&callback.arrived.body).ok()?;
    let amount = match callback.arrived.kind {
        CallbackKind::StkCallback => match StkCallback::try_from(body).ok()?.outcome() {
            StkOutcome::Paid(payment) => Some(payment.amount),
            _ => None,
        },
        CallbackKind::C2bValidation | CallbackKind::C2bConfirmation => {
            Some(C2bPayment::try_from(body).ok()?.trans_amount)
        }
        CallbackKind::B2cResult => DarajaResult::<B2cParams>::try_from(body).ok()?.params.transaction_amount,
        _ => None,
    };
    amount.map(|amount| format!("KES {amount}"))
}

/// What to say about a callback in one cell: why it needs reconciling, or
/// its last error.
fn note(callback: &StoredCallback) -> String {
    callback.needs_reconciliation.as_deref().or(callback.last_error.as_deref()).unwrap_or("").to_owned()
}

fn print_callbacks(callbacks: &[StoredCallback], json: bool) {
    if json {
        for callback in callbacks {
            println!("{}", summary_json(callback));
        }
    } else {
        print!("{}", table(callbacks));
    }
}

fn table(callbacks: &[StoredCallback]) -> String {
    let rows: Vec<[String; 9]> = callbacks
        .iter()
        .map(|callback| {
            [
                callback.id.to_string(),
                eat(callback.arrived.received_at),
                callback.arrived.kind.attribute_name().to_owned(),
                callback.state.to_string(),
                format!("{}/{}", callback.attempts, callback.seen_count),
                cell(callback.dedupe_key.as_deref().unwrap_or("-"), 40),
                callback.delivery.to_string(),
                amount(callback).unwrap_or_else(|| "-".to_owned()),
                cell(&note(callback), NOTE_WIDTH),
            ]
        })
        .collect();
    let header =
        ["ID", "RECEIVED", "KIND", "STATE", "RUNS/SEEN", "KEY", "DELIVERY", "AMOUNT", "NOTE"].map(str::to_owned);
    aligned(&header, &rows)
}

/// What needs reconciling, and under each conflicting delivery the fields
/// in which it differs from the delivery before it (`earlier`, one per
/// callback).
fn reconcile_table(callbacks: &[StoredCallback], earlier: &[Option<StoredCallback>]) -> String {
    let rows: Vec<[String; 6]> = callbacks
        .iter()
        .map(|callback| {
            [
                callback.id.to_string(),
                eat(callback.arrived.received_at),
                callback.arrived.kind.attribute_name().to_owned(),
                cell(callback.dedupe_key.as_deref().unwrap_or("-"), 40),
                callback.delivery.to_string(),
                cell(callback.needs_reconciliation.as_deref().unwrap_or(""), 80),
            ]
        })
        .collect();
    let table = aligned(&["ID", "RECEIVED", "KIND", "KEY", "DELIVERY", "WHY"].map(str::to_owned), &rows);
    let mut text = String::new();
    for ((line, callback), earlier) in table.lines().skip(1).zip(callbacks).zip(earlier) {
        let _ = writeln!(text, "{line}");
        if let Some(earlier) = earlier {
            let _ = writeln!(text, "    differs from delivery {} (id {}):", earlier.delivery, earlier.id);
            for change in changes(earlier, callback) {
                let _ = writeln!(text, "      {change}");
            }
        }
    }
    format!("{}\n{text}", table.lines().next().unwrap_or_default())
}

/// Columns padded to their widest cell; the last is not padded.
fn aligned<const N: usize>(header: &[String; N], rows: &[[String; N]]) -> String {
    let mut widths = header.clone().map(|title| title.chars().count());
    for row in rows {
        for (width, value) in widths.iter_mut().zip(row) {
            *width = (*width).max(value.chars().count());
        }
    }
    let mut text = String::new();
    for row in std::iter::once(header).chain(rows) {
        let mut line = String::new();
        for (index, (value, width)) in row.iter().zip(widths).enumerate() {
            if index + 1 == N {
                line.push_str(value);
            } else {
                let _ = write!(line, "{value:<width$}  ");
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// Everything about one callback, for `show`.
fn details(callback: &StoredCallback) -> String {
    let mut text = String::new();
    let optional = |value: Option<&str>| value.map_or_else(|| "-".to_owned(), printable);
    let time = |value: Option<SystemTime>| value.map_or_else(|| "-".to_owned(), eat);
    let ids: Vec<String> = callback
        .secondary_ids
        .iter()
        .map(|(name, value)| format!("{}={}", printable(name), printable(value)))
        .collect();
    let lines = [
        ("id", callback.id.to_string()),
        ("kind", callback.arrived.kind.attribute_name().to_owned()),
        ("route", printable(&callback.arrived.route_path)),
        ("state", callback.state.to_string()),
        ("key", optional(callback.dedupe_key.as_deref())),
        ("delivery", callback.delivery.to_string()),
        ("other ids", if ids.is_empty() { "-".to_owned() } else { ids.join(", ") }),
        ("amount", amount(callback).unwrap_or_else(|| "-".to_owned())),
        ("received", eat(callback.arrived.received_at)),
        ("last seen", eat(callback.last_seen_at)),
        ("copies", callback.seen_count.to_string()),
        ("handler runs", callback.attempts.to_string()),
        ("next run", time(callback.next_attempt_at)),
        ("settled", time(callback.settled_at)),
        ("last error", optional(callback.last_error.as_deref())),
        ("verdict", callback.verdict.as_ref().map_or_else(|| "-".to_owned(), |verdict| printable(&verdict.code))),
        ("reconcile", optional(callback.needs_reconciliation.as_deref())),
        ("peer", callback.arrived.peer.map_or_else(|| "-".to_owned(), |peer| peer.to_string())),
        ("client", callback.arrived.client.map_or_else(|| "-".to_owned(), |client| client.to_string())),
        ("content type", optional(callback.arrived.content_type.as_deref())),
        ("forwarded", optional(callback.arrived.forwarded.as_deref())),
    ];
    for (name, value) in lines {
        let _ = writeln!(text, "{name:<13} {value}");
    }
    // As received, byte for byte where it is text: re-formatting would
    // change amounts (`1500.00` is not `1500.0`) and the order of fields.
    let body: String =
        String::from_utf8_lossy(&callback.arrived.body).split('\n').map(printable).collect::<Vec<_>>().join("\n");
    let _ = writeln!(text, "body\n{body}");
    text
}

/// One line of `list --json`, `find --json` and `reconcile --json`.
fn summary_json(callback: &StoredCallback) -> serde_json::Value {
    let time = |value: Option<SystemTime>| value.map(eat_rfc3339);
    json!({
        "id": callback.id.0,
        "kind": callback.arrived.kind.attribute_name(),
        "state": callback.state.as_str(),
        "dedupe_key": callback.dedupe_key,
        "delivery": callback.delivery,
        "secondary_ids": callback.secondary_ids,
        "amount_kes": amount(callback).map(|amount| amount.trim_start_matches("KES ").to_owned()),
        "received_at": eat_rfc3339(callback.arrived.received_at),
        "last_seen_at": eat_rfc3339(callback.last_seen_at),
        "seen_count": callback.seen_count,
        "attempts": callback.attempts,
        "next_attempt_at": time(callback.next_attempt_at),
        "settled_at": time(callback.settled_at),
        "last_error": callback.last_error,
        "verdict": callback.verdict.as_ref().map(|verdict| &verdict.code),
        "needs_reconciliation": callback.needs_reconciliation,
    })
}

/// One line of `export`: the summary, where it came from, and the body as
/// received (text when it is UTF-8, else hexadecimal).
fn export_line(callback: &StoredCallback) -> serde_json::Value {
    let mut line = summary_json(callback);
    let arrived = &callback.arrived;
    let body = match std::str::from_utf8(&arrived.body) {
        Ok(text) => json!({ "body": text }),
        Err(_) => json!({ "body_hex": arrived.body.iter().map(|byte| format!("{byte:02x}")).collect::<String>() }),
    };
    let extra = json!({
        "route_path": arrived.route_path,
        "content_type": arrived.content_type,
        "forwarded": arrived.forwarded,
        "peer": arrived.peer.map(|peer| peer.to_string()),
        "client": arrived.client.map(|client| client.to_string()),
    });
    if let (Some(line), Some(extra), Some(body)) = (line.as_object_mut(), extra.as_object(), body.as_object()) {
        line.extend(extra.clone());
        line.extend(body.clone());
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_moments_parse_as_support_engineers_write_them() {
        assert_eq!(parse_age("90d"), Ok(Duration::from_secs(90 * 86_400)));
        assert_eq!(parse_age("12h"), Ok(Duration::from_secs(12 * 3_600)));
        assert!(parse_age("12").unwrap_err().contains("unit"));
        assert!(parse_age("d").unwrap_err().contains("number"));
        let now = SystemTime::now();
        assert_eq!(parse_moment("2h", now), Ok(now - Duration::from_secs(7_200)));
        let noon_eat = parse_moment("2026-12-01T12:00", now).expect("a time");
        assert_eq!(eat(noon_eat), "2026-12-01 12:00:00 EAT");
        assert_eq!(eat(parse_moment("2026-12-01", now).expect("a date")), "2026-12-01 00:00:00 EAT");
        assert!(parse_moment("2026-02-30", now).is_err(), "no such day");
        assert!(parse_moment("yesterday", now).is_err());
    }

    #[test]
    fn texts_from_requests_cannot_drive_the_terminal() {
        assert_eq!(printable("ok\u{1b}[31mred\n"), "ok\\u{1b}[31mred\\n");
        assert_eq!(cell("abcdef", 4), "abc…");
        assert_eq!(cell("abc", 4), "abc");
    }
}
