//! The command line's types (clap) and their resolution into what the commands need. A
//! module of the binary (`src/main.rs`), not of the library: the library never sees clap.
//!
//! Every flag is declared once: the configuration and output directory that most commands
//! share are one flattened struct, resolved by one function.

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use permaudit::config::RunConfig;
use permaudit::error::{Error, ExitCode, Result};
use permaudit::generate::{Findings, GenOptions, Preset};
use permaudit::review::OnNoResponse;
use permaudit::severity::Severity;

#[derive(Parser)]
#[command(name = "permaudit", version, about = "Access-control and audit-log compliance for payment platforms", after_help = ExitCode::help())]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the whole pipeline for one day and write OUT/<as_of>/.
    #[command(after_help = ExitCode::help())]
    Run(RunArgs),
    /// Validate configuration, policy and inputs without writing anything.
    #[command(after_help = ExitCode::help())]
    Check(ConfigArg),
    /// Re-hash every output of every run in OUT and check the manifest chain.
    #[command(
        after_help = ExitCode::help(),
        mut_arg("config", |a| a.help("Run configuration, read only to find out_dir when --out is absent")),
        mut_arg("out", |a| a.help("Output directory (default: the configuration's out_dir)"))
    )]
    Verify(Place),
    /// Generate a deterministic synthetic data set (inputs, policy, permaudit.toml).
    #[command(after_help = ExitCode::help())]
    Generate(GenerateArgs),
    /// Map one source's exports (Okta, CloudTrail, Entra ID, OCSF, SCIM, AWS IAM) to
    /// contract tables in DIR, with DIR/import.json (what became of every record).
    #[command(after_help = ExitCode::help())]
    Import(ImportArgs),
    /// Check a request before it is granted: print the findings that proposed grants would
    /// add if they were active at T (stdout), writing nothing.
    #[command(after_help = ExitCode::help())]
    Whatif(WhatifArgs),
    /// Access review campaigns: open, ingest returned packets, status, close.
    #[command(subcommand)]
    Review(ReviewCommand),
}

#[derive(Args)]
pub struct ImportArgs {
    /// The kind of source.
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(
        permaudit::source::KINDS.iter().map(|k| k.name)
    ))]
    pub kind: String,
    /// Export files or folders (folders are read recursively; names starting with `_` or
    /// `.` are skipped).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The system the rows belong to; may hold {account} (AWS account id of each record)
    /// or {tenant} (Entra tenant id).
    #[arg(long, value_name = "ID")]
    pub system_id: String,
    /// Directory to write the tables, quarantine.csv and import.json into.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Format of the tables written.
    #[arg(long, value_enum, default_value_t = ImportFormat::Parquet)]
    pub format: ImportFormat,
    /// CSV `network,country` giving a country to addresses (sources without one).
    #[arg(long, value_name = "FILE")]
    pub ip_country_file: Option<PathBuf>,
    /// Any quarantined record is fatal (exit 2, nothing written).
    #[arg(long)]
    pub strict: bool,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ImportFormat {
    Csv,
    Parquet,
}

impl From<ImportArgs> for permaudit::import::ImportOptions {
    fn from(a: ImportArgs) -> Self {
        permaudit::import::ImportOptions {
            kind: a.kind,
            paths: a.paths,
            system_id: a.system_id,
            out: a.out,
            format: match a.format {
                ImportFormat::Csv => permaudit::import::TableFormat::Csv,
                ImportFormat::Parquet => permaudit::import::TableFormat::Parquet,
            },
            ip_country_file: a.ip_country_file,
            strict: a.strict,
        }
    }
}

#[derive(Args)]
pub struct WhatifArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Proposed grants: CSV with the grants columns (`grant_id` may be empty).
    #[arg(long, value_name = "PROPOSED.csv")]
    pub grants: PathBuf,
    /// Evaluation date; default as for `run`.
    #[arg(long, value_parser = iso_date)]
    pub as_of: Option<NaiveDate>,
    /// How the added findings are printed.
    #[arg(long, value_enum, default_value_t = WhatifFormat::Csv)]
    pub format: WhatifFormat,
    /// Exit 1 when an added finding has this severity or above.
    #[arg(long, value_enum, default_value = "low")]
    pub fail_on: Severity,
}

impl WhatifArgs {
    pub fn as_of(&self, cfg: &RunConfig) -> NaiveDate {
        as_of(self.as_of, cfg)
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum WhatifFormat {
    Csv,
    Json,
}

#[derive(Args)]
pub struct ConfigArg {
    /// Run configuration (default: permaudit.toml in the working directory).
    #[arg(long, default_value = "permaudit.toml")]
    pub config: PathBuf,
}

impl ConfigArg {
    pub fn load(&self) -> Result<RunConfig> {
        Ok(RunConfig::load(&self.config)?)
    }
}

/// The configuration and output directory a command works on.
#[derive(Args)]
pub struct Place {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Output directory (overrides the configuration's out_dir).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// A loaded configuration and the output directory chosen with it.
pub struct Configured {
    pub cfg: RunConfig,
    pub out_dir: PathBuf,
}

impl Place {
    pub fn resolve(&self) -> Result<Configured> {
        let cfg = self.config.load()?;
        let out_dir = self.out.clone().unwrap_or_else(|| cfg.out_dir.clone());
        Ok(Configured { cfg, out_dir })
    }

    /// The output directory alone: the configuration is read only when `--out` is absent,
    /// so that OUT can be verified where the configuration is gone or broken.
    pub fn out_dir(&self) -> Result<PathBuf> {
        match &self.out {
            Some(out) => Ok(out.clone()),
            None => Ok(self.config.load()?.out_dir),
        }
    }
}

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub place: Place,
    /// Day to evaluate (default: the configuration's `as_of`, else yesterday in UTC).
    #[arg(long, value_parser = iso_date, conflicts_with_all = ["from", "to"])]
    pub as_of: Option<NaiveDate>,
    /// Backfill: first day of a range run in date order under one lock (with --to).
    #[arg(long, value_parser = iso_date, requires = "to")]
    pub from: Option<NaiveDate>,
    /// Backfill: last day of the range, inclusive (with --from).
    #[arg(long, value_parser = iso_date, requires = "from")]
    pub to: Option<NaiveDate>,
    /// Any quarantined row is fatal (exit 2).
    #[arg(long)]
    pub strict: bool,
    /// Ignore the incremental state in OUT/state/ (event digests, file hashes) and
    /// read every input again; the state is rebuilt.
    #[arg(long)]
    pub full: bool,
    /// Exit 1 when a finding of this severity or above exists.
    #[arg(long, value_enum)]
    pub fail_on: Option<Severity>,
}

impl RunArgs {
    /// The days to run, in date order.
    pub fn dates(&self, cfg: &RunConfig) -> Result<Vec<NaiveDate>> {
        match (self.from, self.to) {
            (Some(from), Some(to)) => date_range(from, to),
            _ => Ok(vec![as_of(self.as_of, cfg)]),
        }
    }
}

#[derive(Args)]
pub struct GenerateArgs {
    /// Directory to write (input/, policy/, permaudit.toml).
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value_t = Preset::Small)]
    pub preset: Preset,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Overrides the preset's number of identities.
    #[arg(long)]
    pub identities: Option<usize>,
    /// Overrides the preset's days of audit history.
    #[arg(long)]
    pub days: Option<u32>,
    /// Overrides the preset's average events per day.
    #[arg(long)]
    pub events_per_day: Option<usize>,
    /// How many cases to plant: `sparse` (a few per rule) or `dense` (about one finding per
    /// grant: SoD conflicts, stale, expired, self-approved and unapproved privileged grants and
    /// SoD transactions each in the tens of thousands at the medium size).
    #[arg(long, value_enum, default_value_t = Findings::Sparse)]
    pub findings: Findings,
    /// Replace input/ and policy/ left in --out by an earlier generation.
    #[arg(long)]
    pub force: bool,
}

impl From<GenerateArgs> for GenOptions {
    fn from(args: GenerateArgs) -> Self {
        let (identities, days, events_per_day) = args.preset.sizes();
        GenOptions {
            out: args.out,
            seed: args.seed,
            identities: args.identities.unwrap_or(identities),
            days: args.days.unwrap_or(days),
            events_per_day: args.events_per_day.unwrap_or(events_per_day),
            findings: args.findings,
            force: args.force,
        }
    }
}

/// `permaudit review ...`. Every subcommand reads the run configuration and
/// writes under OUT/reviews/<campaign_id>/.
#[derive(Subcommand)]
pub enum ReviewCommand {
    /// Open a campaign for one jurisdiction; prints the campaign id as the last line.
    #[command(after_help = ExitCode::help())]
    Open(OpenArgs),
    /// Record the decisions of returned packets (CSV or XLSX); all files or nothing.
    #[command(after_help = ExitCode::help())]
    Ingest(IngestArgs),
    /// Completion per reviewer, overdue items, rubber-stamp signals.
    #[command(
        after_help = ExitCode::help(),
        mut_arg("at", |a| a.help("Instant to judge overdue items at (RFC 3339; default: now)"))
    )]
    Status(CampaignArgs),
    /// Close: apply on_no_response, write revocations.csv and signoff.json.
    #[command(
        after_help = ExitCode::help(),
        mut_arg("at", |a| a.help("Close time recorded (RFC 3339; default: now)"))
    )]
    Close(CampaignArgs),
}

#[derive(Args)]
pub struct OpenArgs {
    #[command(flatten)]
    pub place: Place,
    #[arg(long)]
    pub jurisdiction: String,
    /// Grants effective on this day are reviewed (default: the configuration's
    /// `as_of`, else yesterday in UTC).
    #[arg(long, value_parser = iso_date)]
    pub as_of: Option<NaiveDate>,
    /// Last day for reviewers (default: as_of + 28 days).
    #[arg(long, value_parser = iso_date)]
    pub due: Option<NaiveDate>,
    /// What happens on close to items nobody decided; fixed for the campaign.
    #[arg(long, default_value = "revoke")]
    pub on_no_response: OnNoResponse,
}

impl OpenArgs {
    pub fn as_of(&self, cfg: &RunConfig) -> NaiveDate {
        as_of(self.as_of, cfg)
    }
}

#[derive(Args)]
pub struct IngestArgs {
    #[command(flatten)]
    pub place: Place,
    #[arg(long)]
    pub campaign: String,
    /// Time recorded for the decisions (RFC 3339; default: now).
    #[arg(long, value_parser = parse_instant)]
    pub at: Option<DateTime<Utc>>,
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// A campaign and an instant: `review status` and `review close` need no more, and say
/// what the instant means in their own help.
#[derive(Args)]
pub struct CampaignArgs {
    #[command(flatten)]
    pub place: Place,
    #[arg(long)]
    pub campaign: String,
    #[arg(long, value_parser = parse_instant)]
    pub at: Option<DateTime<Utc>>,
}

fn parse_instant(s: &str) -> std::result::Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| format!("{s:?} is not an RFC 3339 timestamp with offset: {e}"))
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

/// The day a command evaluates: `--as-of`, else the configuration's, else yesterday in UTC
/// (what a nightly cron job wants).
fn as_of(arg: Option<NaiveDate>, cfg: &RunConfig) -> NaiveDate {
    arg.or(cfg.as_of).unwrap_or_else(|| {
        let today = Utc::now().date_naive();
        today.pred_opt().unwrap_or(today)
    })
}
