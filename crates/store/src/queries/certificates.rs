//! Signing keys and completion certificates.

use engine::ids::{CaseId, TenantId};

use crate::Result;
use crate::model::{CertificateRow, SigningKeyRow};
use crate::sql::{Row, args};

use super::*;

fn signing_key_row(r: &impl Row) -> Result<SigningKeyRow> {
    Ok(SigningKeyRow {
        tenant_id: TenantId(r.uuid("tenant_id")?),
        kid: r.text("kid")?.to_owned(),
        public_key: hash(r.bytes("public_key")?)?,
        sealed_private_key: r.bytes("sealed_private_key")?.to_vec(),
        created_at: from_us(r.int("created_at_us")?)?,
    })
}

fn certificate_row(r: &impl Row) -> Result<CertificateRow> {
    Ok(CertificateRow {
        case_id: CaseId(r.uuid("case_id")?),
        kid: r.text("kid")?.to_owned(),
        token: r.text("token")?.to_owned(),
        issued_at: from_us(r.int("issued_at_us")?)?,
    })
}

impl Tx {
    pub async fn insert_signing_key(&mut self, k: &SigningKeyRow) -> Result<()> {
        self.run(
            "INSERT INTO signing_keys (tenant_id, kid, public_key, sealed_private_key, created_at_us) \
             VALUES ($1, $2, $3, $4, $5)",
            args![
                k.tenant_id.0,
                &k.kid,
                &k.public_key,
                &k.sealed_private_key,
                us(k.created_at),
            ],
        )
        .await?;
        Ok(())
    }

    /// A tenant's signing keys, newest first; with no tenant, every tenant's. Only public
    /// halves are meant to cross tenants (the JWK set); private halves are sealed per tenant.
    pub async fn signing_keys(&mut self, tenant: Option<TenantId>) -> Result<Vec<SigningKeyRow>> {
        self.all(
            "SELECT tenant_id, kid, public_key, sealed_private_key, created_at_us FROM signing_keys \
             WHERE $1 IS NULL OR tenant_id = $1 ORDER BY created_at_us DESC, kid",
            args![tenant.map(|t| t.0)],
            |r| signing_key_row(r),
        )
        .await
    }

    pub async fn insert_certificate(&mut self, tenant: TenantId, c: &CertificateRow) -> Result<()> {
        self.run(
            "INSERT INTO certificates (tenant_id, case_id, kid, token, issued_at_us) \
             VALUES ($1, $2, $3, $4, $5)",
            args![tenant.0, c.case_id.0, &c.kid, &c.token, us(c.issued_at)],
        )
        .await?;
        Ok(())
    }

    pub async fn certificate(
        &mut self,
        tenant: TenantId,
        case: CaseId,
    ) -> Result<Option<CertificateRow>> {
        self.optional(
            "SELECT case_id, kid, token, issued_at_us FROM certificates \
             WHERE tenant_id = $1 AND case_id = $2",
            args![tenant.0, case.0],
            |r| certificate_row(r),
        )
        .await
    }
}
