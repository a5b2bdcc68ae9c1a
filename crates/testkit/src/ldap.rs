//! A real LDAP server for tests: OpenLDAP's slapd (Debian's `slapd` and `ldap-utils`), one per
//! test, on a free port, with its database in a temporary directory. The tests read it back
//! with OpenLDAP's own command-line tools, not with the client Exeunt uses.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{free_port, missing_service};

pub const SUFFIX: &str = "dc=exeunt,dc=test";
pub const ADMIN_DN: &str = "cn=admin,dc=exeunt,dc=test";
pub const ADMIN_PASSWORD: &str = "admin-secret";
pub const PEOPLE: &str = "ou=people,dc=exeunt,dc=test";
pub const GROUPS: &str = "ou=groups,dc=exeunt,dc=test";
pub const DISABLED: &str = "ou=disabled,dc=exeunt,dc=test";

pub struct LdapServer {
    child: Child,
    _dir: tempfile::TempDir,
    port: u16,
}

impl LdapServer {
    /// Starts one with the people, groups and disabled OUs; skips (or fails, when services
    /// are required) without slapd.
    pub fn start(test: &str) -> Option<LdapServer> {
        let slapd = "/usr/sbin/slapd";
        if !std::path::Path::new(slapd).exists() || !has("ldapadd") {
            return missing_service(test, "OpenLDAP (apt-get install slapd ldap-utils)");
        }
        let dir = tempfile::tempdir().expect("a directory for slapd");
        let db = dir.path().join("db");
        std::fs::create_dir(&db).expect("the database directory");
        let config = dir.path().join("slapd.conf");
        std::fs::write(
            &config,
            format!(
                "include /etc/ldap/schema/core.schema\n\
                 include /etc/ldap/schema/cosine.schema\n\
                 include /etc/ldap/schema/inetorgperson.schema\n\
                 include /etc/ldap/schema/nis.schema\n\
                 modulepath /usr/lib/ldap\n\
                 moduleload back_mdb\n\
                 pidfile {pid}\n\
                 database mdb\n\
                 suffix \"{SUFFIX}\"\n\
                 rootdn \"{ADMIN_DN}\"\n\
                 rootpw {ADMIN_PASSWORD}\n\
                 directory {db}\n\
                 maxsize 10485760\n",
                pid = dir.path().join("slapd.pid").display(),
                db = db.display(),
            ),
        )
        .expect("slapd.conf");
        let port = free_port();
        // `-d 0` keeps slapd in the foreground, so that dropping the server stops it.
        let child = Command::new(slapd)
            .arg("-f")
            .arg(&config)
            .args(["-h", &format!("ldap://127.0.0.1:{port}/"), "-d", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("slapd starts");
        let server = LdapServer {
            child,
            _dir: dir,
            port,
        };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                server.add(&format!(
                    "dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Exeunt\ndc: exeunt\n\n\
                     dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n\n\
                     dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups\n\n\
                     dn: {DISABLED}\nobjectClass: organizationalUnit\nou: disabled\n"
                ));
                return Some(server);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("slapd did not start on port {port}");
    }

    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// Adds entries, given as LDIF, as the directory's admin.
    pub fn add(&self, ldif: &str) {
        let mut child = Command::new("ldapadd")
            .args([
                "-x",
                "-H",
                &self.url(),
                "-D",
                ADMIN_DN,
                "-w",
                ADMIN_PASSWORD,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("ldapadd runs");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(ldif.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success(), "ldapadd failed:\n{ldif}");
    }

    /// A person under the people OU, with a password.
    pub fn add_person(&self, uid: &str, password: &str) -> String {
        let dn = format!("uid={uid},{PEOPLE}");
        self.add(&format!(
            "dn: {dn}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\nsn: {uid}\nuserPassword: {password}\n"
        ));
        dn
    }

    /// A group of names under the groups OU with these members (it needs at least one).
    pub fn add_group(&self, cn: &str, members: &[&str]) -> String {
        let dn = format!("cn={cn},{GROUPS}");
        let members: String = members.iter().map(|m| format!("member: {m}\n")).collect();
        self.add(&format!(
            "dn: {dn}\nobjectClass: groupOfNames\ncn: {cn}\n{members}"
        ));
        dn
    }

    /// Whether a simple bind as `dn` with `password` succeeds (OpenLDAP's ldapwhoami).
    pub fn can_bind(&self, dn: &str, password: &str) -> bool {
        Command::new("ldapwhoami")
            .args(["-x", "-H", &self.url(), "-D", dn, "-w", password])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// What an admin's search below `base` for `filter` prints (OpenLDAP's ldapsearch, LDIF).
    pub fn search(&self, base: &str, filter: &str, attrs: &[&str]) -> String {
        let out = Command::new("ldapsearch")
            .args([
                "-x",
                "-LLL",
                "-H",
                &self.url(),
                "-D",
                ADMIN_DN,
                "-w",
                ADMIN_PASSWORD,
            ])
            .args(["-b", base, filter])
            .args(attrs)
            .output()
            .expect("ldapsearch runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for LdapServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn has(tool: &str) -> bool {
    Command::new(tool)
        .arg("-VV")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}
