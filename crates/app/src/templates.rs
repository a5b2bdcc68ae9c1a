//! The wording of the emails Exeunt sends: built-in defaults, which a tenant's admins may
//! replace per notification kind with their own minijinja templates. A template is checked
//! when it is saved (it must parse, and render against a sample with every name it uses
//! defined), so a typo is refused with its line instead of breaking emails later. Rendering
//! is bounded (fuel) and has no access to anything but the context below.

use engine::tenant::Permission;
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;
use serde_json::json;

use crate::notifications::{NOTIFICATION_KINDS, notification_kind};
use crate::{Actor, App, AppError, Result};

const DEFAULT_SUBJECT: &str = "[Exeunt] {{ summary }}";
const DEFAULT_BODY: &str = "Hello {{ recipient.name }},\n\n{{ summary }}.\n\n\
Open it in the Offboarding Center:\n{{ link }}\n\n-- \nExeunt, for {{ tenant.name }}\n";

/// The longest template accepted, in bytes.
const TEMPLATE_MAX: usize = 10_000;
/// How much work one rendering may do: far more than any email needs, far less than a loop
/// that would hold a worker.
const FUEL: u64 = 100_000;

/// What a template can use.
#[derive(Serialize)]
pub(crate) struct EmailContext<'a> {
    pub recipient: Person<'a>,
    pub tenant: Named<'a>,
    /// What happened, in one sentence (no personal data of the subject).
    pub summary: &'a str,
    /// Where to see it: a full URL.
    pub link: &'a str,
    pub kind: &'a str,
}

#[derive(Serialize)]
pub(crate) struct Person<'a> {
    pub name: &'a str,
    pub email: &'a str,
}

#[derive(Serialize)]
pub(crate) struct Named<'a> {
    pub name: &'a str,
}

/// One kind's wording, as the tenant has it now.
#[derive(Clone, Debug, Serialize)]
pub struct EmailTemplate {
    pub kind: &'static str,
    pub subject: String,
    pub body: String,
    /// False while the built-in wording is used.
    pub custom: bool,
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env
}

/// Renders `subject` and `body`; the error names the part at fault and the line.
pub(crate) fn render(
    subject: &str,
    body: &str,
    context: &EmailContext<'_>,
) -> std::result::Result<(String, String), (&'static str, String)> {
    let env = environment();
    let value = minijinja::Value::from(minijinja::value::Serde(context));
    let run = |part: &'static str, source: &str| {
        env.render_str(source, value.clone()).map_err(|e| {
            let line = e.line().map(|l| format!("line {l}: ")).unwrap_or_default();
            let detail = e
                .detail()
                .map_or_else(|| e.kind().to_string(), str::to_owned);
            (part, format!("{line}{detail}"))
        })
    };
    let subject = run("subject", subject)?;
    let body = run("body", body)?;
    // A header holds one line: whatever a template does, the subject is folded into one.
    let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    if subject.is_empty() {
        return Err((
            "subject",
            "renders empty; expected a subject line".to_owned(),
        ));
    }
    Ok((subject, body))
}

/// The template for `kind`: the tenant's own, else the built-in one.
pub(crate) fn wording<'a>(own: &'a [(String, String, String)], kind: &str) -> (&'a str, &'a str) {
    own.iter()
        .find(|(k, _, _)| k == kind)
        .map_or((DEFAULT_SUBJECT, DEFAULT_BODY), |(_, s, b)| {
            (s.as_str(), b.as_str())
        })
}

impl App {
    /// Every kind's wording as the tenant has it.
    pub async fn email_templates(&self, actor: &Actor) -> Result<Vec<EmailTemplate>> {
        let own = self
            .store
            .read()
            .await?
            .email_templates(actor.tenant.id)
            .await?;
        Ok(NOTIFICATION_KINDS
            .iter()
            .map(|(kind, _)| {
                let (subject, body) = wording(&own, kind);
                EmailTemplate {
                    kind,
                    subject: subject.to_owned(),
                    body: body.to_owned(),
                    custom: own.iter().any(|(k, _, _)| k == kind),
                }
            })
            .collect())
    }

    /// Replaces one kind's wording, after checking it renders.
    pub async fn set_email_template(
        &self,
        actor: &Actor,
        kind: &str,
        subject: &str,
        body: &str,
    ) -> Result<EmailTemplate> {
        actor.require(Permission::ManageUsers)?;
        let kind = notification_kind(kind)?;
        for (part, text) in [("subject", subject), ("body", body)] {
            if text.len() > TEMPLATE_MAX {
                return Err(AppError::invalid(
                    part,
                    format!("is {} bytes; expected at most {TEMPLATE_MAX}", text.len()),
                ));
            }
        }
        let sample = EmailContext {
            recipient: Person {
                name: "Ines Example",
                email: "ines@example.com",
            },
            tenant: Named {
                name: &actor.tenant.name.to_string(),
            },
            summary: "Mia Manager gave you task “Build the export package” of case 1",
            link: "https://exeunt.example/cases/1/tasks/data-archiving",
            kind,
        };
        render(subject, body, &sample)
            .map_err(|(part, problem)| AppError::invalid(part, problem))?;
        let at = self.now();
        let mut tx = self.store.write().await?;
        tx.set_email_template(actor.tenant.id, kind, subject, body, actor.user.id, at)
            .await?;
        self.audit(&mut tx, actor, at, "email_template.set", ("email_template", kind.to_owned()), json!({
            "summary": format!("changed the wording of {kind} emails"), "subject": subject, "body": body,
        }))
        .await?;
        tx.commit().await?;
        Ok(EmailTemplate {
            kind,
            subject: subject.to_owned(),
            body: body.to_owned(),
            custom: true,
        })
    }

    /// Goes back to the built-in wording for `kind`.
    pub async fn reset_email_template(&self, actor: &Actor, kind: &str) -> Result<()> {
        actor.require(Permission::ManageUsers)?;
        let kind = notification_kind(kind)?;
        let at = self.now();
        let mut tx = self.store.write().await?;
        if !tx.delete_email_template(actor.tenant.id, kind).await? {
            return Err(AppError::Conflict(format!(
                "{kind} emails already use the built-in wording"
            )));
        }
        self.audit(
            &mut tx,
            actor,
            at,
            "email_template.reset",
            ("email_template", kind.to_owned()),
            json!({
                "summary": format!("went back to the built-in wording of {kind} emails"),
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> EmailContext<'static> {
        EmailContext {
            recipient: Person {
                name: "Ines",
                email: "ines@example.com",
            },
            tenant: Named { name: "Acme" },
            summary: "S",
            link: "https://x/1",
            kind: "task.assigned",
        }
    }

    #[test]
    fn the_defaults_render_and_typos_are_named_with_their_line() {
        let (subject, body) = render(DEFAULT_SUBJECT, DEFAULT_BODY, &context()).unwrap();
        assert_eq!(subject, "[Exeunt] S");
        assert!(
            body.starts_with("Hello Ines,") && body.contains("https://x/1"),
            "{body}"
        );
        let (part, problem) = render("ok", "Hi\n{{ recipient.nmae }}", &context()).unwrap_err();
        assert_eq!(part, "body");
        assert!(problem.starts_with("line 2"), "{problem}");
        let (part, _) = render("{% if %}", "x", &context()).unwrap_err();
        assert_eq!(part, "subject");
        let (_, problem) = render(
            "s",
            "{% for i in range(10000) %}{% for j in range(10000) %}x{% endfor %}{% endfor %}",
            &context(),
        )
        .unwrap_err();
        assert!(problem.contains("fuel"), "{problem}");
        let (subject, _) = render("a\n\nb", "x", &context()).unwrap();
        assert_eq!(subject, "a b", "one header line");
    }
}
