//! `pesakit emulate` starts the Daraja emulator on the port asked, says
//! where, and answers Daraja's paths there.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

#[test]
fn emulate_serves_daraja_on_the_port_asked_and_says_where() {
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr()).expect("a port").port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pesakit"))
        .args(["emulate", "--port", &port.to_string()])
        .env("CI", "true")
        .stdout(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let first = lines.next().expect("a line").expect("readable");
    assert!(first.contains(&format!("http://127.0.0.1:{port}")), "{first}");

    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("listening");
    stream
        .write_all(
            b"GET /oauth/v1/generate?grant_type=client_credentials HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .expect("sent");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("an answer");
    child.kill().expect("stopped");
    child.wait().expect("reaped");
    assert!(answer.starts_with("HTTP/1.1 400"), "no Basic credentials: {answer}");
    assert!(answer.contains(r#""errorCode":"400.008.01""#), "{answer}");
}

#[test]
fn a_certificate_file_that_cannot_be_trusted_stops_it_with_the_reason() {
    let empty = std::env::temp_dir().join(format!("pesakit-emulate-empty-{}.pem", std::process::id()));
    std::fs::write(&empty, "no certificate here\n").expect("written");
    for (file, said) in [
        (
            std::path::PathBuf::from("/nonexistent/receiver.pem"),
            "cannot read certificates from /nonexistent/receiver.pem",
        ),
        (empty.clone(), "holds no PEM certificate"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_pesakit"))
            .args(["emulate", "--port", "0", "--trust-certificate"])
            .arg(&file)
            .env("CI", "true")
            .output()
            .expect("the binary runs");
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(!output.status.success(), "{text}");
        assert!(text.contains(said), "{text}");
    }
    std::fs::remove_file(&empty).ok();
}
