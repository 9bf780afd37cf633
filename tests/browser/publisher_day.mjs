// A publisher's day in headless Chromium, through the back office's pages (web/backoffice.rs):
// sign in, create a dataset from the real Latin-1 CSV of ../shared/data/real with the plain
// upload form, fix a type in the preview, fill the metadata, publish, see the dataset on the
// public portal, upload a second file as a new version, see the versions list, restore the
// first version. axe (WCAG 2.0/2.1 A and AA) finds no violation on the preview and metadata
// steps, and screenshots of each page go to tests/artifacts/screenshots/publisher_day/.
//
// Usage: node tests/browser/publisher_day.mjs BASE EMAIL PASSWORD FIRST_FILE SECOND_FILE
// The server is set up by crates/kleber-server/tests/it/browser.rs: an editor of `ems`.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Steps, api, artifactDir, axePath, baseFromArgs, check, checkEqual, deadline, launch, portalContext } from './lib.mjs';

const base = baseFromArgs('publisher_day.mjs');
const [email, password, firstFile, secondFile, added, removed] = process.argv.slice(3);
deadline(170);
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const ID = 'velib-dispo';
const axeSource = readFileSync(axePath, 'utf8');
const shots = artifactDir('screenshots', 'publisher_day');
const steps = new Steps('publisher_day.mjs');
const browser = await launch();
const context = await portalContext(browser, base, { bypassCSP: true });
const page = await context.newPage();

async function shot(name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

async function noAxeViolation(what) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(
    (tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags } }),
    TAGS,
  );
  const found = result.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
  );
  check(found.length === 0, () => `axe on ${what}: ${found.join('; ')}`);
}

await steps.scenario('a publisher creates, publishes, versions and restores a dataset', async () => {
  await steps.step('sign in', async () => {
    await page.goto(`${base}/login/`);
    await page.locator('#email').fill(email);
    await page.locator('#password').fill(password);
    await page.locator('form button[type="submit"]').click();
    await page.waitForURL(/\/account\//);
  }, page);

  await steps.step('the dashboard leads to the new-dataset form', async () => {
    await page.goto(`${base}/admin/datasets/`);
    await shot('1-dashboard');
    await page.locator('#bo-new-link').click();
    await page.waitForURL(/\/admin\/datasets\/new/);
    await noAxeViolation('the new-dataset form');
  }, page);

  await steps.step('upload the Latin-1 CSV with the plain form', async () => {
    await page.locator('#bo-org').selectOption('ems');
    await page.locator('#bo-id').fill(ID);
    await page.locator('#bo-title').fill('Vélib disponibilité');
    await page.locator('#bo-file').setInputFiles(firstFile);
    await shot('2-new');
    await page.locator('#bo-new button[type="submit"]').click();
    await page.waitForURL(new RegExp(`/admin/datasets/${ID}/uploads/`));
    checkEqual(await page.locator('#bo-encoding').innerText(), 'windows-1252', 'encoding');
    checkEqual(await page.locator('#bo-delimiter').innerText(), ';', 'delimiter');
    await shot('3-preview');
    await noAxeViolation('the preview');
  }, page);

  await steps.step('fix a type in the preview', async () => {
    checkEqual(await page.locator('#f0-type').inputValue(), 'int', 'column_1 inferred');
    await page.locator('#f0-type').selectOption('text');
    await page.locator('input[name="label_1"]').fill('Nom de la station');
    await page.locator('#bo-schema button[type="submit"]').click();
    await page.locator('#bo-saved').waitFor();
    checkEqual(await page.locator('#f0-type').inputValue(), 'text', 'column_1 now');
    await shot('4-preview-fixed');
  }, page);

  await steps.step('fill the metadata and publish', async () => {
    await page.locator('#bo-continue').click();
    await page.waitForURL(new RegExp(`/admin/datasets/${ID}/metadata\\?upload=`));
    await noAxeViolation('the metadata form');
    await page.locator('#md-description').fill('Disponibilité des **stations** Vélib.');
    await page.locator('#md-themes').fill('Mobilité');
    await page.locator('#md-keywords').fill('vélo, vélib');
    await page.locator('#md-license').selectOption('etalab-2.0');
    await page.locator('#md-publisher').fill('Ville de Paris');
    await page.locator('#md-language').fill('fr');
    await page.locator('#md-frequency').selectOption('daily');
    await shot('5-metadata');
    await page.locator('#bo-publish').click();
    await page.waitForURL(new RegExp(`/admin/datasets/${ID}/\\?saved=published`));
    await page.locator('#bo-saved').waitFor();
    await shot('6-edit-published');
    await noAxeViolation('the edit page');
  }, page);

  await steps.step('see it on the public portal', async () => {
    await page.locator('#bo-public-link').click();
    await page.waitForURL(new RegExp(`/explore/dataset/${ID}/`));
    await page.locator('h1', { hasText: 'Vélib disponibilité' }).waitFor();
    const ds = await api(base, `/api/explore/v2.1/catalog/datasets/${ID}`);
    checkEqual(ds.metas.default.records_count, 1471, 'records published');
    checkEqual(ds.fields.find((f) => f.name === 'column_1').type, 'text', 'the fixed type');
    await shot('7-public');
  }, page);

  await steps.step('upload a second file as a new version', async () => {
    await page.goto(`${base}/admin/datasets/${ID}/`);
    await page.locator('#bo-version-file').setInputFiles(secondFile);
    await page.locator('#bo-new-version button[type="submit"]').click();
    await page.waitForURL(new RegExp(`/admin/datasets/${ID}/uploads/`));
    await page.locator('#f0-type').selectOption('text');
    await page.locator('#bo-schema button[type="submit"]').click();
    await page.locator('#bo-saved').waitFor();
    await page.locator('#bo-continue').click();
    await page.locator('#bo-publish').click();
    await page.waitForURL(new RegExp(`/admin/datasets/${ID}/\\?saved=published`));
    const ds = await api(base, `/api/explore/v2.1/catalog/datasets/${ID}`);
    checkEqual(ds.metas.default.records_count, 100, 'records of the second file');
  }, page);

  await steps.step('see the versions list and restore the first version', async () => {
    const rows = page.locator('#bo-versions tbody tr');
    checkEqual(await rows.count(), 2, 'two versions');
    // The second version's summary: the numbers of its text (grouping spaces or commas
    // inside a number kept), records added, removed and changed.
    const summary = await page.locator('#bo-versions tr[data-version="2"] .bo-summary').innerText();
    const counts = (summary.match(/\d[\d\s\u00a0\u202f,.]*/g) || []).map((n) => Number(n.replace(/\D/g, '')));
    checkEqual(JSON.stringify(counts), JSON.stringify([Number(added), Number(removed), 0]), `the version summary (${summary})`);
    await shot('8-versions');
    await page.locator('#bo-versions tr[data-version="1"] form[action$="/restore"] button').click();
    await page.waitForURL(new RegExp(`/admin/datasets/${ID}/\\?saved=1`));
    checkEqual(await rows.count(), 3, 'a third version, restored from the first');
    check((await page.locator('#bo-versions tr[data-version="3"]').innerText()).includes('1'), 'restored from 1');
    const ds = await api(base, `/api/explore/v2.1/catalog/datasets/${ID}`);
    checkEqual(ds.metas.default.records_count, 1471, 'records of the first version again');
    await shot('9-restored');
  }, page);
});

check(context.pageErrors.length === 0, () => `JavaScript errors: ${context.pageErrors.join('; ')}`);
await browser.close();
steps.finish();
