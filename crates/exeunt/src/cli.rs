//! The command line, as clap parses it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use engine::fields::{PersonName, Reason, TaskNote, TenantName, TokenName};
use engine::ids::{Email, Slug, SubjectKey, ZoneName};
use jiff::civil::Date;

#[derive(Parser, Debug)]
#[command(
    name = "exeunt",
    version,
    about = "Offboarding you can prove: staged, audited cases for clients, employees and organizations."
)]
pub struct Cli {
    /// Where the SQLite database lives.
    #[arg(
        long,
        global = true,
        env = "EXEUNT_DATA_DIR",
        default_value = "./exeunt-data"
    )]
    pub data_dir: PathBuf,
    /// A postgres:// URL selects PostgreSQL instead of the SQLite file in the data dir.
    #[arg(
        long,
        global = true,
        env = "EXEUNT_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Where the subjects' data keys are kept, apart from the database: a SQLite file or a
    /// postgres:// URL. By default the file `exeunt.keyring.db` beside the SQLite file, or the
    /// database `<name>_keyring` on the same PostgreSQL server. Back it up on a schedule of
    /// its own (ARCHITECTURE.md, "What a purge removes").
    #[arg(long, global = true, env = "EXEUNT_KEYRING", hide_env_values = true)]
    pub keyring: Option<String>,
    /// The tenant to act in (needed only when there are several).
    #[arg(long, global = true, env = "EXEUNT_TENANT")]
    pub tenant: Option<Slug>,
    /// A TOML file with settings; flags and environment variables win over it.
    #[arg(long, global = true, env = "EXEUNT_CONFIG")]
    pub config: Option<PathBuf>,
    /// Act as this user (default: the tenant's owner).
    #[arg(long = "as", global = true, env = "EXEUNT_ACTOR", value_name = "EMAIL")]
    pub actor: Option<Email>,
    /// The mail server notifications go out through (smtp://host:port, smtps://…, with
    /// user:password@ if it needs them). Without one, notifications stay in the app.
    #[arg(long, global = true, env = "EXEUNT_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The sender of Exeunt's emails.
    #[arg(
        long,
        global = true,
        env = "EXEUNT_MAIL_FROM",
        default_value = "Exeunt <exeunt@localhost>"
    )]
    pub mail_from: String,
    /// Where people reach this server; links in emails start with it.
    #[arg(
        long,
        global = true,
        env = "EXEUNT_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub public_url: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create the database and a tenant with its owner and default teams.
    Init(InitArgs),
    /// Lint, list, show and dry-run blueprints.
    #[command(subcommand)]
    Blueprint(BlueprintCmd),
    /// Add, list, show and import subjects.
    #[command(subcommand)]
    Subject(SubjectCmd),
    /// Add records (documents, notes, contacts, accounts, integrations, assets, work items).
    #[command(subcommand)]
    Record(RecordCmd),
    /// Add and list users; reset a password; your own notifications and time zone.
    #[command(subcommand)]
    User(UserCmd),
    /// Start, list, show, precheck, close and cancel cases.
    #[command(subcommand)]
    Case(CaseCmd),
    /// List, complete, assign and waive tasks.
    #[command(subcommand)]
    Task(TaskCmd),
    /// Verify and export the audit chain.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Run the HTTP API. A data dir that does not exist yet is initialized first, and a
    /// one-time owner token is printed.
    Serve(ServeArgs),
    /// Issue, list and revoke API tokens.
    #[command(subcommand)]
    Token(TokenCmd),
    /// Place, lift and list legal holds (the owner only).
    #[command(subcommand)]
    Hold(HoldCmd),
    /// Set and show how long data is kept after an offboarding completes (the owner only).
    #[command(subcommand)]
    Retention(RetentionCmd),
    /// Request, build, list, download and verify export packages (BagIt bags as `.zip`).
    #[command(subcommand)]
    Export(ExportCmd),
    /// List subjects waiting for their purge and purge the due ones (the owner only).
    #[command(subcommand)]
    Purge(PurgeCmd),
    /// The background jobs (emails, connector calls): list them, send a dead one again, or
    /// run the due ones now.
    #[command(subcommand)]
    Jobs(JobsCmd),
    /// Configure the systems access is revoked in (LDAP, SCIM, PostgreSQL roles).
    #[command(subcommand)]
    Connector(ConnectorCmd),
    /// The wording of the emails Exeunt sends (minijinja templates, per notification kind).
    #[command(subcommand)]
    Template(TemplateCmd),
    /// Send audit events to an HTTP endpoint as signed CloudEvents.
    #[command(subcommand)]
    Webhook(WebhookCmd),
    /// Export the tenant's public signing keys (a JWK set).
    #[command(subcommand)]
    Key(KeyCmd),
    /// Verify a completion certificate, offline with --key.
    #[command(subcommand)]
    Certificate(CertificateCmd),
    /// Measure the write path, audit verification, the HTTP API, fan-out, exports and the job
    /// queue.
    #[command(subcommand)]
    Bench(BenchCmd),
}

#[derive(Subcommand, Debug)]
pub enum ExportCmd {
    /// Queue a build of the case's subject's export package.
    Request { number: CaseNumber },
    /// Build every queued export now, and run no other job (`exeunt serve` builds them in the
    /// background, among its jobs).
    Run {
        /// Also take over builds whose worker still holds the job's lease: only when you know
        /// that worker died (a server killed midway), to rebuild them now rather than once the
        /// lease runs out (30 seconds).
        #[arg(long)]
        take_over: bool,
    },
    /// A case's exports and their status.
    List {
        number: CaseNumber,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// A signed, expiring link for the departing client: a page (no account needed) to
    /// download the package and acknowledge receipt.
    Link {
        number: CaseNumber,
        /// How many days the link works (1 to 90).
        #[arg(long, default_value_t = 14)]
        days: u32,
        /// The server's address as the client reaches it.
        #[arg(
            long,
            env = "EXEUNT_PUBLIC_URL",
            default_value = "http://127.0.0.1:8080"
        )]
        base_url: String,
    },
    /// Let the case go on without the client's acknowledgement, for a reason on record.
    WaiveAck {
        number: CaseNumber,
        #[arg(long)]
        reason: Reason,
    },
    /// Write the newest ready package of a case.
    Download {
        number: CaseNumber,
        /// Where to write (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Check a package offline: BagIt structure, every digest, Payload-Oxum; with --receipt
    /// and --key also that the signed receipt names this very file.
    Verify {
        file: PathBuf,
        /// The export's signed receipt (a compact JWS).
        #[arg(long, requires = "key")]
        receipt: Option<PathBuf>,
        /// The tenant's keys, from `exeunt key export`.
        #[arg(long, requires = "receipt")]
        key: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum JobsCmd {
    /// The tenant's jobs, newest first, with their status, attempts and last error.
    List {
        #[arg(long)]
        status: Option<JobStatusArg>,
        /// Only the jobs of this case.
        #[arg(long)]
        case: Option<CaseNumber>,
        /// Only jobs older than the one with this id: the next page after a page that ended
        /// with it.
        #[arg(long)]
        before: Option<uuid::Uuid>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Send a dead job again, due now, with a fresh set of attempts.
    Retry { id: uuid::Uuid },
    /// Run every job that is due now, of every tenant (what `exeunt serve` does all along).
    Run,
}

#[derive(Subcommand, Debug)]
pub enum ConnectorCmd {
    /// Add a connector, or replace the one of the same name. Name it after the `system` of the
    /// account records it serves: each of their accounts is revoked through it at the exit.
    Set {
        name: Slug,
        #[arg(long)]
        kind: engine::connector::ConnectorKind,
        /// A TOML file with the connector's settings (see CONTRIBUTING.md for each kind's).
        #[arg(long)]
        settings: PathBuf,
        /// A file holding the secret (a password or a token), or `-` for standard input; never
        /// an argument, so that it stays out of shell history and process lists.
        #[arg(long)]
        secret_file: Option<PathBuf>,
    },
    /// The tenant's connectors, without their secrets.
    List {
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Remove a connector; accounts of its system are then left to people.
    Remove { name: Slug },
}

#[derive(Subcommand, Debug)]
pub enum TemplateCmd {
    /// Every kind's subject and body as the tenant has them, and whether they are its own.
    List {
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Replace one kind's wording. Templates may use `recipient.name`, `recipient.email`,
    /// `tenant.name`, `summary`, `link` and `kind`; one that does not render is refused.
    Set {
        kind: String,
        #[arg(long)]
        subject: String,
        /// A file holding the body template.
        #[arg(long)]
        body_file: PathBuf,
    },
    /// Go back to the built-in wording for one kind.
    Reset { kind: String },
}

#[derive(Subcommand, Debug)]
pub enum WebhookCmd {
    /// Add an audit-event webhook (it sends the events from now on), or replace the settings
    /// and key of the one of that name.
    Set {
        name: Slug,
        /// A TOML file: `url`, `events` (`["*"]`, `["case.*", "task.completed"]`, …), and
        /// optionally `allow_private_hosts` and `timeout_secs`.
        #[arg(long)]
        settings: PathBuf,
        /// A file holding the signing key (at least 32 bytes), or `-` for standard input.
        #[arg(long)]
        secret_file: PathBuf,
    },
    /// The tenant's webhooks: where, which events, how far they got, the last error.
    List {
        #[command(flatten)]
        json: JsonFlag,
    },
    Remove {
        name: Slug,
    },
}

/// A job status as the command line names it.
#[derive(Clone, Copy, Debug)]
pub struct JobStatusArg(pub engine::job::JobStatus);

impl std::str::FromStr for JobStatusArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        engine::job::JobStatus::parse(s)
            .map(JobStatusArg)
            .ok_or_else(|| {
                format!(
                    "`{s}` is not a job status; expected one of {}",
                    engine::job::JobStatus::NAMES.join(", ")
                )
            })
    }
}

#[derive(Subcommand, Debug)]
pub enum PurgeCmd {
    /// Offboarded subjects not purged yet, and whether each is due; with --done, the
    /// tombstones of purged ones.
    List {
        #[arg(long)]
        done: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Purge every subject that is due now (what `exeunt serve` does on its own schedule).
    Run,
}

#[derive(Subcommand, Debug)]
pub enum KeyCmd {
    /// Write the tenant's public keys as a JWK set, to verify its certificates elsewhere.
    Export {
        /// Where to write (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum CertificateCmd {
    /// Check a certificate's signature and print what it certifies; exit 1 if it does not
    /// verify.
    Verify {
        /// The certificate: a file holding the compact JWS.
        file: PathBuf,
        /// A JWK set or a single JWK (from `exeunt key export` or `/.well-known/jwks.json`);
        /// with it, no database is needed. Without it, the keys of this Exeunt are used.
        #[arg(long)]
        key: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// The organization's name.
    #[arg(long, default_value = "My firm")]
    pub org: TenantName,
    /// The tenant's short name.
    #[arg(long, default_value = "default")]
    pub slug: Slug,
    #[arg(long, default_value = "owner@example.com")]
    pub owner_email: Email,
    #[arg(long, default_value = "Owner")]
    pub owner_name: PersonName,
    /// Where the firm is (an IANA name such as Europe/Berlin): its owner, and the people added
    /// later, start in this time zone. UTC without it.
    #[arg(long)]
    pub time_zone: Option<ZoneName>,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "EXEUNT_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// Clients reach the server over TLS (directly or through a proxy): mark cookies Secure.
    #[arg(long, env = "EXEUNT_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Load a sample tenant `demo` (clients, employees, records, teams, users of every role,
    /// cases in every status) if it is not there yet.
    #[arg(long)]
    pub demo: bool,
    /// How log lines look; which ones appear is set by EXEUNT_LOG (default `info`).
    #[arg(long, env = "EXEUNT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// How long the worker holds a job before another server may take it over (1s to 1h).
    /// It renews the lease while the job runs, so this is how soon the job of a server that
    /// died is picked up again, not a limit on how long a job may take.
    #[arg(long, env = "EXEUNT_JOB_LEASE", default_value = "30s")]
    pub job_lease: engine::job::JobLease,
    /// How many jobs the worker runs at once (1 to 64): a slow connector then holds up only
    /// its own job, and a busy queue is claimed and recorded several jobs per transaction.
    #[arg(long, env = "EXEUNT_JOB_CONCURRENCY", default_value = "8")]
    pub job_concurrency: engine::job::JobConcurrency,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum TokenCmd {
    /// Issue a token; its secret is printed once.
    Create {
        #[arg(long)]
        name: TokenName,
        /// The token's role: no stronger than its user's.
        #[arg(long)]
        role: engine::tenant::Role,
        /// The user the token acts as (default: you).
        #[arg(long = "for")]
        user: Option<Email>,
    },
    List(JsonFlag),
    Revoke {
        id: uuid::Uuid,
    },
}

#[derive(Subcommand, Debug)]
pub enum HoldCmd {
    /// Place a legal hold on a subject, or on the whole tenant without `--subject`: while it
    /// stands, nothing it covers is purged.
    Place {
        #[arg(long)]
        subject: Option<SubjectKey>,
        /// Why, for the record.
        #[arg(long)]
        reason: Reason,
    },
    /// Lift a hold; it stays on record as lifted.
    Lift {
        id: uuid::Uuid,
        #[arg(long)]
        reason: Reason,
    },
    /// Standing and lifted holds, newest first.
    List {
        /// Only the holds that cover this subject (its own and the whole tenant's).
        #[arg(long)]
        subject: Option<SubjectKey>,
        #[command(flatten)]
        json: JsonFlag,
    },
}

#[derive(Subcommand, Debug)]
pub enum RetentionCmd {
    /// Set the period for one kind of subject, or the default without `--kind`.
    Set {
        /// Years, months and days after completion: `7y`, `18m`, `1y6m`, `90d`, or `0`.
        period: engine::governance::Retention,
        #[arg(long)]
        kind: Option<engine::subject::SubjectKind>,
    },
    /// The default period and the periods of kinds that have their own.
    Show(JsonFlag),
}

#[derive(Args, Debug)]
pub struct JsonFlag {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum BlueprintCmd {
    /// Report every problem in blueprint files, with file:line:col.
    Lint {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// The blueprints this tenant can use.
    List(JsonFlag),
    /// A blueprint's stages, tasks and checks.
    Show {
        /// A blueprint id, or a YAML file.
        blueprint: String,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Dry run: the tasks a case would get, with owners and due dates.
    Plan {
        /// A blueprint id, or a YAML file.
        blueprint: String,
        #[arg(long)]
        subject: SubjectKey,
        #[arg(long, value_parser = parse_date)]
        exit_date: Date,
        /// The case owner's email, whose tasks the plan names them for (default: you).
        #[arg(long)]
        owner: Option<Email>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Store a new version of a blueprint after lint.
    Add { file: PathBuf },
}

#[derive(Subcommand, Debug)]
pub enum SubjectCmd {
    /// Add one subject.
    Add {
        key: SubjectKey,
        #[arg(long)]
        kind: engine::subject::SubjectKind,
        #[arg(long)]
        name: String,
        /// The client a product belongs to.
        #[arg(long)]
        parent: Option<SubjectKey>,
        /// An attribute, NAME=VALUE (repeatable): role, department, country, timezone, …
        #[arg(long = "attr", value_name = "NAME=VALUE", value_parser = parse_pair)]
        attributes: Vec<(String, String)>,
    },
    /// List subjects; offboarded ones only with --all.
    List {
        #[arg(long)]
        kind: Option<engine::subject::SubjectKind>,
        /// Include offboarded and purged subjects.
        #[arg(long)]
        all: bool,
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..=10_000))]
        limit: i64,
        /// Only subjects after the one with this key (kind, then key): the next page after a
        /// page that ended with it.
        #[arg(long)]
        after: Option<SubjectKey>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// A subject with its records.
    Show {
        key: SubjectKey,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Import subjects from CSV: header `key,kind,name[,parent][,ATTRIBUTE…]`. All or nothing.
    Import { file: PathBuf },
}

#[derive(Subcommand, Debug)]
pub enum RecordCmd {
    /// Add a record: `exeunt record add jdoe account system=ldap identifier=jdoe`.
    Add {
        subject: SubjectKey,
        kind: engine::subject::RecordKind,
        #[arg(value_name = "FIELD=VALUE", value_parser = parse_pair)]
        fields: Vec<(String, String)>,
    },
    /// Change a record's fields: `exeunt record set acme 2 new_owner=kim@example.com`.
    Set {
        subject: SubjectKey,
        /// The record's number, as `subject show` lists it.
        #[arg(value_parser = clap::value_parser!(i64).range(1..))]
        number: i64,
        #[arg(value_name = "FIELD=VALUE", value_parser = parse_pair, required = true)]
        fields: Vec<(String, String)>,
    },
    /// Attach a file to a document record; it is stored encrypted.
    Attach {
        subject: SubjectKey,
        #[arg(value_parser = clap::value_parser!(i64).range(1..))]
        number: i64,
        file: PathBuf,
        /// The file's media type.
        #[arg(long, default_value = "application/octet-stream")]
        media_type: String,
    },
    /// Write a document record's file.
    Download {
        subject: SubjectKey,
        #[arg(value_parser = clap::value_parser!(i64).range(1..))]
        number: i64,
        /// Where to write (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCmd {
    Add {
        email: Email,
        #[arg(long)]
        name: PersonName,
        #[arg(long, default_value = "member")]
        role: engine::tenant::Role,
        /// A team the user belongs to (repeatable).
        #[arg(long = "team")]
        teams: Vec<Slug>,
    },
    List(JsonFlag),
    /// Give a user a new random password (printed once) and end their sessions.
    ResetPassword {
        email: Email,
    },
    /// Your time zone (or that of whoever --as names): your daily digest comes at 07:00 there,
    /// and reminders name times there. Without a zone, shows it.
    TimeZone {
        /// An IANA name such as Europe/Berlin.
        zone: Option<ZoneName>,
    },
    /// The time zone people added from now on start in (admins set it). Without a zone, shows
    /// it.
    DefaultTimeZone {
        /// An IANA name such as Europe/Berlin.
        zone: Option<ZoneName>,
    },
    /// Which notifications you (or whoever --as names) get by email; turn kinds on or off.
    /// Every notification still shows in the Offboarding Center.
    Notifications {
        /// Email me this kind again (repeatable).
        #[arg(long = "email-on")]
        on: Vec<String>,
        /// Stop emailing me this kind (repeatable).
        #[arg(long = "email-off")]
        off: Vec<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
}

#[derive(Subcommand, Debug)]
pub enum CaseCmd {
    /// Start offboarding a subject.
    Start {
        subject: SubjectKey,
        #[arg(long, value_parser = parse_date)]
        exit_date: Date,
        /// A blueprint id or YAML file; by default the one that applies to the subject.
        #[arg(long)]
        blueprint: Option<String>,
        /// The case owner's email (default: you).
        #[arg(long)]
        owner: Option<Email>,
        /// For an organization, its key again: its case starts one for every active client.
        #[arg(long)]
        confirm: Option<String>,
    },
    List {
        #[arg(long, value_parser = parse_case_status)]
        status: Option<engine::case::CaseStatus>,
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..=10_000))]
        limit: i64,
        #[command(flatten)]
        json: JsonFlag,
    },
    Show {
        number: CaseNumber,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Run the checks again; fixed problems clear.
    Precheck { number: CaseNumber },
    /// Waive a blocker or warning, with a reason.
    Waive {
        number: CaseNumber,
        check: Slug,
        #[arg(long)]
        reason: Reason,
    },
    /// Close a case whose tasks are all done: type the confirmation word.
    Close {
        number: CaseNumber,
        /// The confirmation word, TERMINATE unless the blueprint says otherwise.
        #[arg(long)]
        confirm: String,
    },
    /// Cancel a case; its tasks and history stay.
    Cancel {
        number: CaseNumber,
        #[arg(long)]
        reason: Reason,
    },
    /// Write a piece of a case's evidence, by the id `case show` lists.
    Evidence {
        number: CaseNumber,
        id: uuid::Uuid,
        /// Where to write (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Write the signed completion certificate of a completed case (a compact JWS).
    Certificate {
        number: CaseNumber,
        /// Where to write (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Record a revocation step for one account or integration of the case's subject.
    Revoke {
        number: CaseNumber,
        /// The account's or integration's record number.
        record: i64,
        /// revoked, verified, failed or waived.
        #[arg(long, value_parser = parse_revocation_status)]
        status: engine::revocation::RevocationStatus,
        /// How it was verified, what failed, or why it is waived (required for those).
        #[arg(long)]
        note: Option<String>,
    },
    /// Name the new owner of a work item of the case's subject.
    Handoff {
        number: CaseNumber,
        /// The work item's record number.
        record: i64,
        /// The email of the user who owns the work from now on.
        #[arg(long)]
        to: Email,
    },
}

#[derive(Subcommand, Debug)]
pub enum TaskCmd {
    /// Your open tasks, or a case's tasks.
    List {
        #[arg(long)]
        case: Option<CaseNumber>,
        /// Include done and waived tasks.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
    Complete {
        number: CaseNumber,
        task: Slug,
        #[arg(long)]
        note: Option<TaskNote>,
        /// A file to attach as evidence (repeatable).
        #[arg(long)]
        evidence: Vec<PathBuf>,
    },
    Assign {
        number: CaseNumber,
        task: Slug,
        /// The assignee; omit with --unassign.
        #[arg(required_unless_present = "unassign")]
        assignee: Option<Email>,
        #[arg(long, conflicts_with = "assignee")]
        unassign: bool,
    },
    Waive {
        number: CaseNumber,
        task: Slug,
        #[arg(long)]
        reason: Reason,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// Walk the chain and check it against its newest signed checkpoint; exit 1 and name the
    /// first broken link if any. With `--file`, check an exported log offline instead.
    Verify {
        /// A log written by `audit export`: needs no database, only this file.
        #[arg(long)]
        file: Option<PathBuf>,
        /// The tenant's public keys (a JWK set, as `/.well-known/jwks.json` serves it), to
        /// verify the checkpoints' signatures too. Only with `--file`.
        #[arg(long, requires = "file")]
        key: Option<PathBuf>,
        /// A checkpoint kept elsewhere (from a webhook delivery, a certificate or a receipt),
        /// in a file: the log must hold the event it vouches for. Only with `--file`.
        #[arg(long, requires = "file")]
        checkpoint: Vec<PathBuf>,
    },
    /// Write every event as JSON Lines, after the subjects' digest keys and before the newest
    /// signed checkpoint.
    Export {
        /// Where to write (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum BenchCmd {
    /// Complete tasks one after another on SQLite (synchronous=FULL) against an fsync probe.
    Write {
        #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(10..=1_000_000))]
        ops: u32,
    },
    /// Complete-task requests over HTTP with 1 and 16 clients, and an idle server's memory.
    Api {
        #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(20..=1_000_000))]
        ops: u32,
    },
    /// Offboard an organization of this many clients: one child case each, prechecked.
    Fanout {
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        clients: u32,
    },
    /// Export a client with this many documents of this total size (half of them random,
    /// half text) against `zip -r -1` of the same files, and the build's peak memory; on
    /// SQLite and, given a scratch database, on PostgreSQL against SQLite's time.
    Export {
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(2..=100_000))]
        documents: u32,
        /// Total size of the documents in MiB.
        #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        mib: u32,
        /// A PostgreSQL database the benchmark may fill (e.g. one made with `createdb`): the
        /// same export built there too, against SQLite's time.
        #[arg(long)]
        postgres: Option<String>,
    },
    /// The job queue: no-op jobs claimed and settled by the worker's loop, and the idle
    /// enqueue-to-start latency; on SQLite against an fsync probe, and on a scratch PostgreSQL
    /// database (`--postgres`), by 1 and 2 worker processes, against a plain-SQL SKIP LOCKED
    /// loop run by pgbench.
    Jobs {
        #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u32).range(10..=1_000_000))]
        jobs: u32,
        /// A PostgreSQL database the benchmark may fill (e.g. one made with `createdb`).
        #[arg(long)]
        postgres: Option<String>,
    },
    /// One worker process of `bench jobs`: says `ready` once connected, drains the queue when
    /// a line arrives on standard input, then prints how many jobs it ran.
    #[command(hide = true)]
    JobWorker {
        #[arg(long)]
        postgres: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        concurrency: engine::job::JobConcurrency,
    },
    /// Add notes to a subject with no records, then to the same subject once it holds this
    /// many more: the median add at each end, on SQLite (and on a scratch PostgreSQL database
    /// with `--postgres`).
    Records {
        #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
        records: u32,
        /// A PostgreSQL database the benchmark may fill (e.g. one made with `createdb`).
        #[arg(long)]
        postgres: Option<String>,
    },
    /// Offboard employees over HTTP from 16 clients against `exeunt serve` processes: start
    /// every case, complete every task, read the case list; on SQLite and, given a scratch
    /// database, on PostgreSQL with 1 to `--servers` servers behind HAProxy.
    Offboard {
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        employees: u32,
        /// Tasks per case.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100))]
        tasks: u32,
        /// A PostgreSQL database the benchmark may fill (e.g. one made with `createdb`).
        #[arg(long)]
        postgres: Option<String>,
        /// On PostgreSQL, measure with 1, 2, … up to this many servers on the one database.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=8))]
        servers: u8,
    },
    /// Every main page and API listing, read by 16 clients from `exeunt serve` on a tenant of
    /// 10,000 cases and then of `--cases` (loaded in bulk): p50 and p99 of each, on SQLite and,
    /// given a scratch database, on PostgreSQL.
    Scale {
        #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u32).range(2..=10_000_000))]
        cases: u32,
        /// Requests per page.
        #[arg(long, default_value_t = 400, value_parser = clap::value_parser!(u32).range(16..=1_000_000))]
        requests: u32,
        /// A PostgreSQL database the benchmark may fill (e.g. one made with `createdb`).
        #[arg(long)]
        postgres: Option<String>,
        /// Measure PostgreSQL alone (a million cases load for a quarter of an hour a store).
        #[arg(long, requires = "postgres")]
        skip_sqlite: bool,
    },
    /// Verify an audit chain of this many events.
    Audit {
        #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
        events: u32,
    },
}

/// A case number as people type it: `12` or `#12`.
#[derive(Clone, Copy, Debug)]
pub struct CaseNumber(pub i64);

impl std::str::FromStr for CaseNumber {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim_start_matches('#')
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(CaseNumber)
            .ok_or_else(|| {
                format!("`{s}` is not a case number; expected a positive whole number such as 12")
            })
    }
}

fn parse_date(s: &str) -> Result<Date, String> {
    let ok = s.len() == 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-';
    s.parse::<Date>()
        .ok()
        .filter(|_| ok)
        .ok_or_else(|| format!("`{s}` is not a date; expected YYYY-MM-DD such as 2026-12-31"))
}

fn parse_pair(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
        .ok_or_else(|| format!("`{s}` is not NAME=VALUE"))
}

fn parse_revocation_status(s: &str) -> Result<engine::revocation::RevocationStatus, String> {
    engine::revocation::RevocationStatus::parse(s).ok_or_else(|| {
        format!(
            "`{s}` is not a revocation status; expected one of {}",
            engine::revocation::RevocationStatus::NAMES.join(", ")
        )
    })
}

fn parse_case_status(s: &str) -> Result<engine::case::CaseStatus, String> {
    engine::case::CaseStatus::parse(s).ok_or_else(|| {
        format!(
            "`{s}` is not a case status; expected one of {}",
            engine::case::CaseStatus::NAMES.join(", ")
        )
    })
}
