// The Offboarding Center in Chromium, as the people who run offboarding use it. Started by
// crates/server/tests/browser.rs, which spawns the server and passes who may sign in.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const base = process.env.EXEUNT_BASE_URL;
const people = JSON.parse(process.env.EXEUNT_PEOPLE);
const screenshots = process.env.EXEUNT_SCREENSHOTS;
const firstRunCode = process.env.EXEUNT_FIRST_RUN_CODE;

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.EXEUNT_CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => { await browser.close(); });

/** A page in a browser context of its own (its own cookies), quick to fail. */
async function newPage() {
  const page = await (await browser.newContext()).newPage();
  page.setDefaultTimeout(10_000);
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: `${screenshots}/${name}.png`, fullPage: true });
}

/** A fresh browser signed in as one of `people`. */
async function signIn(who) {
  const person = people[who];
  const page = await newPage();
  await page.goto(`${base}/sign-in`);
  if (await page.locator('#tenant').count()) await page.fill('#tenant', person.tenant);
  await page.fill('#email', person.email);
  await page.fill('#password', person.password);
  await page.click('form[action="/sign-in"] button[type=submit]');
  await page.waitForURL(`${base}/`);
  return page;
}

const flash = (page) => page.locator('main .flash').first().innerText();

async function expectFlash(page, pattern) {
  const text = await flash(page);
  assert.match(text, pattern);
  return text;
}

/** Completes a task from its page, with a file as evidence when asked to. */
async function completeTask(page, number, task, { evidence = false, note } = {}) {
  await page.goto(`${base}/cases/${number}/tasks/${task}`);
  for (const box of await page.locator('input[name=ticked]').all()) await box.check();
  if (note) await page.fill('#note', note);
  if (evidence) {
    await page.setInputFiles('#evidence', {
      name: `${task}.txt`, mimeType: 'text/plain', buffer: Buffer.from(`Evidence for ${task}`),
    });
  }
  await page.click('form[action$="/complete"] button[type=submit]');
  await expectFlash(page, /^Completed/);
  assert.equal(await page.locator('#task-status').innerText(), 'done');
}

let caseNumber;

test('a fresh firm\'s owner sets a first password and lands at home', async () => {
  const page = await newPage();
  await page.goto(`${base}/sign-in`);
  assert.match(await page.locator('main').innerText(), /has no password yet/);
  await shot(page, 'sign-in');
  await page.goto(`${base}/first-run`);
  await shot(page, 'first-run');
  await page.fill('#code', 'not-the-code');
  await page.fill('#password', 'a long first password');
  await page.fill('#confirm', 'a long first password');
  await page.click('button[type=submit]');
  assert.match(await flash(page), /not the setup code/);
  await page.fill('#code', firstRunCode);
  await page.fill('#password', 'a long first password');
  await page.fill('#confirm', 'a long first password');
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/`);
  assert.match(await page.locator('.who').innerText(), /Frida Fresh/);
});

test('a wrong password is refused and the page says so', async () => {
  const page = await newPage();
  await page.goto(`${base}/cases`);
  await page.waitForURL(/\/sign-in\?next=/);
  await page.fill('#tenant', 'demo');
  await page.fill('#email', people.manager.email);
  await page.fill('#password', 'wrong password, surely');
  await page.click('button[type=submit]');
  assert.match(await flash(page), /email or the password is wrong/);
});

test('home shows my tasks, cases by status and the charts', async () => {
  const page = await signIn('manager');
  const main = await page.locator('main').innerText();
  assert.match(main, /My tasks/);
  assert.match(main, /Overdue tasks by team/);
  assert.equal(await page.locator('.tile').count(), 4);
  assert.equal(await page.locator('.chart svg').count(), 2);
  await shot(page, 'home');
});

test('subjects are searched and filtered; offboarded ones show on request', async () => {
  const page = await signIn('manager');
  await page.goto(`${base}/subjects`);
  await page.fill('#search', 'hoo');
  await page.click('form[role=search] button[type=submit]');
  const rows = page.locator('main table tbody tr');
  assert.equal(await rows.count(), 1);
  assert.match(await rows.first().innerText(), /Hooli/);
  await page.fill('#search', '');
  await page.selectOption('#kind', 'client');
  await page.click('form[role=search] button[type=submit]');
  assert.doesNotMatch(await page.locator('main table').innerText(), /Initech/, 'offboarded clients are hidden');
  await page.check('input[name=show_offboarded]');
  await page.click('form[role=search] button[type=submit]');
  assert.match(await page.locator('main table').innerText(), /Initech/);
  await shot(page, 'subjects');
});

test('a client offboarding starts from the subject page, with a plan preview first', async () => {
  const page = await signIn('manager');
  await page.goto(`${base}/subjects/hooli`);
  // Live work and a login, so that precheck has something to block on.
  await page.click('text=Add a record');
  await page.selectOption('#record-kind', 'account');
  await page.fill('#record-fields', 'system=client-portal\nidentifier=hooli-admin');
  await page.click('form[action$="/records"] button[type=submit]');
  await expectFlash(page, /Added account 1/);
  await page.click('text=Add a record');
  await page.selectOption('#record-kind', 'work_item');
  await page.fill('#record-fields', `title=Monthly close\nowner=${people.manager.email}`);
  await page.click('form[action$="/records"] button[type=submit]');
  await expectFlash(page, /Added work item 2/);
  // A bad line is refused, saying which, and nothing is added.
  await page.click('text=Add a record');
  await page.selectOption('#record-kind', 'note');
  await page.fill('#record-fields', 'this line has no equals sign');
  await page.click('form[action$="/records"] button[type=submit]');
  await expectFlash(page, /^Fields line 1: this line has no equals sign is not field=value/);
  assert.doesNotMatch(await page.locator('main').innerText(), /#3/);
  await shot(page, 'subject');

  // Both entry points lead to the same flow.
  const fromOverview = await page.locator('.page-head a.button', { hasText: 'Start Offboarding' }).getAttribute('href');
  await page.click('nav.tabs >> text=Settings');
  const fromSettings = await page.locator('#offboard-h ~ p a.button', { hasText: 'Start Offboarding' }).getAttribute('href');
  assert.equal(fromOverview, '/subjects/hooli/offboard');
  assert.equal(fromSettings, fromOverview);

  // Until someone chooses, a client's case goes to its account manager, else to whoever starts it.
  const signedInAsOwner = await signIn('owner');
  await signedInAsOwner.goto(`${base}/subjects/initech/offboard`);
  assert.equal(await signedInAsOwner.locator('#owner').inputValue(), people.manager.email, 'Initech\'s account manager');
  await signedInAsOwner.goto(`${base}/subjects/hooli/offboard`);
  assert.equal(await signedInAsOwner.locator('#owner').inputValue(), people.owner.email, 'Hooli has no account manager');
  await signedInAsOwner.close();

  await page.goto(`${base}${fromSettings}`);
  // The owner pickers offer nobody who only reads.
  const owners = await page.locator('#owner option').evaluateAll((options) => options.map((o) => o.value));
  assert.ok(owners.includes(people.owner.email) && !owners.includes(people.auditor.email), owners.join(' '));
  await page.selectOption('#blueprint', 'client-standard');
  await page.fill('#exit_date', '2026-12-31');
  // The preview gives the owner's tasks to the owner chosen, not to whoever looks.
  await page.selectOption('#owner', people.owner.email);
  await page.click('text=Preview the plan');
  const forOwner = await page.locator('#plan-h').locator('..').innerText();
  assert.ok(forOwner.includes(people.owner.email) && !forOwner.includes(people.manager.email), forOwner);
  await page.selectOption('#owner', people.manager.email);
  await page.click('text=Preview the plan');
  const plan = await page.locator('#plan-h').locator('..').innerText();
  assert.match(plan, /Precheck/);
  assert.match(plan, /Set expectations with the client/);
  assert.match(plan, /America\/Los_Angeles/, 'due dates name the client\'s time zone beside the reader\'s');
  const plannedDue = await page.locator('#plan-h').locator('..').locator('tr', { hasText: 'Set expectations with the client' }).locator('td').nth(3).innerText();
  await shot(page, 'offboard');
  await page.click('text=3. Start the offboarding');
  await page.waitForURL(/\/cases\/\d+$/);
  caseNumber = Number(page.url().split('/').pop());
  await expectFlash(page, new RegExp(`Started case ${caseNumber}`));
  // One deadline reads the same in the preview and on the task's page.
  await page.goto(`${base}/cases/${caseNumber}/tasks/set-expectations`);
  assert.equal(await page.locator('dt:has-text("Due") + dd').innerText(), plannedDue);
});

test('the case page shows the blockers that gate the handoff', async () => {
  const page = await signIn('manager');
  await page.goto(`${base}/cases/${caseNumber}`);
  const findings = await page.locator('#findings').innerText();
  assert.match(findings, /Accounts or integrations are still active/);
  assert.match(findings, /Live work without a new owner/);
  assert.equal(await page.locator('.pipeline li.blocked').count(), 1);
  assert.match(await page.locator('.pipeline li.blocked').innerText(), /Handoff/);
  await shot(page, 'case');
});

test('tasks are completed through every stage, records freeze, the export is built', async () => {
  const page = await signIn('manager');
  const n = caseNumber;
  await completeTask(page, n, 'set-expectations', { evidence: true, note: 'Agreed on a call' });
  await shot(page, 'task');
  await completeTask(page, n, 'account-transition');
  await completeTask(page, n, 'confirm-final-invoice');
  await completeTask(page, n, 'freeze-records');

  // From the Freeze stage on, the client's records are read-only.
  await page.goto(`${base}/subjects/hooli`);
  await page.click('text=Add a record');
  await page.selectOption('#record-kind', 'note');
  await page.fill('#record-fields', 'text=one more note');
  const [locked] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/subjects/hooli/records')),
    page.click('form[action$="/records"] button[type=submit]'),
  ]);
  assert.equal(locked.status(), 423);
  assert.match(await page.locator('h1').innerText(), /Frozen by an offboarding/);

  // Export first: build it, wait for the worker, then hand it over.
  await page.goto(`${base}/cases/${n}`);
  await page.click('text=Build export');
  await expectFlash(page, /built in the background/);
  for (let i = 0; i < 30 && !(await page.locator('#export-h ~ table .badge.ready').count()); i++) {
    await page.waitForTimeout(500);
    await page.reload();
  }
  assert.equal(await page.locator('#export-h ~ table .badge.ready').count(), 1, 'the export was built');
  await completeTask(page, n, 'data-archiving');
  await page.goto(`${base}/cases/${n}`);
  await page.fill('#link-days', '7');
  await page.click('button:has-text("Create the client")');
  const linkText = await expectFlash(page, /\/receive\//);
  const link = linkText.match(/https?:\/\/\S+\/receive\/\S+/)[0];
  const client = await newPage();
  await client.goto(link);
  assert.match(await client.locator('h1').innerText(), /Your data from/);
  await client.fill('#name', 'Gavin Belson');
  await client.click('button[type=submit]');
  assert.match(await client.locator('main').innerText(), /acknowledged by Gavin Belson/);
  await completeTask(page, n, 'deliver-export', { evidence: true });

  // Revoke: the login is disabled, then verified gone.
  await page.goto(`${base}/cases/${n}`);
  const login = page.locator('tr[data-revocation="1"]');
  await login.locator('select').selectOption('revoked');
  await login.locator('button').click();
  await expectFlash(page, /is revoked now/);
  await login.locator('select').selectOption('verified');
  await login.locator('input[name=note]').fill('Sign-in as hooli-admin refused at 17:05');
  await login.locator('button').click();
  await expectFlash(page, /is verified now/);
  // Verified gone: the item's exposure window closes, and so does the case's.
  assert.match(await page.locator('tr[data-revocation="1"] [data-exposure]').innerText(), /closed after/);
  assert.match(await page.locator('[data-case-exposure]').innerText(), /Exposure window: closed after/);
  await completeTask(page, n, 'revoke-integrations', { evidence: true });
  await completeTask(page, n, 'asset-return');

  // Handoff: the live work gets a new owner, and precheck clears both blockers.
  await page.goto(`${base}/cases/${n}`);
  const work = page.locator('tr[data-work-item="2"]');
  await work.locator('select').selectOption(people.manager.email);
  await work.locator('button').click();
  await expectFlash(page, /Work item 2 is/);
  await page.click('text=Run precheck');
  await expectFlash(page, /Precheck ran/);
  assert.equal(await page.locator('.badge.blocker', { hasText: 'blocking' }).count(), 0);
  for (const task of ['knowledge-transfer', 'final-payment', 'exit-interview', 'part-respectfully', 'schedule-purge']) {
    await completeTask(page, n, task);
  }
  await page.goto(`${base}/cases/${n}`);
  assert.equal(await page.locator('#case-status').innerText(), 'review');
});

test('the timeline tells the case step by step', async () => {
  const page = await signIn('manager');
  await page.goto(`${base}/cases/${caseNumber}`);
  const timeline = await page.locator('#timeline').innerText();
  assert.match(timeline, new RegExp(`Started case ${caseNumber} for client hooli`));
  assert.doesNotMatch(timeline, /`/, 'no backticks: quoted keys are set as code');
  assert.match(timeline, new RegExp(`Completed task “Set expectations with the client” of case ${caseNumber}`));
  assert.match(timeline, /Mark Manager/);
});

test('closing asks for TERMINATE and refuses a mistyped word', async () => {
  const page = await signIn('manager');
  await page.goto(`${base}/cases/${caseNumber}`);
  await page.click('text=Close case…');
  await page.fill('#confirm', 'TERMINTE');
  await page.click('#close-dialog button[type=submit]');
  await expectFlash(page, /confirmation word/);
  assert.equal(await page.locator('#case-status').innerText(), 'review');
  await page.click('text=Close case…');
  await page.fill('#confirm', 'TERMINATE');
  await page.click('#close-dialog button[type=submit]');
  await expectFlash(page, /is done/);
  assert.equal(await page.locator('#case-status').innerText(), 'done');
  assert.equal(await page.locator('#case-resolution').innerText(), 'completed');
  // The certificate, as a person reads and prints it.
  await page.getByRole('link', { name: 'Certificate' }).click();
  const certificate = await page.locator('main').innerText();
  assert.match(certificate, /Certificate of completed offboarding/);
  assert.match(certificate, /client hooli/);
  assert.match(certificate, /\/\.well-known\/jwks\.json/);
  assert.match(certificate, new RegExp(`exeunt certificate verify case-${caseNumber}-certificate\\.json`));
  assert.equal(await page.getByRole('link', { name: 'Download the signed certificate' }).count(), 1);
  await shot(page, 'certificate');
  await page.goto(`${base}/cases/${caseNumber}`);
  // Done is final: no more forms to change it.
  assert.equal(await page.locator('button:has-text("Close case…")').count(), 0);
});

test('an auditor sees everything and can change nothing', async () => {
  const page = await signIn('auditor');
  await page.goto(`${base}/cases/${caseNumber}`);
  assert.match(await page.locator('h1').innerText(), new RegExp(`Case ${caseNumber}`));
  await page.goto(`${base}/cases/1`);
  assert.equal(await page.locator('button:has-text("Close case…")').count(), 0);
  assert.equal(await page.locator('button:has-text("Run precheck")').count(), 0);
  // A form sent anyway is refused, naming the role it needs.
  const refused = await page.evaluate(async () => {
    const token = document.querySelector('input[name=csrf_token]').value;
    const r = await fetch('/cases/1/cancel', {
      method: 'POST',
      body: new URLSearchParams({ csrf_token: token, reason: 'an auditor trying' }),
    });
    return { status: r.status, text: await r.text() };
  });
  assert.equal(refused.status, 403);
  assert.match(refused.text, /needs the manager role/);
  await page.goto(`${base}/cases/1`);
  assert.notEqual(await page.locator('#case-status').innerText(), 'done');
});

test('a member of another firm finds nothing of this one', async () => {
  const page = await signIn('rival');
  for (const path of [`/cases/${caseNumber}`, '/subjects/hooli', `/cases/${caseNumber}/tasks/set-expectations`]) {
    const response = await page.goto(`${base}${path}`);
    assert.equal(response.status(), 404, path);
    assert.match(await page.locator('h1').innerText(), /Not found/);
  }
  await page.goto(`${base}/cases`);
  assert.match(await page.locator('main').innerText(), /No cases/);
});

test('the Audit Center filters the history and verifies the chain', async () => {
  const page = await signIn('auditor');
  await page.goto(`${base}/audit`);
  await page.fill('#f-case', String(caseNumber));
  await page.click('form.filters button[type=submit]');
  const events = await page.locator('#audit-events').innerText();
  assert.match(events, /case\.started/);
  assert.doesNotMatch(events, /started case 1 for/i, 'only this case\'s events');
  await page.fill('#f-case', '');
  await page.fill('#f-action', 'case.closed');
  await page.click('form.filters button[type=submit]');
  assert.match(await page.locator('#audit-events').innerText(), /case\.closed/);
  await page.click('text=Verify chain');
  await expectFlash(page, /audit chain is intact/);
  // The whole history comes a page at a time, what just happened first.
  await page.goto(`${base}/audit`);
  const seqs = async () => (await page.locator('#audit-events tbody tr td:first-child').allInnerTexts()).map(Number);
  const firstPage = await seqs();
  // What each event is about reads in words, with no raw UUID.
  const about = await page.locator('#audit-events td[data-label="About"]').allInnerTexts();
  assert.ok(about.some((a) => /^Case \d+/.test(a)), about.join(' | '));
  assert.ok(about.every((a) => !/[0-9a-f]{8}-[0-9a-f]{4}-/.test(a)), about.join(' | '));
  assert.ok(firstPage.every((seq, i) => i === 0 || seq < firstPage[i - 1]), 'newest first');
  await page.click('a[rel=next]');
  const secondPage = await seqs();
  assert.ok(secondPage[0] < firstPage[firstPage.length - 1], `page two goes on where page one stopped (${firstPage.at(-1)}, ${secondPage[0]})`);
  await page.click('text=← First page');
  await shot(page, 'audit');
});

test('blueprints read as stages and tasks, preview a plan, and lint an upload inline', async () => {
  const page = await signIn('owner');
  await page.goto(`${base}/blueprints`);
  await page.click('text=Standard client offboarding');
  const main = await page.locator('main').innerText();
  assert.match(main, /1\. Precheck/);
  assert.match(main, /Build the export package/);
  await page.selectOption('#p-subject', 'globex');
  await page.fill('#p-date', '2027-03-31');
  await page.click('button:has-text("Preview")');
  assert.match(await page.locator('#preview-h').locator('..').innerText(), /Europe\/Berlin/);
  await shot(page, 'blueprint');

  await page.goto(`${base}/blueprints`);
  const broken = [
    'id: broken', 'version: 1', 'title: Broken', 'scope: client', 'stages:', '  - id: one',
    '    title: One', '    tasks:', '      - id: a', '        title: A', '        team: it',
    '        depends_on: [nowhere]',
  ].join('\n');
  await page.fill('#source', broken);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/blueprints') && r.request().method() === 'POST'),
    page.click('text=Check and publish'),
  ]);
  assert.equal(response.status(), 422);
  const report = await page.locator('#lint-report').innerText();
  assert.match(report, /line 12, column \d+: .*nowhere/);
  await shot(page, 'blueprints');
});

test('a party is offboarded from the client file dialog, then its product terminated', async () => {
  const page = await signIn('manager');
  await page.goto(`${base}/subjects/umbrella`);
  await page.getByRole('button', { name: 'Party Offboarding…' }).click();
  const dialog = page.locator('#party-dialog');
  assert.match(await dialog.innerText(), /review/);
  await dialog.locator('#party-resolution').selectOption('done');
  await dialog.locator('#party-confirm').fill('TERMINTE');
  await dialog.locator('button[type=submit]').click();
  // Refused: the dialog is open again as it was left, and nothing changed.
  await expectFlash(page, /confirmation word/);
  assert.ok(await dialog.isVisible(), 'the dialog opens again');
  assert.equal(await dialog.locator('#party-resolution').inputValue(), 'done');
  assert.match(await dialog.innerText(), /review/);
  await dialog.locator('#party-confirm').fill('TERMINATE');
  await dialog.locator('button[type=submit]').click();
  await expectFlash(page, /the party is offboarded/);

  await page.goto(`${base}/subjects/umbrella-payroll`);
  await page.click('button:has-text("Terminate product")');
  await page.locator('#terminate-owner').selectOption(people.manager.email);
  await page.click('#terminate-dialog button[type=submit]');
  await page.waitForURL(/\/cases\/\d+$/);
  await expectFlash(page, /Started case/);
  assert.doesNotMatch(await page.locator('main').innerText(), /Offboard the party first/);
});

test('only the owner sees Start Organization Offboarding', async () => {
  const manager = await signIn('manager');
  await manager.goto(`${base}/settings`);
  assert.equal(await manager.locator('text=Start Organization Offboarding').count(), 0);
  // A manager reads the time zone new people start in; only admins and the owner set it.
  assert.equal(await manager.locator('form[action="/settings/time-zone"]').count(), 0);
  assert.match(await manager.locator('section[aria-labelledby="zone-h"]').innerText(), /UTC/);
  const owner = await signIn('owner');
  await owner.goto(`${base}/settings`);
  assert.equal(await owner.locator('button', { hasText: 'Start Organization Offboarding' }).count(), 1);
  await owner.fill('#tenant-zone', 'Europe/Berlin');
  await owner.click('form[action="/settings/time-zone"] button[type=submit]');
  await expectFlash(owner, /People added from now on start in Europe\/Berlin/);
  assert.equal(await owner.inputValue('#tenant-zone'), 'Europe/Berlin');
  await shot(owner, 'settings');
});

test('Settings shows the connectors, and a job that gave up is sent again from there', async () => {
  const owner = await signIn('owner');
  await owner.goto(`${base}/settings`);
  const text = await owner.locator('main').innerText();
  assert.match(text, /okta\s+scim\s+https:\/\/okta\.demo\.example\/scim\/v2/);
  assert.match(text, /connection refused/);
  await owner.locator('button', { hasText: 'Send again' }).first().click();
  await owner.waitForURL(`${base}/settings`);
  assert.match(await flash(owner), /is queued again/);
  assert.equal(await owner.locator('button', { hasText: 'Send again' }).count(), 0);
  const rival = await signIn('rival');
  await rival.goto(`${base}/settings`);
  assert.doesNotMatch(await rival.locator('main').innerText(), /okta/);
});

test('an assignee is notified and finds the task at home', async () => {
  const manager = await signIn('manager');
  await manager.goto(`${base}/cases/1/tasks/data-archiving`);
  await manager.selectOption('#assignee', people.member.email);
  await manager.click('form[action$="/assign"] button[type=submit]');
  await expectFlash(manager, /they have been notified/);

  const member = await signIn('member');
  assert.match(await member.locator('.bell').innerText(), /1/);
  assert.match(await member.locator('main').innerText(), /Build the export package/);
  await member.click('.bell');
  assert.match(await member.locator('main').innerText(), /gave you task “Build the export package” of case 1/);
  await member.click('text=Mark all read');
  await expectFlash(member, /Marked 1 notification/);

  // She chooses what reaches her inbox: assignments no more, by email.
  const row = member.locator('tr[data-email-kind="task.assigned"]');
  assert.match(await row.innerText(), /\bon\b/);
  await row.locator('button').click();
  await expectFlash(member, /Email for task.assigned notifications is off now/);
  assert.match(await member.locator('tr[data-email-kind="task.assigned"]').innerText(), /\boff\b/);
  assert.match(await member.locator('tr[data-email-kind="digest"]').innerText(), /\bon\b/);

  // She works from Tokyo: times on these pages are hers from then on, nine hours ahead.
  const utc = (await member.locator('.timeline time').first().innerText()).match(/(\d\d):(\d\d) UTC$/);
  assert.ok(utc, 'times are in UTC until she chooses');
  const tokyo = `${String((Number(utc[1]) + 9) % 24).padStart(2, '0')}:${utc[2]} JST`;
  await member.fill('#time_zone', 'Mars/Olympus_Mons');
  await member.click('form[action="/notifications/time-zone"] button[type=submit]');
  await expectFlash(member, /is not a time zone/);
  await member.fill('#time_zone', 'Asia/Tokyo');
  await member.click('form[action="/notifications/time-zone"] button[type=submit]');
  await expectFlash(member, /Your time zone is Asia\/Tokyo now/);
  assert.equal(await member.inputValue('#time_zone'), 'Asia/Tokyo');
  assert.match(await member.locator('.timeline time').first().innerText(), new RegExp(`${tokyo}$`));
  await shot(member, 'notifications');
});

test('missing pages and forbidden actions get clear error pages', async () => {
  const page = await signIn('member');
  const missing = await page.goto(`${base}/cases/9999`);
  assert.equal(missing.status(), 404);
  assert.match(await page.locator('.detail').innerText(), /no case 9999/);
  await page.goto(`${base}/subjects/globex`);
  const forbidden = await page.evaluate(async () => {
    const token = document.querySelector('input[name=csrf_token]').value;
    const r = await fetch('/subjects/globex/offboard', {
      method: 'POST',
      body: new URLSearchParams({ csrf_token: token, exit_date: '2027-01-01' }),
    });
    return { status: r.status, text: await r.text() };
  });
  assert.equal(forbidden.status, 403);
  assert.match(forbidden.text, /needs the manager role/);
  const forged = await page.evaluate(async () => {
    const r = await fetch('/notifications', { method: 'POST', body: new URLSearchParams({ csrf_token: 'forged' }) });
    return r.status;
  });
  assert.equal(forged, 403, 'a form without the session\'s CSRF token is refused');
});

test('a legal hold is placed from Settings, shows on the case, and is lifted with a reason', async () => {
  const owner = await signIn('owner');
  await owner.goto(`${base}/settings`);
  await owner.fill('#h-subject', 'globex');
  await owner.fill('#h-reason', 'Litigation: Globex v. Initech, preserve everything');
  await owner.click('button:has-text("Place a legal hold")');
  await expectFlash(owner, /Placed a legal hold over globex/);
  await owner.goto(`${base}/cases/1`);
  assert.match(await owner.locator('#legal-hold').innerText(), /on hold/);
  assert.match(await owner.locator('main').innerText(), /Litigation: Globex v\. Initech/);
  await owner.goto(`${base}/settings`);
  await owner.locator('input[id^=lift-]').fill('Case settled out of court');
  await owner.click('button:has-text("Lift")');
  await expectFlash(owner, /Lifted the legal hold/);
  await owner.goto(`${base}/cases/1`);
  assert.match(await owner.locator('#legal-hold').innerText(), /none/);
});

test('a case is cancelled with a reason and keeps its tasks', async () => {
  const page = await signIn('manager');
  await page.goto(`${base}/cases`);
  await page.selectOption('#status', 'in_progress');
  await page.click('form.filters button[type=submit]');
  await page.locator('main table tbody tr', { hasText: 'Kim Keller' }).locator('a[href^="/cases/"]').click();
  await page.waitForURL(/\/cases\/\d+$/);
  const tasksBefore = await page.locator('tr[data-task]').count();
  await page.click('button:has-text("Cancel case")');
  await page.click('#cancel-dialog button[type=submit]');
  assert.ok(await page.locator('#cancel-dialog').isVisible(), 'without a reason the form is not sent');
  assert.equal(await page.locator('#case-status').innerText(), 'in progress');
  await page.fill('#cancel-reason', 'Kim withdrew the resignation');
  await page.click('#cancel-dialog button[type=submit]');
  await expectFlash(page, /tasks and history are kept/);
  assert.equal(await page.locator('#case-resolution').innerText(), 'cancelled');
  assert.equal(await page.locator('tr[data-task]').count(), tasksBefore);
  assert.match(await page.locator('main').innerText(), /Kim withdrew the resignation/);
});

test('pages fit a phone', async () => {
  const page = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
  await page.goto(`${base}/sign-in`);
  await page.fill('#tenant', people.manager.tenant);
  await page.fill('#email', people.manager.email);
  await page.fill('#password', people.manager.password);
  await page.click('button[type=submit]');
  await page.goto(`${base}/cases/1`);
  await shot(page, 'case-phone');
  const overflow = await page.evaluate(() => {
    const wide = [...document.querySelectorAll('main > *')]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
      .map((e) => `${e.tagName.toLowerCase()}.${e.className}`);
    return { by: document.documentElement.scrollWidth - window.innerWidth, wide };
  });
  assert.ok(overflow.by <= 0, `no sideways scrolling (${overflow.by}px too wide: ${overflow.wide.join(', ')})`);
});

const axeSource = fileURLToPath(new URL('./node_modules/axe-core/axe.min.js', import.meta.url));

/** What a person would see go wrong on the page as it is now, as a list of sentences. */
async function problemsOn(page) {
  const problems = await page.evaluate(() => {
    const found = [];
    const root = document.documentElement;
    if (root.scrollWidth > window.innerWidth + 1) {
      found.push(`the page scrolls sideways (${root.scrollWidth} px wide in ${window.innerWidth})`);
    }
    for (const badge of document.querySelectorAll('.badge')) {
      const box = badge.getBoundingClientRect();
      if (box.width > 0 && badge.scrollWidth > badge.clientWidth + 1) {
        found.push(`the badge "${badge.textContent}" is cut`);
      }
    }
    // The interface's own words: not what is set as code or data (keys, actions, digests).
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const parent = node.parentElement;
      if (!parent || parent.closest('code, pre, .mono, script, style, [data-data], option[value=""]')) continue;
      const text = node.textContent;
      for (const [pattern, what] of [[/`/, 'a backtick'], [/\(s\)/, '"(s)"'], [/\b[a-z]+_[a-z_]+\b/, 'a snake_case word']]) {
        if (pattern.test(text)) found.push(`${what} in "${text.trim().slice(0, 80)}"`);
      }
    }
    return found;
  });
  await page.addScriptTag({ path: axeSource });
  const axe = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => `axe ${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
  });
  return [...problems, ...axe];
}

/** What is wrong with moving through `within` (the page, or an open dialog) by keyboard: a
 * stop with no visible focus, or focus that leaves an open dialog. Presses Tab up to `stops` times. */
async function keyboardProblems(page, within, stops) {
  const found = [];
  for (let i = 0; i < stops; i++) {
    await page.keyboard.press('Tab');
    const stop = await page.evaluate((selector) => {
      const el = document.activeElement;
      if (!el || el === document.body) return null;
      const style = getComputedStyle(el);
      const outlined = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
      const shadowed = style.boxShadow && style.boxShadow !== 'none';
      const name = `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''} "${(el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 40)}"`;
      return { name, visible: outlined || shadowed, inside: selector ? !!el.closest(selector) : true };
    }, within);
    if (!stop) continue;
    if (!stop.visible) found.push(`${stop.name} has no visible focus`);
    if (!stop.inside) found.push(`focus left ${within} for ${stop.name}`);
  }
  return [...new Set(found)];
}

test('every page reads right and passes axe-core on a desk and on a phone', async () => {
  const pages = [
    '/', '/subjects', '/subjects/hooli', '/subjects/hooli/offboard?blueprint=client-standard&exit_date=2027-03-31',
    '/cases', `/cases/${caseNumber}`, `/cases/${caseNumber}/tasks/set-expectations`, '/cases/1',
    '/audit', '/blueprints', '/blueprints/client-standard', '/settings', '/notifications',
    `/cases/${caseNumber}/certificate`,
  ];
  const found = [];
  for (const [width, height] of [[1366, 900], [390, 844]]) {
    const page = await signIn('manager');
    await page.setViewportSize({ width, height });
    for (const path of pages) {
      await page.goto(`${base}${path}`);
      for (const problem of await problemsOn(page)) found.push(`${width} px ${path}: ${problem}`);
      for (const problem of await keyboardProblems(page, null, 30)) found.push(`${width} px ${path}: ${problem}`);
      // Each dialog the page has, open: it keeps the focus until it closes, then gives it back.
      for (const opener of await page.locator('button[data-opens]:not([disabled])').all()) {
        if (!(await opener.isVisible())) continue;
        const dialog = await opener.getAttribute('data-opens');
        await opener.focus();
        await page.keyboard.press('Enter');
        for (const problem of await problemsOn(page)) found.push(`${width} px ${path} #${dialog}: ${problem}`);
        for (const problem of await keyboardProblems(page, `#${dialog}`, 12)) found.push(`${width} px ${path} #${dialog}: ${problem}`);
        await page.keyboard.press('Escape');
        const back = await page.evaluate((id) => document.activeElement?.getAttribute('data-opens') === id, dialog);
        if (!back) found.push(`${width} px ${path} #${dialog}: the focus did not return to the button that opened it`);
      }
    }
    await shot(page, `tour-${width}`);
  }
  assert.deepEqual(found, []);
});

// Last: it opens a case for every active client.
test('the owner starts organization offboarding; its child cases roll up on its page', async () => {
  const owner = await signIn('owner');
  await owner.goto(`${base}/settings`);
  await owner.click('button:has-text("Start Organization Offboarding")');
  const key = await owner.locator('#org-dialog input[name=confirmation]').getAttribute('id');
  await owner.fill(`#${key}`, 'not-the-key');
  await owner.click('#org-dialog button[type=submit]');
  await expectFlash(owner, /type its key, .+, to confirm/);
  await owner.goto(`${base}/settings`);
  await owner.click('button:has-text("Start Organization Offboarding")');
  await owner.fill(`#${key}`, key.replace('org-confirm-', ''));
  await owner.click('#org-dialog button[type=submit]');
  await owner.waitForURL(/\/cases\/\d+$/);
  await expectFlash(owner, /child case/);
  const children = owner.locator('#children-h ~ table tbody tr');
  assert.ok(await children.count() >= 1, 'the organization case lists its child cases');
  assert.equal(await children.first().locator('[role=progressbar]').count(), 1);
  // Its tasks are open: closing is not offered, and the page says why up front.
  assert.ok(await owner.getByRole('button', { name: 'Close case…' }).isDisabled());
  assert.match(await owner.locator('#close-why').innerText(), /every task is done or waived: \d+ tasks? (is|are) still open/);
});
