//! Every listing reads an index in its own order, whatever filters it has, on a tenant large
//! enough that the database would rather read the whole table if it could: a regression test
//! of the plans (on PostgreSQL the generic plan, which a prepared statement settles on), not of
//! times.

use testkit::TestDb;

/// How many subjects, cases and jobs the tenant has; five tasks and five audit events a case.
/// Enough that reading the tenant's rows costs a planner more than an index (on both stores),
/// little enough for CI.
const CASES: u32 = 20_000;

/// The tenant, as each backend writes a UUID literal.
const TENANT: &str = "0190f0f0-0000-7000-8000-0000000000aa";

/// Loads the tenant in bulk, behind the store: the listings only read, so the rows need their
/// columns, not the use cases' rules (foreign keys are not checked while loading). Other
/// tenants' case counts and activity fill those tables as an installation of many tenants
/// would.
fn bulk_load(backend: &str) -> String {
    let (tenant, uuid, off) = match backend {
        "sqlite" => (
            format!("x'{}'", TENANT.replace('-', "")),
            "randomblob(16)",
            "PRAGMA foreign_keys = OFF;",
        ),
        _ => (
            format!("'{TENANT}'::uuid"),
            "gen_random_uuid()",
            "SET session_replication_role = replica;",
        ),
    };
    format!(
        "{off}
        INSERT INTO tenants (id, slug, name, created_at_us) VALUES ({tenant}, 'big', 'Big', 0);
        INSERT INTO subjects (tenant_id, id, key, kind, name, parent_id, state, attributes,
            created_at_us, updated_at_us)
          WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {CASES})
          SELECT {tenant}, {uuid}, 'subject-' || i,
            CASE WHEN i % 4 = 0 THEN 'employee' ELSE 'client' END, 'Subject ' || i, NULL,
            CASE WHEN i % 3 = 0 THEN 'offboarded' ELSE 'active' END, '{{}}', i, i FROM n;
        INSERT INTO cases (tenant_id, id, number, subject_id, blueprint_id, blueprint_version,
            parent_id, owner_id, exit_date, status, confirmation_word, stages, opened_at_us)
          SELECT tenant_id, {uuid}, ROW_NUMBER() OVER (ORDER BY key), id, 'client-standard', 1,
            NULL, {uuid}, '2026-12-31',
            CASE WHEN created_at_us % 3 = 0 THEN 'done' ELSE 'open' END, 'TERMINATE', '[]',
            created_at_us FROM subjects WHERE tenant_id = {tenant};
        INSERT INTO tasks (tenant_id, case_id, id, stage, position, title, description, kind,
            checklist, owner, owner_label, assignee, depends_on, due_at_us, evidence_required,
            status)
          WITH RECURSIVE k(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM k WHERE j < 5)
          SELECT c.tenant_id, c.id, 'task-' || k.j, 'stage', k.j, 'Task', '', 'manual', '[]',
            'team:it', 'IT', NULL, '[]', c.number * 1000 + k.j, {false},
            CASE WHEN k.j % 2 = 0 THEN 'done' ELSE 'open' END FROM cases c, k
          WHERE c.tenant_id = {tenant};
        INSERT INTO jobs (tenant_id, id, kind, payload, idempotency_key, case_id, status,
            attempts, max_attempts, run_at_us, created_at_us)
          SELECT tenant_id, {uuid}, 'access.revoke', '{{}}', 'job-' || number, id,
            CASE WHEN number % 10 = 0 THEN 'dead' ELSE 'done' END, 1, 5, number, number
          FROM cases WHERE tenant_id = {tenant};
        INSERT INTO audit_events (tenant_id, seq, at_us, actor, action, target_kind, target_id,
            payload, payload_digest, hash, subject_id, format, case_number)
          SELECT c.tenant_id, c.number * 5 + t.position, c.number, 'system',
            CASE WHEN t.position = 1 THEN 'task.completed' ELSE 'case.started' END, 'task',
            c.number || '/' || t.id, '{{}}', {digest}, {digest}, c.subject_id, 2, c.number
          FROM tasks t JOIN cases c ON c.tenant_id = t.tenant_id AND c.id = t.case_id
          WHERE t.tenant_id = {tenant};
        INSERT INTO case_counts (tenant_id, status, cases)
          WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {CASES})
          SELECT {uuid}, 'open', i FROM n;
        INSERT INTO case_activity_slots (tenant_id, slot_us, opened)
          WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {CASES})
          SELECT {uuid}, i * CAST(900000000 AS BIGINT), 1 FROM n;
        ANALYZE;",
        false = if backend == "sqlite" { "0" } else { "false" },
        digest = if backend == "sqlite" {
            "zeroblob(32)"
        } else {
            "'\\x00'::bytea"
        },
    )
}

async fn every_listing_reads_an_index_in_its_order(db: TestDb) {
    let backend = db.store.backend();
    db.execute_behind_the_store(&bulk_load(backend)).await;
    let tenant = engine::ids::TenantId(TENANT.parse().unwrap());
    let plans = db
        .store
        .read()
        .await
        .unwrap()
        .listing_plans(tenant)
        .await
        .unwrap();
    assert!(plans.len() >= 20, "every listing, with each of its filters");
    let growing: Vec<String> = plans
        .iter()
        .filter_map(|p| {
            p.whole_tenant_step()
                .map(|step| format!("{}: {step}\n  {}", p.listing, p.steps.join("\n  ")))
        })
        .collect();
    assert!(
        growing.is_empty(),
        "on {backend}, these listings read or sort the tenant's rows:\n{}",
        growing.join("\n")
    );
}

testkit::on_both_stores!(every_listing_reads_an_index_in_its_order);
