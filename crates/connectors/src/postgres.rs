//! PostgreSQL roles: `ALTER ROLE … NOLOGIN`, then the role's open sessions are ended.
//! Verifying reads the catalog again and tries to log in as the role, which must be refused.

use std::time::Duration;

use engine::connector::PostgresSettings;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Row};

use crate::{Access, Call, ConnectorError, within};

const SYSTEM: &str = "PostgreSQL";

fn options(
    settings: &PostgresSettings,
    password: &str,
) -> Result<PgConnectOptions, ConnectorError> {
    let options: PgConnectOptions = settings.url.parse().map_err(|e| ConnectorError::Config {
        setting: "url",
        reason: format!("not a PostgreSQL URL: {e}"),
    })?;
    let options = options.disable_statement_logging();
    Ok(if password.is_empty() {
        options
    } else {
        options.password(password)
    })
}

async fn connect(
    settings: &PostgresSettings,
    password: &str,
) -> Result<PgConnection, ConnectorError> {
    let options = options(settings, password)?;
    let target = format!("connect to {}:{}", options.get_host(), options.get_port());
    within(SYSTEM, settings.timeout_secs, &target, options.connect()).await
}

/// A role name as an SQL identifier.
fn quoted(role: &str) -> String {
    format!("\"{}\"", role.replace('"', "\"\""))
}

/// Whether the role may log in; `None` when there is no such role.
async fn can_login(
    conn: &mut PgConnection,
    secs: u64,
    role: &str,
) -> Result<Option<bool>, ConnectorError> {
    let query = sqlx::query("SELECT rolcanlogin FROM pg_roles WHERE rolname = $1").bind(role);
    let row = within(
        SYSTEM,
        secs,
        "read pg_roles",
        query.fetch_optional(&mut *conn),
    )
    .await?;
    Ok(row.map(|r| r.get::<bool, _>(0)))
}

async fn sessions(conn: &mut PgConnection, secs: u64, role: &str) -> Result<i64, ConnectorError> {
    let query = sqlx::query(
        "SELECT count(*) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()",
    )
    .bind(role);
    let row = within(
        SYSTEM,
        secs,
        "read pg_stat_activity",
        query.fetch_one(&mut *conn),
    )
    .await?;
    Ok(row.get::<i64, _>(0))
}

pub(crate) async fn revoke(
    settings: &PostgresSettings,
    password: &str,
    access: Access<'_>,
) -> Result<Vec<Call>, ConnectorError> {
    let secs = settings.timeout_secs;
    let role = access.identifier;
    let mut conn = connect(settings, password).await?;
    let mut calls = Vec::new();
    let login = can_login(&mut conn, secs, role).await?;
    calls.push(Call {
        call: format!("SELECT rolcanlogin FROM pg_roles WHERE rolname = '{role}'"),
        answer: match login {
            None => "no such role".to_owned(),
            Some(can) => format!("rolcanlogin = {can}"),
        },
    });
    if login == Some(true) {
        let statement = format!("ALTER ROLE {} NOLOGIN", quoted(role));
        within(
            SYSTEM,
            secs,
            &statement,
            sqlx::raw_sql(AssertSqlSafe(statement.clone())).execute(&mut conn),
        )
        .await?;
        calls.push(Call {
            call: statement,
            answer: "ALTER ROLE".to_owned(),
        });
    }
    let terminate = sqlx::query(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE usename = $1 AND pid <> pg_backend_pid()",
    )
    .bind(role);
    let ended = within(
        SYSTEM,
        secs,
        "end the role's sessions",
        terminate.fetch_one(&mut conn),
    )
    .await?
    .get::<i64, _>(0);
    calls.push(Call {
        call: format!("pg_terminate_backend of every session of {role}"),
        answer: format!("{ended} session(s) ended"),
    });
    let _ = conn.close().await;
    Ok(calls)
}

pub(crate) async fn verify(
    settings: &PostgresSettings,
    password: &str,
    access: Access<'_>,
) -> Result<Vec<String>, ConnectorError> {
    let secs = settings.timeout_secs;
    let role = access.identifier;
    let mut conn = connect(settings, password).await?;
    let login = can_login(&mut conn, secs, role).await?;
    // Sessions being ended may take a moment to leave pg_stat_activity.
    let mut live = sessions(&mut conn, secs, role).await?;
    for _ in 0..20 {
        if live == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        live = sessions(&mut conn, secs, role).await?;
    }
    let _ = conn.close().await;
    let mut checks = Vec::new();
    match login {
        None => checks.push(format!("there is no role {role}")),
        Some(true) => {
            return Err(ConnectorError::StillLive {
                system: SYSTEM,
                what: format!("role {role} can still log in"),
            });
        }
        Some(false) => checks.push(format!("role {role} has NOLOGIN")),
    }
    if live > 0 {
        return Err(ConnectorError::StillLive {
            system: SYSTEM,
            what: format!("{live} session(s) of {role} are still open"),
        });
    }
    checks.push(format!("no session of {role} is open"));
    // The proof a person would ask for: log in as the role and be turned away.
    let attempt = options(settings, "")?.username(role);
    match within(SYSTEM, secs, "log in", attempt.connect()).await {
        Ok(conn) => {
            let _ = conn.close().await;
            return Err(ConnectorError::StillLive {
                system: SYSTEM,
                what: format!("a login as {role} succeeded"),
            });
        }
        Err(ConnectorError::Call { reason, .. }) if !reason.contains("no answer within") => {
            checks.push(format!("a login as {role} is refused ({reason})"));
        }
        Err(e) => return Err(e),
    }
    Ok(checks)
}
