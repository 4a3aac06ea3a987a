//! `pesakit`: simulate Daraja callbacks against your endpoints, print the
//! bodies Daraja would send, check callback URLs before go-live, look into a
//! durable inbox, and run Daraja's API on this machine.

mod check_url;
mod cli;
mod emulate;
mod inbox;
mod output;
mod scenario;
mod simulate;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let verbose = matches!(&cli.command, cli::Command::Simulate(args) if args.verbose);
    let output = output::Output::detect(verbose);
    match cli.command {
        cli::Command::Simulate(args) => simulate::run(&args, &output),
        cli::Command::Payload(args) => match scenario::build(&args.scenario, &args.values) {
            Ok(built) => {
                println!("{}", built.body);
                ExitCode::SUCCESS
            }
            Err(message) => output.fail(&message),
        },
        cli::Command::CheckUrl(args) => check_url::run(&args.url, args.production, args.allowlist, &output),
        cli::Command::Inbox(args) => inbox::run(&args, &output),
        cli::Command::Emulate(args) => emulate::run(&args, &output),
    }
}
