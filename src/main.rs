//! The command line: parsing, logging, and the one place where errors become messages and
//! exit codes.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use permaudit::config::RunConfig;
use permaudit::error::{Error, Result};
use permaudit::generate::{self, GenOptions, Preset};
use permaudit::pipeline::{self, Inputs};
use permaudit::run::{run_range, RunFlags};
use permaudit::severity::Severity;

// Hundreds of millions of short-lived strings and hash tables per night: glibc's allocator
// spent a sixth of ingest in malloc/free and kept freed pages, so RSS grew with every
// partition. mimalloc returns them and is faster on this workload (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EXIT_CODES: &str = "Exit codes: 0 success; 1 findings at or above --fail-on; 2 bad input, \
configuration or policy (nothing written); 3 another run holds the lock of the output directory \
(nothing done); 4 internal or I/O error; 5 verify found a wrong file or link.";

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

#[derive(Subcommand)]
enum Command {
    /// Run the whole pipeline for one day and write OUT/<as_of>/.
    #[command(after_help = EXIT_CODES)]
    Run {
        /// Run configuration (default: permaudit.toml in the working directory).
        #[arg(long, default_value = "permaudit.toml")]
        config: PathBuf,
        /// Day to evaluate (default: the configuration's `as_of`, else yesterday in UTC).
        #[arg(long, value_parser = iso_date, conflicts_with_all = ["from", "to"])]
        as_of: Option<NaiveDate>,
        /// Backfill: first day of a range run in date order under one lock (with --to).
        #[arg(long, value_parser = iso_date, requires = "to")]
        from: Option<NaiveDate>,
        /// Backfill: last day of the range, inclusive (with --from).
        #[arg(long, value_parser = iso_date, requires = "from")]
        to: Option<NaiveDate>,
        /// Output directory (overrides the configuration's out_dir).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Any quarantined row is fatal (exit 2).
        #[arg(long)]
        strict: bool,
        /// Ignore the incremental state in OUT/state/ (event digests, file hashes) and
        /// read every input again; the state is rebuilt.
        #[arg(long)]
        full: bool,
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
    /// Re-hash every output of every run in OUT and check the manifest chain.
    #[command(after_help = EXIT_CODES)]
    Verify {
        /// Output directory (default: the configuration's out_dir).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Run configuration, read only to find out_dir when --out is absent.
        #[arg(long, default_value = "permaudit.toml")]
        config: PathBuf,
    },
    /// Generate a deterministic synthetic data set (inputs, policy, permaudit.toml).
    Generate {
        /// Directory to write (input/, policy/, permaudit.toml).
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_enum, default_value_t = Preset::Small)]
        preset: Preset,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Overrides the preset's number of identities.
        #[arg(long)]
        identities: Option<usize>,
        /// Overrides the preset's days of audit history.
        #[arg(long)]
        days: Option<u32>,
        /// Overrides the preset's average events per day.
        #[arg(long)]
        events_per_day: Option<usize>,
        /// Replace input/ and policy/ left in --out by an earlier generation.
        #[arg(long)]
        force: bool,
    },
    /// Access review campaigns: open, ingest returned packets, status, close.
    #[command(subcommand)]
    Review(ReviewCommand),
}

/// The configuration and output directory every review command works on.
#[derive(clap::Args)]
struct ReviewPlace {
    #[arg(long, default_value = "permaudit.toml")]
    config: PathBuf,
    /// Output directory (overrides the configuration's out_dir).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// `permaudit review ...`. Every subcommand reads the run configuration and
/// writes under OUT/reviews/<campaign_id>/.
#[derive(Subcommand)]
enum ReviewCommand {
    /// Open a campaign for one jurisdiction; prints the campaign id as the last line.
    #[command(after_help = EXIT_CODES)]
    Open {
        #[command(flatten)]
        place: ReviewPlace,
        #[arg(long)]
        jurisdiction: String,
        /// Grants effective on this day are reviewed (default: the configuration's
        /// `as_of`, else yesterday in UTC).
        #[arg(long, value_parser = iso_date)]
        as_of: Option<NaiveDate>,
        /// Last day for reviewers (default: as_of + 28 days).
        #[arg(long, value_parser = iso_date)]
        due: Option<NaiveDate>,
        /// What happens on close to items nobody decided; fixed for the campaign.
        #[arg(long, default_value = "revoke")]
        on_no_response: permaudit::review::OnNoResponse,
    },
    /// Record the decisions of returned packets (CSV or XLSX); all files or nothing.
    #[command(after_help = EXIT_CODES)]
    Ingest {
        #[command(flatten)]
        place: ReviewPlace,
        #[arg(long)]
        campaign: String,
        /// Time recorded for the decisions (RFC 3339; default: now).
        #[arg(long, value_parser = parse_instant)]
        at: Option<DateTime<Utc>>,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Completion per reviewer, overdue items, rubber-stamp signals.
    #[command(after_help = EXIT_CODES)]
    Status {
        #[command(flatten)]
        place: ReviewPlace,
        #[arg(long)]
        campaign: String,
        /// Instant to judge overdue items at (RFC 3339; default: now).
        #[arg(long, value_parser = parse_instant)]
        at: Option<DateTime<Utc>>,
    },
    /// Close: apply on_no_response, write revocations.csv and signoff.json.
    #[command(after_help = EXIT_CODES)]
    Close {
        #[command(flatten)]
        place: ReviewPlace,
        #[arg(long)]
        campaign: String,
        /// Close time recorded (RFC 3339; default: now).
        #[arg(long, value_parser = parse_instant)]
        at: Option<DateTime<Utc>>,
    },
}

fn parse_instant(s: &str) -> std::result::Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| format!("{s:?} is not an RFC 3339 timestamp with offset: {e}"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    // Bars only for a person watching: never in cron mail, files, pipes or JSON logs.
    permaudit::progress::enable(
        matches!(cli.log_format, LogFormat::Text) && std::io::stderr().is_terminal(),
    );
    match execute(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let message = with_causes(&e);
            tracing::error!(code = e.exit_code(), "{message}");
            let _ = writeln!(std::io::stderr(), "permaudit: error: {message}");
            ExitCode::from(e.exit_code() as u8)
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

/// Prints a line to stdout; a closed pipe (e.g. `| head`) is not an error.
fn say(line: &str) {
    let _ = writeln!(std::io::stdout(), "{line}");
}

fn execute(command: Command) -> Result<u8> {
    match command {
        Command::Generate {
            out,
            preset,
            seed,
            identities,
            days,
            events_per_day,
            force,
        } => {
            let (n, d, e) = preset.sizes();
            let s = generate::generate(&GenOptions {
                out,
                seed,
                identities: identities.unwrap_or(n),
                days: days.unwrap_or(d),
                events_per_day: events_per_day.unwrap_or(e),
                force,
            })?;
            say(&format!(
                "permaudit generate status=ok as_of={} systems={} identities={} accounts={} entitlements={} grants={} days={} events={}",
                s.as_of.map(|d| d.to_string()).unwrap_or_default(),
                s.systems,
                s.identities,
                s.accounts,
                s.entitlements,
                s.grants,
                s.days,
                s.events
            ));
            Ok(0)
        }
        Command::Run {
            config,
            as_of,
            from,
            to,
            out,
            strict,
            full,
            fail_on,
        } => {
            let cfg = RunConfig::load(&config)?;
            let dates = match (from, to) {
                (Some(from), Some(to)) => date_range(from, to)?,
                _ => vec![as_of.or(cfg.as_of).unwrap_or_else(yesterday)],
            };
            let out_dir = out.unwrap_or_else(|| cfg.out_dir.clone());
            let mut failing = false;
            run_range(&cfg, &dates, &out_dir, RunFlags { strict, full }, |s| {
                let sev = |k: &str| s.by_severity.get(k).copied().unwrap_or(0);
                say(&format!(
                    "permaudit run as_of={} status=ok findings={} critical={} high={} medium={} low={} freeze={} quarantined={} manifest_sha256={} out={}",
                    s.as_of,
                    s.findings,
                    sev("critical"),
                    sev("high"),
                    sev("medium"),
                    sev("low"),
                    s.freeze,
                    s.quarantined,
                    s.manifest_sha256,
                    s.dir.display()
                ));
                failing |= fail_on.is_some_and(|min| {
                    Severity::ALL
                        .iter()
                        .any(|level| *level >= min && sev(level.as_str()) > 0)
                });
            })?;
            Ok(u8::from(failing))
        }
        Command::Verify { out, config } => {
            let out_dir = match out {
                Some(o) => o,
                None => RunConfig::load(&config)?.out_dir,
            };
            let r = permaudit::verify::verify(&out_dir)?;
            for n in &r.notes {
                say(&format!("note: {n}"));
            }
            for p in &r.problems {
                say(&format!("FAIL {p}"));
            }
            say(&format!(
                "permaudit verify status={} runs={} files={} links={} problems={} out={}",
                if r.ok() { "ok" } else { "failed" },
                r.runs,
                r.files,
                r.links,
                r.problems.len(),
                out_dir.display()
            ));
            match r.problems.first() {
                None => Ok(0),
                Some(first) => Err(Error::Verify(format!(
                    "{} problem(s) in {}, first: {first}",
                    r.problems.len(),
                    out_dir.display()
                ))),
            }
        }
        Command::Review(cmd) => review_command(cmd),
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

fn review_command(cmd: ReviewCommand) -> Result<u8> {
    use permaudit::review;
    let (ReviewCommand::Open { place, .. }
    | ReviewCommand::Ingest { place, .. }
    | ReviewCommand::Status { place, .. }
    | ReviewCommand::Close { place, .. }) = &cmd;
    let cfg = RunConfig::load(&place.config)?;
    let out_dir = place.out.clone().unwrap_or_else(|| cfg.out_dir.clone());
    let templates = cfg.templates_dir.as_deref();
    match cmd {
        ReviewCommand::Open {
            jurisdiction,
            as_of,
            due,
            on_no_response,
            ..
        } => {
            let _lock = permaudit::lock::acquire(&out_dir)?;
            let o = review::open::open(&review::open::OpenOptions {
                inputs: Inputs {
                    input_dir: &cfg.input_dir,
                    policy_dir: &cfg.policy_dir,
                    naive_tz: cfg.naive_timestamps_tz,
                    lookback_days: cfg.activity_lookback_days,
                },
                config_sha256: &cfg.sha256,
                templates_dir: templates,
                out: &out_dir,
                jurisdiction: &jurisdiction,
                as_of: as_of.or(cfg.as_of).unwrap_or_else(yesterday),
                due,
                on_no_response,
            })?;
            say(&format!(
                "permaudit review open status={} campaign={} items={} packets={} unassigned={} dir={}",
                if o.created { "ok" } else { "exists" },
                o.campaign_id,
                o.items,
                o.packets,
                o.unassigned,
                o.dir.display()
            ));
            // Scripts take the id from the last line.
            say(&o.campaign_id);
            Ok(0)
        }
        ReviewCommand::Ingest {
            campaign,
            at,
            files,
            ..
        } => {
            let _lock = permaudit::lock::acquire(&out_dir)?;
            let s = review::ingest::ingest(
                &out_dir,
                &campaign,
                &files,
                at.unwrap_or_else(Utc::now),
                templates,
            )?;
            say(&format!(
                "permaudit review ingest status=ok campaign={campaign} files={} already_ingested={} decided={} pending={}",
                s.files, s.already_ingested, s.decided, s.pending
            ));
            Ok(0)
        }
        ReviewCommand::Status { campaign, at, .. } => {
            let stored = review::Stored::load(&out_dir, &campaign)?;
            let st = review::status::status(&stored, at.unwrap_or_else(Utc::now));
            for r in &st.reviewers {
                say(&format!(
                    "reviewer={} assigned={} keep={} revoke={} pending={} completion={}% overdue={}",
                    r.reviewer_id, r.assigned, r.keep, r.revoke, r.pending, r.completion, r.overdue
                ));
            }
            for sig in &st.signals {
                say(&format!("signal {}: {}", sig.kind, sig.message));
            }
            say(&format!(
                "permaudit review status campaign={} state={} items={} keep={} revoke={} escalated={} pending={} overdue={} unassigned={} due={}",
                st.campaign_id,
                if st.closed { "closed" } else { "open" },
                st.items,
                st.keep,
                st.revoke,
                st.escalated,
                st.pending,
                st.overdue,
                st.unassigned,
                st.due
            ));
            Ok(0)
        }
        ReviewCommand::Close { campaign, at, .. } => {
            let _lock = permaudit::lock::acquire(&out_dir)?;
            let s =
                review::close::close(&out_dir, &campaign, at.unwrap_or_else(Utc::now), templates)?;
            let dir = review::model::campaign_dir(&out_dir, &campaign)?;
            say(&format!(
                "permaudit review close status={} campaign={campaign} keep={} revoke={} escalated={} no_response={} revocations={} signoff={}",
                if s.already_closed { "already_closed" } else { "ok" },
                s.keep,
                s.revoke,
                s.escalated,
                s.no_response,
                dir.join(review::model::REVOCATIONS_FILE).display(),
                dir.join(review::model::SIGNOFF_FILE).display()
            ));
            Ok(0)
        }
    }
}

/// Every day from `from` to `to`, inclusive, in date order.
fn date_range(from: NaiveDate, to: NaiveDate) -> Result<Vec<NaiveDate>> {
    if from > to {
        return Err(Error::input(
            "--from/--to",
            format!("--from {from} is after --to {to}"),
        ));
    }
    Ok(from.iter_days().take_while(|d| *d <= to).collect())
}

/// Dates on the command line are as strict as in the configuration: `YYYY-MM-DD` only.
fn iso_date(s: &str) -> std::result::Result<NaiveDate, String> {
    permaudit::config::parse_iso_date(s)
        .ok_or_else(|| format!("{s:?} is not a date of the form YYYY-MM-DD"))
}

fn yesterday() -> NaiveDate {
    let today = Utc::now().date_naive();
    today.pred_opt().unwrap_or(today)
}
