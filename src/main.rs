//! The command line: logging, a dispatch to one function per command, and the one place
//! where errors become messages and exit codes. The flags are in `cli.rs`; what a command
//! prints is the `Display` of what the library returns.

mod cli;

use std::fmt::Display;
use std::io::{IsTerminal, Write};

use chrono::Utc;
use clap::Parser;
use cli::{
    CampaignArgs, Cli, Command, ConfigArg, IngestArgs, LogFormat, OpenArgs, ReviewCommand, RunArgs,
    VerifyArgs, WhatifArgs, WhatifFormat,
};
use permaudit::error::{Error, ExitCode, Result};
use permaudit::pipeline::{self, Inputs};
use permaudit::review;
use permaudit::run::{run_range, RunFlags};

// Hundreds of millions of short-lived strings and hash tables per night: glibc's allocator
// spent a sixth of ingest in malloc/free and kept freed pages, so RSS grew with every
// partition. mimalloc returns them and is faster on this workload (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    // Bars only for a person watching: never in cron mail, files, pipes or JSON logs.
    permaudit::progress::enable(
        matches!(cli.log_format, LogFormat::Text) && std::io::stderr().is_terminal(),
    );
    match execute(cli.command) {
        Ok(code) => code.into(),
        Err(e) => {
            let message = with_causes(&e);
            tracing::error!(code = e.exit_code().code(), "{message}");
            let _ = writeln!(std::io::stderr(), "permaudit: error: {message}");
            e.exit_code().into()
        }
    }
}

/// The error and its causes (`source()`), each said once: a message that already ends with
/// its cause's text, as the I/O and polars errors do, is not repeated.
fn with_causes(e: &Error) -> String {
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let said = c.to_string();
        if !text.ends_with(&said) {
            text = format!("{text}: {said}");
        }
        cause = c.source();
    }
    text
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PERMAUDIT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(|| permaudit::progress::LogWriter);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// Prints to stdout. A closed pipe (`| head`) is not an error: the work is done or still
/// worth finishing, and its outcome is in the exit code and the log.
fn say(what: impl Display) {
    let _ = writeln!(std::io::stdout(), "{what}");
}

fn execute(command: Command) -> Result<ExitCode> {
    match command {
        Command::Run(args) => run(args),
        Command::Check(config) => check(config),
        Command::Verify(args) => verify(args),
        Command::Keygen(args) => {
            say(permaudit::signing::keygen(&args.out)?);
            Ok(ExitCode::Success)
        }
        Command::Generate(args) => {
            say(permaudit::generate::generate(&args.into())?);
            Ok(ExitCode::Success)
        }
        Command::Import(args) => {
            say(permaudit::import::import(&args.into())?);
            Ok(ExitCode::Success)
        }
        Command::Whatif(args) => whatif(args),
        Command::Review(ReviewCommand::Open(args)) => review_open(args),
        Command::Review(ReviewCommand::Ingest(args)) => review_ingest(args),
        Command::Review(ReviewCommand::Status(args)) => review_status(args),
        Command::Review(ReviewCommand::Close(args)) => review_close(args),
    }
}

fn run(args: RunArgs) -> Result<ExitCode> {
    let place = args.place.resolve()?;
    let dates = args.dates(&place.cfg)?;
    let flags = RunFlags {
        strict: args.strict,
        full: args.full,
    };
    let mut failing = false;
    run_range(&place.cfg, &dates, &place.out_dir, flags, |summary| {
        say(summary);
        failing |= args.fail_on.is_some_and(|min| summary.has_at_or_above(min));
    })?;
    Ok(if failing {
        ExitCode::FindingsAtOrAbove
    } else {
        ExitCode::Success
    })
}

fn check(config: ConfigArg) -> Result<ExitCode> {
    let cfg = config.load()?;
    // The key a run would sign with, read as the run reads it (a warning, not --strict).
    if let Some(key) = &cfg.signing_key {
        permaudit::signing::ManifestSigner::load(key, &cfg.source, false)?;
    }
    say(pipeline::check(&Inputs::from(&cfg))?);
    Ok(ExitCode::Success)
}

/// The added findings on stdout, the summary line on stderr: a ticket workflow reads the
/// findings and branches on the exit code. Takes no lock: nothing is written.
fn whatif(args: WhatifArgs) -> Result<ExitCode> {
    let cfg = args.config.load()?;
    let result = permaudit::whatif::whatif(&permaudit::whatif::WhatIfOptions {
        inputs: Inputs::from(&cfg),
        as_of: args.as_of(&cfg),
        out: &cfg.out_dir,
        grants: &args.grants,
    })?;
    let stdout = std::io::stdout();
    match args.format {
        // No added finding prints nothing, so that "empty output" means "nothing added".
        WhatifFormat::Csv if result.added.height() == 0 => {}
        WhatifFormat::Csv => result.write_csv(stdout.lock())?,
        WhatifFormat::Json => say(result.to_json()?),
    }
    let _ = writeln!(std::io::stderr(), "{result}");
    Ok(if result.has_at_or_above(args.fail_on)? {
        ExitCode::FindingsAtOrAbove
    } else {
        ExitCode::Success
    })
}

fn verify(args: VerifyArgs) -> Result<ExitCode> {
    let checks = permaudit::verify::Checks {
        public_key: args
            .public_key
            .as_deref()
            .map(permaudit::signing::PublicKey::load)
            .transpose()?,
        anchors: args.anchor,
    };
    let report = permaudit::verify::verify(&args.place.out_dir()?, &checks)?;
    say(&report);
    report.failure()?;
    Ok(ExitCode::Success)
}

fn review_open(args: OpenArgs) -> Result<ExitCode> {
    let place = args.place.resolve()?;
    let _lock = permaudit::lock::acquire(&place.out_dir)?;
    let opened = review::open::open(&review::open::OpenOptions {
        inputs: Inputs::from(&place.cfg),
        config_sha256: &place.cfg.sha256,
        templates_dir: place.cfg.templates_dir.as_deref(),
        out: &place.out_dir,
        jurisdiction: &args.jurisdiction,
        as_of: args.as_of(&place.cfg),
        due: args.due,
        on_no_response: args.on_no_response,
    })?;
    say(opened);
    Ok(ExitCode::Success)
}

fn review_ingest(args: IngestArgs) -> Result<ExitCode> {
    let place = args.place.resolve()?;
    let _lock = permaudit::lock::acquire(&place.out_dir)?;
    say(review::ingest::ingest(
        &place.out_dir,
        &args.campaign,
        &args.files,
        args.at.unwrap_or_else(Utc::now),
        place.cfg.templates_dir.as_deref(),
    )?);
    Ok(ExitCode::Success)
}

fn review_status(args: CampaignArgs) -> Result<ExitCode> {
    let place = args.place.resolve()?;
    let stored = review::Stored::load(&place.out_dir, &args.campaign)?;
    say(review::status::status(
        &stored,
        args.at.unwrap_or_else(Utc::now),
    ));
    Ok(ExitCode::Success)
}

fn review_close(args: CampaignArgs) -> Result<ExitCode> {
    let place = args.place.resolve()?;
    let _lock = permaudit::lock::acquire(&place.out_dir)?;
    say(review::close::close(
        &place.out_dir,
        &args.campaign,
        args.at.unwrap_or_else(Utc::now),
        place.cfg.templates_dir.as_deref(),
    )?);
    Ok(ExitCode::Success)
}
