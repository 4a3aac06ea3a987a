//! `pesakit emulate`: the Daraja emulator on a fixed port, loopback only
//! unless asked, until Ctrl-C.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use pesakit_emulator::{Emulator, SANDBOX_SHORT_CODE};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::cli::EmulateArgs;
use crate::output::Output;

pub(crate) fn run(args: &EmulateArgs, output: &Output) -> ExitCode {
    let host = if args.public { Ipv4Addr::UNSPECIFIED } else { Ipv4Addr::LOCALHOST };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => return output.fail(&format!("cannot start: {error}")),
    };
    let mut emulator = Emulator::new()
        .result_delay(Duration::from_secs(args.result_delay))
        .queue_timeout_delay(Duration::from_secs(args.queue_timeout_delay));
    for path in &args.trust_certificate {
        let certificates = match CertificateDer::pem_file_iter(path).and_then(Iterator::collect::<Result<Vec<_>, _>>) {
            Ok(certificates) if !certificates.is_empty() => certificates,
            Ok(_) => return output.fail(&format!("{} holds no PEM certificate", path.display())),
            Err(error) => return output.fail(&format!("cannot read certificates from {}: {error}", path.display())),
        };
        for certificate in certificates {
            emulator = emulator.trust_certificate(certificate);
        }
    }
    runtime.block_on(async {
        let running = match emulator.start(SocketAddr::from((host, args.port))).await {
            Ok(running) => running,
            Err(error) => return output.fail(&format!("cannot listen on port {}: {error} (try --port)", args.port)),
        };
        output.ok(&format!(
            "Daraja emulator on {}: use it as your client's base URL (short code {SANDBOX_SHORT_CODE}, its public passkey, any consumer key)",
            running.base_url()
        ));
        println!("what happened: {}/emulator/transactions", running.base_url());
        if let Err(error) = tokio::signal::ctrl_c().await {
            return output.fail(&format!("cannot wait for Ctrl-C: {error}"));
        }
        running.shutdown();
        ExitCode::SUCCESS
    })
}
