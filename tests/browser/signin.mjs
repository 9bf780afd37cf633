// Signing in and out of the portal in headless Chromium:
// - the header's account link leads a signed-out visitor to the sign-in page, which axe
//   (WCAG 2.0/2.1 A and AA) finds without violation, also with a failed attempt's message;
// - signing in lands on the account page, which lists the restricted dataset of the user's
//   organization, and the portal's own scripts read it from the API with the session cookie;
//   the account page has no axe violation either;
// - the session cookie is HttpOnly (scripts cannot read it);
// - signing out ends the session: the restricted dataset is gone from the API, and the account
//   page asks to sign in again.
//
// - an invitation link's page (choose a password) has no axe violation, also with an error.
//
// Usage: node tests/browser/signin.mjs http://127.0.0.1:PORT /invitation/TOKEN
// The server is set up by crates/kleber-server/tests/it/sessions.rs: a viewer of organization
// `ems` with the account below, `interne`, a restricted dataset of `ems`, and an invitation.

import { readFileSync } from 'node:fs';

import { Steps, axePath, baseFromArgs, check, checkEqual, deadline, launch, portalContext } from './lib.mjs';

const EMAIL = 'anne@example.org';
const PASSWORD = 'correct horse battery';
const RESTRICTED = 'interne';
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

const base = baseFromArgs('signin.mjs');
const invitation = process.argv[3];
deadline(120);
const axeSource = readFileSync(axePath, 'utf8');
const steps = new Steps('signin.mjs');
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

/** GETs an API path from inside the page, as the portal's scripts would (cookies included). */
async function fetchStatus(path) {
  return page.evaluate(async (p) => (await fetch(p, { credentials: 'same-origin' })).status, path);
}

const datasetPath = `/api/explore/v2.1/catalog/datasets/${RESTRICTED}`;

await steps.scenario('sign in, see a restricted dataset, sign out', async () => {
  await steps.step('the account link leads to the sign-in page', async () => {
    await page.goto(`${base}/`);
    await page.locator('header nav a[href="/account/"]').click();
    await page.waitForURL(/\/login\/\?next=/);
    await page.locator('h1', { hasText: 'Connexion' }).waitFor();
    checkEqual(await fetchStatus(datasetPath), 404, 'the restricted dataset, signed out');
  }, page);

  await steps.step('the sign-in page has no axe violation', () => noAxeViolation('the sign-in page'), page);

  await steps.step('a wrong password is refused with a message', async () => {
    await page.getByLabel('Adresse e-mail').fill(EMAIL);
    await page.getByLabel('Mot de passe').fill('not the password');
    await page.getByRole('button', { name: 'Se connecter' }).click();
    await page.locator('[role="alert"]', { hasText: 'incorrect' }).waitFor();
    check(page.url().endsWith('/login'), `still on the sign-in form: ${page.url()}`);
  }, page);

  await steps.step('the refused sign-in page has no axe violation', () => noAxeViolation('the refused sign-in'), page);

  await steps.step('signing in shows the restricted dataset', async () => {
    await page.getByLabel('Mot de passe').fill(PASSWORD);
    await page.getByRole('button', { name: 'Se connecter' }).click();
    await page.waitForURL(`${base}/account/`);
    await page.locator('#signed-in-email', { hasText: EMAIL }).waitFor();
    await page.locator(`ul.private-datasets a[href="/explore/dataset/${RESTRICTED}/"]`).waitFor();
    checkEqual(await fetchStatus(datasetPath), 200, 'the restricted dataset from the page, signed in');
    const visible = await page.evaluate(() => document.cookie);
    check(!visible.includes('kleber_session'), `the session cookie is readable by scripts: ${visible}`);
  }, page);

  await steps.step('the account page has no axe violation', () => noAxeViolation('the account page'), page);

  await steps.step('signing out hides it again', async () => {
    await page.getByRole('button', { name: 'Se déconnecter' }).click();
    await page.waitForURL(`${base}/`);
    checkEqual(await fetchStatus(datasetPath), 404, 'the restricted dataset, signed out');
    await page.goto(`${base}/account/`);
    await page.waitForURL(/\/login\/\?next=/);
    const cookies = await context.cookies();
    check(!cookies.some((c) => c.name === 'kleber_session'), 'the session cookie is deleted');
  }, page);
});

await steps.scenario('an invitation link', async () => {
  await steps.step('the invitation page has no axe violation', async () => {
    check(invitation && invitation.startsWith('/invitation/'), `no invitation path given: ${invitation}`);
    await page.goto(`${base}${invitation}`);
    await page.locator('h1', { hasText: 'Choisir votre mot de passe' }).waitFor();
    await noAxeViolation('the invitation page');
  }, page);

  await steps.step('a refused password says why, without axe violation', async () => {
    await page.getByLabel('Mot de passe', { exact: true }).fill('a long enough password');
    await page.getByLabel('Confirmez le mot de passe').fill('another long password');
    await page.getByRole('button', { name: 'Enregistrer le mot de passe' }).click();
    await page.locator('[role="alert"]', { hasText: 'différents' }).waitFor();
    await noAxeViolation('the refused invitation');
  }, page);
});

await browser.close();
steps.finish();
