//! `pesakit simulate`: post, show the exchange, check the answer.

use std::process::ExitCode;
use std::time::Duration;

use clap::ValueEnum;
use pesakit_emulator::client::{Answer, Poster};
use serde_json::Value;

use crate::cli::{Scenario, SimulateArgs};
use crate::output::Output;
use crate::scenario::{self, Expectation};

/// What a checked answer said.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Acknowledged,
    Accepted { third_party_trans_id: Option<String> },
    Rejected { code: String },
}

pub(crate) fn run(args: &SimulateArgs, output: &Output) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => return output.fail(&format!("cannot start the async runtime: {error}")),
    };
    match runtime.block_on(simulate(args, output)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => output.fail(&message),
    }
}

async fn simulate(args: &SimulateArgs, output: &Output) -> Result<(), String> {
    if args.scenario == Scenario::C2b {
        return c2b_sequence(args, output).await;
    }
    if args.confirm.is_some() {
        return Err("--confirm goes with the `c2b` scenario only".to_owned());
    }
    let built = scenario::build(&args.scenario, &args.values)?;
    let label = args.scenario.to_possible_value().map_or_else(String::new, |value| value.get_name().to_owned());
    exchange(&label, &args.to, built.body, built.expectation, args, output).await.map(|outcome| {
        if let Outcome::Rejected { code } = outcome {
            output.note(&format!("the endpoint rejected the payment with {code}"));
        }
    })
}

/// Validation first; the confirmation only if the payment was accepted.
async fn c2b_sequence(args: &SimulateArgs, output: &Output) -> Result<(), String> {
    let Some(confirm_url) = &args.confirm else {
        return Err("`c2b` plays validation then confirmation: give --confirm <confirmation-url> too".to_owned());
    };
    let (validation, confirmation) = scenario::c2b_pair(&args.values)?;
    let outcome = exchange("c2b validation", &args.to, validation.build(), Expectation::Verdict, args, output).await?;
    match outcome {
        Outcome::Rejected { code } => {
            output.note(&format!(
                "validation rejected the payment with {code}: Daraja sends no confirmation, so neither does the simulator"
            ));
            Ok(())
        }
        Outcome::Accepted { third_party_trans_id } => {
            let confirmation = match &third_party_trans_id {
                Some(id) => confirmation.third_party_trans_id(id),
                None => confirmation,
            };
            exchange("c2b confirmation", confirm_url, confirmation.build(), Expectation::Acknowledgement, args, output)
                .await
                .map(drop)
        }
        Outcome::Acknowledged => Err("a validation answer must accept or reject".to_owned()),
    }
}

/// How the simulator names itself to the endpoint.
const USER_AGENT: &str = concat!("pesakit-simulator/", env!("CARGO_PKG_VERSION"));

async fn exchange(
    label: &str,
    url: &str,
    body: String,
    expectation: Expectation,
    args: &SimulateArgs,
    output: &Output,
) -> Result<Outcome, String> {
    let (timeout, forwarded_for) = (Duration::from_secs(args.timeout.max(1)), args.forwarded_for);
    output.progress(&format!("posting {label} to {url} …"));
    let forwarded = forwarded_for.map(|address| format!("> x-forwarded-for: {address}\n")).unwrap_or_default();
    output.detail(&format!("> POST {url}\n> content-type: application/json\n{forwarded}>\n{}", pretty(&body)));
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::USER_AGENT, http::HeaderValue::from_static(USER_AGENT));
    if let Some(address) = forwarded_for {
        let address = http::HeaderValue::try_from(address.to_string()).map_err(|error| error.to_string())?;
        headers.insert("x-forwarded-for", address);
    }
    let answer = tokio::time::timeout(timeout, Poster::new()?.post(url, body, &headers))
        .await
        .map_err(|_| format!("{url} did not answer within {timeout:?}; Daraja gives up on slow endpoints"))??;
    output.detail(&format!(
        "< {}\n< content-type: {}\n<\n{}",
        answer.status,
        answer.content_type.as_deref().unwrap_or("(none)"),
        pretty(&String::from_utf8_lossy(&answer.body))
    ));
    let outcome = check(&answer, expectation, url)?;
    let summary = match &outcome {
        Outcome::Acknowledged => "acknowledged with 200".to_owned(),
        Outcome::Accepted { third_party_trans_id: Some(id) } => format!("accepted, tagged ThirdPartyTransID {id}"),
        Outcome::Accepted { third_party_trans_id: None } => "accepted".to_owned(),
        Outcome::Rejected { code } => format!("rejected with {code}"),
    };
    output.ok(&format!("{label}: {url} {summary}"));
    Ok(outcome)
}

/// Checks an answer against what Daraja expects for the kind.
fn check(answer: &Answer, expectation: Expectation, url: &str) -> Result<Outcome, String> {
    if answer.status != http::StatusCode::OK {
        let hint = match answer.status.as_u16() {
            404 => "; is the path right?",
            405 => "; the endpoint must accept POST",
            413 => "; the body limit is too small for Daraja's bodies",
            500..=599 => "; the handler failed, see the server's logs",
            _ => "",
        };
        return Err(format!(
            "{url} answered {}: Daraja counts anything but 200 as a failed delivery{hint}",
            answer.status
        ));
    }
    let json: Value = serde_json::from_slice(&answer.body).map_err(|error| {
        format!("{url} answered 200 but the body is not JSON ({error}); Daraja expects a JSON object")
    })?;
    let Some(object) = json.as_object() else {
        return Err(format!("{url} answered 200 with {json}, not a JSON object"));
    };
    let code = object.get("ResultCode");
    match expectation {
        Expectation::Acknowledgement => {
            if code.and_then(Value::as_i64) != Some(0) && code.and_then(Value::as_str) != Some("0") {
                return Err(format!(
                    "{url} answered {json}; the acknowledgement needs ResultCode 0, such as {{\"ResultCode\":0,\"ResultDesc\":\"Accepted\"}}"
                ));
            }
            Ok(Outcome::Acknowledged)
        }
        Expectation::Verdict => {
            let third_party_trans_id =
                object.get("ThirdPartyTransID").and_then(Value::as_str).filter(|id| !id.is_empty()).map(str::to_owned);
            match code {
                Some(Value::String(code)) if code == "0" => Ok(Outcome::Accepted { third_party_trans_id }),
                Some(Value::Number(number)) if number.as_i64() == Some(0) => {
                    Ok(Outcome::Accepted { third_party_trans_id })
                }
                Some(Value::String(code)) if !code.is_empty() => Ok(Outcome::Rejected { code: describe(code) }),
                _ => Err(format!(
                    "{url} answered {json}; a validation answer needs ResultCode \"0\" to accept or a C2B00011–C2B00016 code to reject"
                )),
            }
        }
    }
}

fn describe(code: &str) -> String {
    let meaning = match code {
        "C2B00011" => "Invalid MSISDN",
        "C2B00012" => "Invalid Account Number",
        "C2B00013" => "Invalid Amount",
        "C2B00014" => "Invalid KYC Details",
        "C2B00015" => "Invalid Shortcode",
        "C2B00016" => "Other Error",
        _ => "a custom code",
    };
    format!("{code} ({meaning})")
}

fn pretty(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|json| serde_json::to_string_pretty(&json).ok())
        .unwrap_or_else(|| body.to_owned())
}
