//! What the tool prints: colour and detail only on a terminal, quiet in CI.

use std::io::IsTerminal;
use std::process::ExitCode;

/// How much to print, and whether in colour.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Output {
    colour: bool,
    detailed: bool,
}

impl Output {
    /// Colour on a terminal unless `NO_COLOR` or `CI` is set; full
    /// exchanges on a terminal or with `simulate --verbose`.
    pub(crate) fn detect(verbose: bool) -> Self {
        let terminal = std::io::stdout().is_terminal();
        let in_ci = std::env::var_os("CI").is_some();
        let colour = terminal && !in_ci && std::env::var_os("NO_COLOR").is_none();
        Self { colour, detailed: verbose || (terminal && !in_ci) }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.colour { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
    }

    /// A passing check.
    pub(crate) fn ok(&self, message: &str) {
        println!("{} {message}", self.paint("32", "ok"));
    }

    /// A note that does not fail the run.
    pub(crate) fn note(&self, message: &str) {
        println!("{} {message}", self.paint("33", "note"));
    }

    /// A failed check, printed where it happens: on standard error, so that
    /// a pipe from standard output carries only what was asked for.
    pub(crate) fn problem(&self, message: &str) {
        eprintln!("{} {message}", self.paint("31", "error"));
    }

    /// A failure that ends the run.
    pub(crate) fn fail(&self, message: &str) -> ExitCode {
        self.problem(message);
        ExitCode::FAILURE
    }

    /// Detail shown only on a terminal or with `simulate --verbose`.
    pub(crate) fn detail(&self, text: &str) {
        if self.detailed {
            println!("{}", self.paint("2", text));
        }
    }

    /// Progress, only on a terminal.
    pub(crate) fn progress(&self, text: &str) {
        if self.colour {
            eprintln!("{}", self.paint("2", text));
        }
    }
}
