// Following a dataset and the back office's webhook pages in headless Chromium:
// - signed in, the header shows the unread badge; the dataset page's button says the user
//   follows it, and clicking it stops following (the page comes back with the other button);
//   the same button on the table tab comes back to the table with its sort;
// - the dataset's webhook page lists its hook with the last delivery, and the hook's delivery
//   log lists the attempts;
// - axe (WCAG 2.0/2.1 A and AA) finds no violation on these pages; screenshots at 1280 and
//   320 px go to tests/artifacts/screenshots/follow/.
//
// Usage: node tests/browser/follow.mjs http://127.0.0.1:PORT EMAIL PASSWORD DATASET HOOK
// The server is set up by crates/kleber-server/tests/it/follow_webhooks_ui.rs: the user edits
// DATASET, follows it, has one unread notification of it, and HOOK is a webhook of DATASET
// with a delivery.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Steps, artifactDir, axePath, baseFromArgs, check, checkEqual, deadline, launch, portalContext } from './lib.mjs';

const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const base = baseFromArgs('follow.mjs');
const [email, password, dataset, hook] = process.argv.slice(3);
deadline(120);
const axeSource = readFileSync(axePath, 'utf8');
const shots = artifactDir('screenshots', 'follow');
const steps = new Steps('follow.mjs');
const browser = await launch();
// axe is injected as an inline script, which the portal's Content-Security-Policy refuses.
const context = await portalContext(browser, base, { bypassCSP: true });
const page = await context.newPage();

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

/** Full-page screenshots of the current page at 1280 px and at 320 px, then back to 1280. */
async function shoot(stem) {
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.screenshot({ path: join(shots, `${stem}-desktop.png`), fullPage: true });
  await page.setViewportSize({ width: 320, height: 640 });
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  await page.screenshot({ path: join(shots, `${stem}-320.png`), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 800 });
  check(wide <= 320, `${stem}: the page scrolls sideways at 320 px (${wide} px wide)`);
}

await steps.scenario('follow a dataset and see the badge', async () => {
  await steps.step('sign in', async () => {
    await page.goto(`${base}/login/`);
    await page.getByLabel('Adresse e-mail').fill(email);
    await page.getByLabel('Mot de passe').fill(password);
    await page.getByRole('button', { name: 'Se connecter' }).click();
    await page.waitForURL(`${base}/account/`);
  }, page);

  await steps.step('the dataset page: badge and button', async () => {
    await page.goto(`${base}/explore/dataset/${dataset}/`);
    const badge = page.locator('#unread-badge');
    await badge.waitFor();
    check((await badge.innerText()).trim().startsWith('1'), `badge: ${await badge.innerText()}`);
    check(await badge.isVisible(), 'the badge is visible');
    const button = page.locator('#follow-button');
    checkEqual((await button.innerText()).trim(), 'Ne plus suivre', 'the button of a followed dataset');
    await noAxeViolation('the dataset page of a follower');
    await shoot('dataset-followed');
  }, page);

  await steps.step('unfollow, then follow again', async () => {
    await page.locator('#follow-button').click();
    await page.waitForURL(`${base}/explore/dataset/${dataset}/`);
    checkEqual((await page.locator('#follow-button').innerText()).trim(), 'Suivre', 'after unfollowing');
    await page.locator('#follow-button').click();
    await page.waitForURL(`${base}/explore/dataset/${dataset}/`);
    checkEqual((await page.locator('#follow-button').innerText()).trim(), 'Ne plus suivre', 'after following');
  }, page);

  await steps.step('the button on another tab comes back to that tab', async () => {
    const table = `${base}/explore/dataset/${dataset}/table/?sort=nom`;
    await page.goto(table);
    const button = page.locator('#follow-button');
    checkEqual((await button.innerText()).trim(), 'Ne plus suivre', 'the table tab\'s button');
    await noAxeViolation('the table tab of a follower');
    await shoot('table-followed');
    await button.click();
    await page.waitForURL(table);
    checkEqual((await page.locator('#follow-button').innerText()).trim(), 'Suivre', 'after unfollowing from the table');
    await page.locator('#follow-button').click();
    await page.waitForURL(table);
    checkEqual((await page.locator('#follow-button').innerText()).trim(), 'Ne plus suivre', 'after following from the table');
  }, page);

  await steps.step('the notifications link', async () => {
    await page.locator('#notifications-link').click();
    await page.waitForURL(`${base}/account/notifications/`);
    await page.locator(`li.notification[data-dataset="${dataset}"]`).first().waitFor();
  }, page);
});

await steps.scenario('the webhook pages', async () => {
  await steps.step('the dataset\'s hooks', async () => {
    await page.goto(`${base}/admin/datasets/${dataset}/`);
    await page.locator('#bo-webhooks-link').click();
    await page.waitForURL(`${base}/admin/datasets/${dataset}/webhooks`);
    await page.locator(`tr[data-hook="${hook}"]`).waitFor();
    const last = await page.locator(`tr[data-hook="${hook}"] .wh-last`).innerText();
    check(last.includes('HTTP 200'), `last delivery: ${last}`);
    await noAxeViolation('the webhook page');
    await shoot('webhooks');
  }, page);

  await steps.step('a refused URL says why', async () => {
    await page.getByLabel('Adresse (http ou https)').fill('ftp://example.org/hook');
    await page.getByRole('button', { name: 'Créer le webhook' }).click();
    await page.locator('#wh-error').waitFor();
    await noAxeViolation('the refused webhook form');
    await shoot('webhooks-refused');
  }, page);

  await steps.step('the delivery log', async () => {
    await page.goto(`${base}/admin/datasets/${dataset}/webhooks`);
    await page.locator(`tr[data-hook="${hook}"] .wh-log-link`).click();
    await page.waitForURL(`${base}/admin/webhooks/${hook}`);
    const rows = await page.locator('#wh-log tbody tr').count();
    check(rows >= 2, `attempts listed: ${rows}`);
    await noAxeViolation('the delivery log');
    await shoot('webhook-log');
  }, page);
});

await browser.close();
steps.finish();
