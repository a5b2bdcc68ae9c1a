//! LDAP directories (ldap3): an account leaves every group below `groups_base`, then is locked
//! (its password removed, so no bind as it can succeed), moved to the disabled OU, or deleted.
//! Verifying searches the directory again as the connector's bind DN.

use std::collections::HashSet;
use std::time::Duration;

use engine::connector::{LdapDisable, LdapSettings};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Mod, Scope, SearchEntry, ldap_escape};

use crate::{Access, Call, ConnectorError, within};

const SYSTEM: &str = "LDAP";
/// The result code of a search below a base that does not exist.
const NO_SUCH_OBJECT: u32 = 32;
/// Group attributes that name members: by DN, and (posixGroup) by uid.
const MEMBER_BY_DN: [&str; 2] = ["member", "uniqueMember"];
const MEMBER_BY_UID: &str = "memberUid";

/// How long after the connector's timeout ldap3 gives up connecting or abandons an operation.
const ABANDON_AFTER: Duration = Duration::from_secs(1);

struct Directory<'a> {
    ldap: Ldap,
    settings: &'a LdapSettings,
}

impl<'a> Directory<'a> {
    async fn open(settings: &'a LdapSettings, password: &str) -> Result<Self, ConnectorError> {
        let timeout = Duration::from_secs(settings.timeout_secs);
        let conn = LdapConnSettings::new().set_conn_timeout(timeout + ABANDON_AFTER);
        let (conn, ldap) = within(
            SYSTEM,
            settings.timeout_secs,
            &format!("connect to {}", settings.url),
            LdapConnAsync::with_settings(conn, &settings.url),
        )
        .await?;
        ldap3::drive!(conn);
        let mut dir = Directory { ldap, settings };
        let bind = format!("bind as {}", settings.bind_dn);
        let secs = dir.secs();
        let result = within(
            SYSTEM,
            secs,
            &bind,
            dir.op().simple_bind(&settings.bind_dn, password),
        )
        .await?;
        if result.rc != 0 {
            return Err(ConnectorError::Call {
                system: SYSTEM,
                reason: format!("{bind}: {result}"),
            });
        }
        Ok(dir)
    }

    /// The handle for one operation. [`within`] stops waiting after the connector's timeout;
    /// ldap3 abandons the operation a moment later, so that the error people read is the one
    /// that names the limit (both at once, ldap3's "deadline has elapsed" won as often).
    fn op(&mut self) -> &mut Ldap {
        self.ldap
            .with_timeout(Duration::from_secs(self.settings.timeout_secs) + ABANDON_AFTER)
    }

    fn secs(&self) -> u64 {
        self.settings.timeout_secs
    }

    /// Entries below `base` matching `filter`; none when the base itself does not exist.
    async fn search(
        &mut self,
        base: &str,
        filter: &str,
        attrs: &[&str],
    ) -> Result<Vec<SearchEntry>, ConnectorError> {
        let what = format!("search {base} for {filter}");
        let secs = self.secs();
        let search = self
            .op()
            .search(base, Scope::Subtree, filter, attrs.to_vec());
        let result = within(SYSTEM, secs, &what, search).await?;
        if result.1.rc == NO_SUCH_OBJECT {
            return Ok(Vec::new());
        }
        let (entries, _) = result.success().map_err(|e| ConnectorError::Call {
            system: SYSTEM,
            reason: format!("{what}: {e}"),
        })?;
        Ok(entries.into_iter().map(SearchEntry::construct).collect())
    }

    /// The account's entry, wherever it is now (still with the people, or already moved to
    /// the disabled OU).
    async fn account(&mut self, uid: &str) -> Result<Option<SearchEntry>, ConnectorError> {
        let filter = format!("({}={})", self.settings.user_attribute, ldap_escape(uid));
        let mut bases = vec![self.settings.people_base.clone()];
        bases.extend(self.settings.disabled_ou.clone());
        for base in bases {
            let found = self.search(&base, &filter, &["userPassword"]).await?;
            if let Some(entry) = found.into_iter().next() {
                return Ok(Some(entry));
            }
        }
        Ok(None)
    }

    /// The groups that still list the account, with the attribute that lists it.
    async fn memberships(
        &mut self,
        dn: Option<&str>,
        uid: &str,
    ) -> Result<Vec<(String, &'static str, String)>, ConnectorError> {
        let Some(base) = self.settings.groups_base.clone() else {
            return Ok(Vec::new());
        };
        let mut clauses = vec![format!("({MEMBER_BY_UID}={})", ldap_escape(uid))];
        if let Some(dn) = dn {
            for attr in MEMBER_BY_DN {
                clauses.push(format!("({attr}={})", ldap_escape(dn)));
            }
        }
        let filter = format!("(|{})", clauses.concat());
        let groups = self
            .search(&base, &filter, &["member", "uniqueMember", "memberUid"])
            .await?;
        let mut found = Vec::new();
        for group in groups {
            for attr in MEMBER_BY_DN {
                if let (Some(dn), Some(values)) = (dn, group.attrs.get(attr))
                    && values.iter().any(|v| v.eq_ignore_ascii_case(dn))
                {
                    found.push((group.dn.clone(), attr, dn.to_owned()));
                }
            }
            if group
                .attrs
                .get(MEMBER_BY_UID)
                .is_some_and(|v| v.iter().any(|v| v == uid))
            {
                found.push((group.dn.clone(), MEMBER_BY_UID, uid.to_owned()));
            }
        }
        Ok(found)
    }

    async fn change(
        &mut self,
        what: String,
        dn: String,
        mods: Vec<Mod<String>>,
    ) -> Result<Call, ConnectorError> {
        let secs = self.secs();
        let result = within(SYSTEM, secs, &what, self.op().modify(&dn, mods)).await?;
        answer(what, result)
    }

    async fn close(mut self) {
        let _ = self.ldap.unbind().await;
    }
}

fn answer(call: String, result: ldap3::LdapResult) -> Result<Call, ConnectorError> {
    if result.rc != 0 {
        return Err(ConnectorError::Call {
            system: SYSTEM,
            reason: format!("{call}: {result}"),
        });
    }
    Ok(Call {
        call,
        answer: "success".to_owned(),
    })
}

fn has_password(entry: &SearchEntry) -> bool {
    entry.attrs.contains_key("userPassword") || entry.bin_attrs.contains_key("userPassword")
}

/// The entry's own RDN (`uid=jdoe` of `uid=jdoe,ou=people,…`).
fn rdn(dn: &str) -> &str {
    dn.split(',').next().unwrap_or(dn)
}

fn under(dn: &str, base: &str) -> bool {
    dn.to_ascii_lowercase()
        .ends_with(&format!(",{}", base.to_ascii_lowercase()))
}

pub(crate) async fn revoke(
    settings: &LdapSettings,
    password: &str,
    access: Access<'_>,
) -> Result<Vec<Call>, ConnectorError> {
    let mut dir = Directory::open(settings, password).await?;
    let outcome = revoke_in(&mut dir, access.identifier).await;
    dir.close().await;
    outcome
}

async fn revoke_in(dir: &mut Directory<'_>, uid: &str) -> Result<Vec<Call>, ConnectorError> {
    let settings = dir.settings;
    let mut calls = Vec::new();
    let entry = dir.account(uid).await?;
    let dn = entry.as_ref().map(|e| e.dn.clone());
    calls.push(Call {
        call: format!(
            "search {} for {}={uid}",
            settings.people_base, settings.user_attribute
        ),
        answer: dn.clone().unwrap_or_else(|| "no entry".to_owned()),
    });
    for (group, attr, value) in dir.memberships(dn.as_deref(), uid).await? {
        let mods = vec![Mod::Delete(attr.to_owned(), HashSet::from([value.clone()]))];
        calls.push(
            dir.change(format!("remove {attr} {value} from {group}"), group, mods)
                .await?,
        );
    }
    let Some(entry) = entry else {
        return Ok(calls);
    };
    if settings.disable != LdapDisable::Delete && has_password(&entry) {
        let mods = vec![Mod::Delete("userPassword".to_owned(), HashSet::new())];
        calls.push(
            dir.change(
                format!("remove the password of {}", entry.dn),
                entry.dn.clone(),
                mods,
            )
            .await?,
        );
    }
    match (settings.disable, &settings.disabled_ou) {
        (LdapDisable::Move, Some(ou)) if !under(&entry.dn, ou) => {
            let what = format!("move {} to {ou}", entry.dn);
            let secs = dir.secs();
            let moving = dir.op().modifydn(&entry.dn, rdn(&entry.dn), true, Some(ou));
            let result = within(SYSTEM, secs, &what, moving).await?;
            calls.push(answer(what, result)?);
        }
        (LdapDisable::Delete, _) => {
            let what = format!("delete {}", entry.dn);
            let secs = dir.secs();
            let result = within(SYSTEM, secs, &what, dir.op().delete(&entry.dn)).await?;
            calls.push(answer(what, result)?);
        }
        _ => {}
    }
    Ok(calls)
}

pub(crate) async fn verify(
    settings: &LdapSettings,
    password: &str,
    access: Access<'_>,
) -> Result<Vec<String>, ConnectorError> {
    let mut dir = Directory::open(settings, password).await?;
    let outcome = verify_in(&mut dir, access.identifier).await;
    dir.close().await;
    outcome
}

async fn verify_in(dir: &mut Directory<'_>, uid: &str) -> Result<Vec<String>, ConnectorError> {
    let settings = dir.settings;
    let still = |what: String| ConnectorError::StillLive {
        system: SYSTEM,
        what,
    };
    let mut checks = Vec::new();
    let entry = dir.account(uid).await?;
    match &entry {
        None => checks.push(format!(
            "no entry with {}={uid} below {}",
            settings.user_attribute, settings.people_base
        )),
        Some(e) if settings.disable == LdapDisable::Delete => {
            return Err(still(format!("{} still exists", e.dn)));
        }
        Some(e) if has_password(e) => {
            return Err(still(format!("{} still has a password to bind with", e.dn)));
        }
        Some(e) => {
            if let (LdapDisable::Move, Some(ou)) = (settings.disable, &settings.disabled_ou) {
                if !under(&e.dn, ou) {
                    return Err(still(format!("{} is not in {ou}", e.dn)));
                }
                checks.push(format!("{} is in {ou}", e.dn));
            }
            checks.push(format!(
                "{} has no password: no bind as it can succeed",
                e.dn
            ));
        }
    }
    let left = dir
        .memberships(entry.as_ref().map(|e| e.dn.as_str()), uid)
        .await?;
    if let Some((group, attr, _)) = left.first() {
        return Err(still(format!("{group} still lists it as {attr}")));
    }
    if let Some(base) = &settings.groups_base {
        checks.push(format!("no group below {base} lists it"));
    }
    Ok(checks)
}
