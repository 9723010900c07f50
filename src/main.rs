//! The command line: parsing, logging, and the one place where errors become messages and
//! exit codes.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{NaiveDate, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use permaudit::config::RunConfig;
use permaudit::error::Result;
use permaudit::pipeline::{self, Inputs};
use permaudit::run::{run, RunOptions};

const EXIT_CODES: &str = "Exit codes: 0 success; 1 findings at or above --fail-on; 2 bad input, \
configuration or policy (nothing written); 3 another run holds the lock; 4 internal or I/O error.";

#[derive(Parser)]
#[command(name = "permaudit", version, about = "Access-control and audit-log compliance for payment platforms", after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, PartialOrd, Ord)]
enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole pipeline for one day and write OUT/<as_of>/.
    #[command(after_help = EXIT_CODES)]
    Run {
        /// Run configuration (default: permaudit.toml in the working directory).
        #[arg(long, default_value = "permaudit.toml")]
        config: PathBuf,
        /// Day to evaluate (default: the configuration's `as_of`, else yesterday in UTC).
        #[arg(long)]
        as_of: Option<NaiveDate>,
        /// Output directory (overrides the configuration's out_dir).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Any quarantined row is fatal (exit 2).
        #[arg(long)]
        strict: bool,
        /// Exit 1 when a finding of this severity or above exists.
        #[arg(long, value_enum)]
        fail_on: Option<Severity>,
    },
    /// Validate configuration, policy and inputs without writing anything.
    #[command(after_help = EXIT_CODES)]
    Check {
        #[arg(long, default_value = "permaudit.toml")]
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match execute(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            tracing::error!(code = e.exit_code(), "{e}");
            let _ = writeln!(std::io::stderr(), "permaudit: error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PERMAUDIT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// Prints a line to stdout; a closed pipe (e.g. `| head`) is not an error.
fn say(line: &str) {
    let _ = writeln!(std::io::stdout(), "{line}");
}

fn execute(command: Command) -> Result<u8> {
    match command {
        Command::Run {
            config,
            as_of,
            out,
            strict,
            fail_on,
        } => {
            let cfg = RunConfig::load(&config)?;
            let as_of = as_of.or(cfg.as_of).unwrap_or_else(yesterday);
            let out_dir = out.unwrap_or_else(|| cfg.out_dir.clone());
            let s = run(
                &cfg,
                &RunOptions {
                    as_of,
                    out_dir,
                    strict,
                },
            )?;
            let sev = |k: &str| s.by_severity.get(k).copied().unwrap_or(0);
            say(&format!(
                "permaudit run as_of={} status=ok findings={} critical={} high={} medium={} low={} freeze={} quarantined={} out={}",
                s.as_of,
                s.findings,
                sev("critical"),
                sev("high"),
                sev("medium"),
                sev("low"),
                s.freeze,
                s.quarantined,
                s.dir.display()
            ));
            let failing = fail_on.is_some_and(|min| {
                [
                    (Severity::Low, "low"),
                    (Severity::Medium, "medium"),
                    (Severity::High, "high"),
                    (Severity::Critical, "critical"),
                ]
                .iter()
                .any(|(level, name)| *level >= min && sev(name) > 0)
            });
            Ok(u8::from(failing))
        }
        Command::Check { config } => {
            let cfg = RunConfig::load(&config)?;
            let inputs = Inputs {
                input_dir: &cfg.input_dir,
                policy_dir: &cfg.policy_dir,
                naive_tz: cfg.naive_timestamps_tz,
                lookback_days: cfg.activity_lookback_days,
            };
            let (_, _, report) = pipeline::load(&inputs)?;
            for q in &report.quarantine {
                say(&format!(
                    "{}:{}: {} [{}]",
                    q.source_file, q.line, q.reason, q.table
                ));
            }
            say(&format!(
                "permaudit check status=ok quarantined={}",
                report.quarantined()
            ));
            Ok(0)
        }
    }
}

fn yesterday() -> NaiveDate {
    let today = Utc::now().date_naive();
    today.pred_opt().unwrap_or(today)
}
