//! A sample tenant to explore Exeunt with: clients, a party with products, employees, an
//! organization, teams, users of every role, and cases in every status. Built through the
//! ordinary use cases, so the audit log tells how it came about.

use engine::fields::{PersonName, Reason, RevocationNote, TaskNote, TenantName};
use engine::ids::{Email, Password, Slug, SubjectKey, Text};
use engine::revocation::RevocationStatus;
use engine::subject::{Attributes, RecordFields, RecordKind, SubjectKind};
use engine::tenant::Role;
use jiff::civil::date;

use crate::{Actor, App, AppError, NewSubject, Result, StartCase, Upload};

/// A person to sign in as, with the password they were given.
#[derive(Clone, Debug)]
pub struct DemoLogin {
    pub email: Email,
    pub role: Role,
    pub password: Password,
}

fn invalid(e: impl std::fmt::Display) -> AppError {
    AppError::invalid("demo", e)
}

fn key(s: &str) -> Result<SubjectKey> {
    SubjectKey::parse(s).map_err(invalid)
}

fn slug(s: &str) -> Result<Slug> {
    Slug::parse(s).map_err(invalid)
}

fn subject(
    k: &str,
    kind: SubjectKind,
    name: &str,
    parent: Option<&str>,
    attrs: &[(&str, &str)],
) -> Result<NewSubject> {
    Ok(NewSubject {
        key: key(k)?,
        kind,
        name: Text::line(name, 200).map_err(invalid)?,
        parent: parent.map(key).transpose()?,
        attributes: Attributes::parse(attrs.iter().copied()).map_err(invalid)?,
    })
}

impl App {
    /// Creates the tenant `demo` and fills it. Returns who can sign in.
    pub async fn load_demo(&self) -> Result<Vec<DemoLogin>> {
        let email = |s: &str| Email::parse(s).map_err(invalid);
        let owner = self
            .init_tenant(
                slug("demo")?,
                TenantName::parse("Ledger & Co (demo)").map_err(invalid)?,
                email("olivia@demo.example")?,
                PersonName::parse("Olivia Owner").map_err(invalid)?,
            )
            .await?;
        let mut logins = vec![DemoLogin {
            email: owner.user.email.clone(),
            role: Role::Owner,
            password: self.reset_password(&owner, None).await?,
        }];
        for (address, name, role, teams) in [
            (
                "mark@demo.example",
                "Mark Manager",
                Role::Manager,
                &["account-management", "operations"][..],
            ),
            ("ines@demo.example", "Ines IT", Role::Member, &["it"][..]),
            (
                "fred@demo.example",
                "Fred Finance",
                Role::Member,
                &["finance"][..],
            ),
            (
                "hana@demo.example",
                "Hana HR",
                Role::Member,
                &["hr", "compliance"][..],
            ),
            (
                "audrey@demo.example",
                "Audrey Auditor",
                Role::Auditor,
                &[][..],
            ),
        ] {
            let teams: Vec<Slug> = teams.iter().map(|t| slug(t)).collect::<Result<_>>()?;
            let user = self
                .add_user(
                    &owner,
                    email(address)?,
                    PersonName::parse(name).map_err(invalid)?,
                    role,
                    &teams,
                )
                .await?;
            let password = self.reset_password(&owner, Some(&user.email)).await?;
            logins.push(DemoLogin {
                email: user.email,
                role,
                password,
            });
        }
        let manager = self
            .actor(Some(&owner.tenant.slug), Some(&email("mark@demo.example")?))
            .await?;

        let subjects = vec![
            subject(
                "ledger-and-co",
                SubjectKind::Organization,
                "Ledger & Co",
                None,
                &[],
            )?,
            subject(
                "globex",
                SubjectKind::Client,
                "Globex Corporation",
                None,
                &[
                    ("country", "DE"),
                    ("timezone", "Europe/Berlin"),
                    ("account_manager", "mark@demo.example"),
                    ("balance_outstanding", "1250.00"),
                ],
            )?,
            subject(
                "initech",
                SubjectKind::Client,
                "Initech",
                None,
                &[
                    ("country", "US"),
                    ("timezone", "America/Chicago"),
                    ("account_manager", "mark@demo.example"),
                ],
            )?,
            subject(
                "hooli",
                SubjectKind::Client,
                "Hooli",
                None,
                &[("country", "US"), ("timezone", "America/Los_Angeles")],
            )?,
            subject(
                "umbrella",
                SubjectKind::Client,
                "Umbrella Holding",
                None,
                &[
                    ("service_type", "client-file"),
                    ("country", "NL"),
                    ("timezone", "Europe/Amsterdam"),
                ],
            )?,
            subject(
                "umbrella-payroll",
                SubjectKind::Product,
                "Umbrella payroll",
                Some("umbrella"),
                &[],
            )?,
            subject(
                "umbrella-tax",
                SubjectKind::Product,
                "Umbrella tax filing",
                Some("umbrella"),
                &[],
            )?,
            subject(
                "kim",
                SubjectKind::Employee,
                "Kim Keller",
                None,
                &[
                    ("country", "DE"),
                    ("role", "engineer"),
                    ("timezone", "Europe/Berlin"),
                    ("manager", "mark@demo.example"),
                    ("department", "Engineering"),
                ],
            )?,
            subject(
                "lee",
                SubjectKind::Employee,
                "Lee Lopez",
                None,
                &[
                    ("country", "US"),
                    ("role", "manager"),
                    ("timezone", "America/New_York"),
                    ("manager", "olivia@demo.example"),
                ],
            )?,
            subject(
                "sam",
                SubjectKind::Employee,
                "Sam Singh",
                None,
                &[
                    ("country", "GB"),
                    ("role", "analyst"),
                    ("timezone", "Europe/London"),
                    ("manager", "mark@demo.example"),
                ],
            )?,
        ];
        self.add_subjects(&manager, subjects)
            .await
            .map_err(|(_, e)| e)?;
        for (k, kind, fields) in [
            (
                "globex",
                RecordKind::WorkItem,
                &[
                    ("title", "Quarterly VAT filing"),
                    ("owner", "mark@demo.example"),
                ][..],
            ),
            (
                "globex",
                RecordKind::WorkItem,
                &[
                    ("title", "Annual accounts 2026"),
                    ("owner", "mark@demo.example"),
                    ("new_owner", "fred@demo.example"),
                ][..],
            ),
            (
                "globex",
                RecordKind::Account,
                &[("system", "client-portal"), ("identifier", "globex-admin")][..],
            ),
            (
                "globex",
                RecordKind::Integration,
                &[("name", "Bank feed"), ("system", "open-banking")][..],
            ),
            (
                "globex",
                RecordKind::Contact,
                &[
                    ("name", "Greta Gross"),
                    ("email", "greta@globex.example"),
                    ("role", "CFO"),
                ][..],
            ),
            (
                "globex",
                RecordKind::Document,
                &[("name", "Engagement letter 2024.pdf")][..],
            ),
            (
                "initech",
                RecordKind::Account,
                &[
                    ("system", "client-portal"),
                    ("identifier", "initech-admin"),
                    ("status", "disabled"),
                ][..],
            ),
            (
                "umbrella",
                RecordKind::Contact,
                &[("name", "Ulla Ubbink"), ("email", "ulla@umbrella.example")][..],
            ),
            (
                "kim",
                RecordKind::Account,
                &[("system", "ldap"), ("identifier", "kkeller")][..],
            ),
            (
                "kim",
                RecordKind::Account,
                &[("system", "github"), ("identifier", "kim-k")][..],
            ),
            (
                "kim",
                RecordKind::Asset,
                &[("tag", "LT-0042"), ("description", "ThinkPad X1")][..],
            ),
            (
                "kim",
                RecordKind::WorkItem,
                &[("title", "Migration to the new ledger"), ("owner", "kim")][..],
            ),
            (
                "lee",
                RecordKind::Asset,
                &[
                    ("tag", "PH-0007"),
                    ("description", "iPhone 15"),
                    ("status", "returned"),
                ][..],
            ),
        ] {
            let fields = RecordFields::parse(kind, fields.iter().copied()).map_err(invalid)?;
            self.add_record(&manager, &key(k)?, kind, fields).await?;
        }

        let start = |k: &str, exit: jiff::civil::Date| -> Result<StartCase> {
            Ok(StartCase {
                subject: key(k)?,
                blueprint: None,
                exit_date: exit,
                owner: None,
                confirmation: None,
            })
        };
        let note = || {
            TaskNote::parse("done in the demo")
                .map(Some)
                .map_err(invalid)
        };
        let evidence = || {
            vec![Upload {
                file_name: "confirmation.txt".into(),
                content: b"Confirmed by the demo.".to_vec(),
            }]
        };

        // Globex: under way, past precheck and freeze, blocked at handoff by live work.
        let globex = self
            .start_case(&manager, start("globex", date(2027, 1, 29))?)
            .await?
            .number;
        for task in [
            "set-expectations",
            "account-transition",
            "confirm-final-invoice",
            "freeze-records",
        ] {
            self.complete_task(&manager, globex, &slug(task)?, note()?, evidence())
                .await?;
        }
        // Initech: completed.
        let initech = self
            .start_case(&manager, start("initech", date(2026, 11, 30))?)
            .await?
            .number;
        self.complete_all(&manager, initech).await?;
        self.close_case(&manager, initech, "TERMINATE").await?;
        // Umbrella (a party in the client file): every task done, waiting for review.
        let umbrella = self
            .start_case(&manager, start("umbrella", date(2026, 12, 15))?)
            .await?
            .number;
        self.complete_all(&manager, umbrella).await?;
        // Kim: just started; HR confirmed the exit date.
        let kim = self
            .start_case(&manager, start("kim", date(2026, 12, 31))?)
            .await?
            .number;
        self.complete_task(
            &manager,
            kim,
            &slug("confirm-exit-date")?,
            note()?,
            evidence(),
        )
        .await?;
        // Lee: cancelled, the history kept.
        let lee = self
            .start_case(&manager, start("lee", date(2027, 2, 28))?)
            .await?
            .number;
        self.cancel_case(
            &manager,
            lee,
            &Reason::parse("Lee accepted a counter-offer and stays").map_err(invalid)?,
        )
        .await?;
        Ok(logins)
    }

    /// Completes every open task of a case in order: verifies every revocation, hands every
    /// work item to the actor, and waives the blockers that stand in the way.
    async fn complete_all(&self, actor: &Actor, number: i64) -> Result<()> {
        let view = self.case(actor, number).await?;
        for item in view.revocations.iter().filter(|i| !i.status.is_settled()) {
            let note = RevocationNote::parse("Sign-in refused when checked in the demo")
                .map_err(invalid)?;
            self.set_revocation(
                actor,
                number,
                item.record_number,
                RevocationStatus::Verified,
                Some(note),
            )
            .await?;
        }
        let records = self.subject(actor, &view.subject.key).await?.records;
        for work in records
            .iter()
            .filter(|r| r.kind == RecordKind::WorkItem && r.fields.get("new_owner").is_none())
        {
            self.hand_off(actor, number, work.number, &actor.user.email)
                .await?;
        }
        self.request_export(actor, number).await?;
        while self.build_next_export().await?.is_some() {}
        let handed = Reason::parse("Handed over in person in the demo").map_err(invalid)?;
        self.waive_acknowledgement(actor, number, handed).await?;
        self.precheck(actor, number).await?;
        let file = self.case(actor, number).await?.file;
        for finding in file
            .findings
            .iter()
            .filter(|f| f.status == engine::case::FindingStatus::Open)
        {
            self.waive_finding(
                actor,
                number,
                &finding.finding.check_id,
                &Reason::parse("settled outside Exeunt in the demo").map_err(invalid)?,
            )
            .await?;
        }
        for task in file
            .tasks
            .iter()
            .filter(|t| t.status == engine::case::TaskStatus::Open)
        {
            let evidence = vec![Upload {
                file_name: "proof.txt".into(),
                content: b"Done in the demo.".to_vec(),
            }];
            self.complete_task(actor, number, &task.id, None, evidence)
                .await?;
        }
        Ok(())
    }
}
