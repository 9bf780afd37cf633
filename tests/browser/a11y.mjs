// Accessibility checks of the portal's pages in headless Chromium:
// - axe-core with the WCAG 2.0/2.1 A and AA rules and its landmark rules on every page type
//   (home, catalog, each tab of a geo dataset, the information page of a dataset with many
//   fields, a record's detail, a built chart, embeds, a publisher, the organizations index and
//   an organization, the about and 404 pages);
// - the page contract's hooks: <html lang>, <main id="main">, a skip link as the first Tab
//   stop with a visible outline that moves to #main, the language switcher;
// - visible focus on the next Tab stops;
// - 320 px wide: no horizontal scrolling.
//
// Usage: node tests/browser/a11y.mjs http://127.0.0.1:PORT   (a server with the demo data and
// the dataset with many fields `champs-nombreux`, as tests/it/browser.rs serves)
// Writes tests/artifacts/axe-results.json; exits 1 listing every violation and problem.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  artifacts,
  artifactDir,
  axePath,
  baseFromArgs,
  checkNoExternalCode,
  deadline,
  describe,
  launch,
  portalContext,
} from './lib.mjs';

const base = baseFromArgs('a11y.mjs');
deadline(170);

const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
// axe's landmark rules are tagged best-practice, outside the WCAG tags: run them too, so two
// landmarks with the same name (a section and its table's scroll region) are caught.
const LANDMARK_RULES = [
  'landmark-unique',
  'landmark-one-main',
  'landmark-no-duplicate-banner',
  'landmark-no-duplicate-contentinfo',
  'landmark-no-duplicate-main',
  'landmark-banner-is-top-level',
  'landmark-contentinfo-is-top-level',
  'landmark-main-is-top-level',
  'landmark-complementary-is-top-level',
];
const GEO = 'toilettes-publiques';
const VELO = 'comptages-velos';
// A dataset with many fields (imported by tests/it/browser.rs beside the demo datasets): its
// information page has a scrolling schema table, a landmark of its own.
const WIDE = 'champs-nombreux';
const tab = (id, name) => `/explore/dataset/${id}/${name}/`;

/**
 * The pages checked. `action` runs on the loaded page and leads to the page actually checked
 * (a record's detail, a built chart); `embed` pages are exempt from the skip link and the
 * language switcher; `status` is the expected HTTP status; `lang` the expected <html lang>.
 */
const PAGES = [
  { name: 'home', path: '/' },
  { name: 'home (English)', path: '/?lang=en', lang: 'en' },
  { name: 'catalog', path: '/explore/' },
  { name: 'catalog search', path: '/explore/?q=velo' },
  { name: 'catalog refined', path: `/explore/?refine.theme=${encodeURIComponent('Mobilité')}` },
  { name: 'dataset information', path: tab(GEO, 'information') },
  { name: 'dataset information, many fields', path: tab(WIDE, 'information'), wide: true },
  { name: 'dataset table', path: tab(GEO, 'table') },
  {
    name: 'dataset table, record detail',
    path: tab(GEO, 'table'),
    action: async (page) => {
      await page.locator('table#records tbody tr a[href*="record="]').first().click();
      await page.locator('section#record-detail').waitFor();
    },
  },
  { name: 'dataset map', path: tab(GEO, 'map') },
  { name: 'dataset analyze', path: tab(GEO, 'analyze') },
  {
    name: 'dataset analyze, chart built',
    path: tab(VELO, 'analyze'),
    action: async (page) => {
      const form = page.locator('form#chart-builder');
      await form.locator('button[type="submit"], input[type="submit"], button:not([type])').first().click();
      await page.waitForLoadState('load');
      await page.locator('figure#chart canvas').waitFor();
    },
  },
  { name: 'dataset api', path: tab(GEO, 'api') },
  { name: 'dataset export', path: tab(GEO, 'export') },
  { name: 'embed table', path: `/explore/embed/dataset/${GEO}/table/`, embed: true },
  { name: 'embed map', path: `/explore/embed/dataset/${GEO}/map/`, embed: true },
  { name: 'embed analyze', path: `/explore/embed/dataset/${VELO}/analyze/`, embed: true },
  { name: 'about', path: '/about/' },
  { name: 'api docs', path: '/api/docs' },
  { name: 'api docs (English)', path: '/api/docs?lang=en', lang: 'en' },
  { name: 'publisher', path: '/publisher/ville-de-strasbourg/' },
  { name: 'organizations', path: '/organizations/' },
  { name: 'organizations (English)', path: '/organizations/?lang=en', lang: 'en' },
  { name: 'organization', path: '/organizations/default/' },
  { name: '404 unknown organization', path: '/organizations/no-such-org/', status: 404 },
  { name: '404 unknown dataset', path: '/explore/dataset/no-such-dataset/', status: 404 },
  { name: '404 unknown page', path: '/no/such/page/', status: 404 },
  // The administration pages, signed in as the portal admin that browser.rs creates (its
  // email and password are this script's 2nd and 3rd arguments).
  { name: 'admin index', path: '/admin/', signedIn: true },
  { name: 'admin audit log', path: '/admin/audit/', signedIn: true },
  { name: 'admin audit log (English, filtered)', path: '/admin/audit/?lang=en&action=member.set', signedIn: true, lang: 'en' },
  { name: 'admin audit log, bad filter', path: '/admin/audit/?since=yesterday', signedIn: true, status: 400 },
  { name: 'admin organization', path: '/admin/organizations/default/?saved=1', signedIn: true },
  { name: 'admin organization (English)', path: '/admin/organizations/default/?lang=en', signedIn: true, lang: 'en' },
  { name: 'admin organizations', path: '/admin/organizations/', signedIn: true },
  { name: 'admin users', path: '/admin/users/', signedIn: true },
  { name: 'admin users (English)', path: '/admin/users/?lang=en', signedIn: true, lang: 'en' },
  // ---- back office (web/backoffice.rs); the preview and metadata steps of a new dataset are
  // checked by publisher_day.mjs, which makes an upload. ----
  { name: 'back office dashboard', path: '/admin/datasets/', signedIn: true },
  { name: 'back office dashboard (English, filtered)', path: '/admin/datasets/?lang=en&state=public', signedIn: true, lang: 'en' },
  { name: 'back office new dataset', path: '/admin/datasets/new', signedIn: true },
  { name: 'back office edit page', path: '/admin/datasets/toilettes-publiques/?saved=1', signedIn: true },
  { name: 'back office edit page (English)', path: '/admin/datasets/toilettes-publiques/?lang=en', signedIn: true, lang: 'en' },
  { name: 'back office metadata', path: '/admin/datasets/toilettes-publiques/metadata', signedIn: true },
  // ---- end of the back office ----
  // The portal's settings (web/portal_admin.rs), filled in by setUpPortal below first: the
  // home and about pages above are then checked with the admins' texts and featured cards.
  { name: 'admin portal', path: '/admin/portal/', signedIn: true },
  { name: 'admin portal themes', path: '/admin/portal/themes?saved=1', signedIn: true },
  { name: 'admin portal home (English)', path: '/admin/portal/home?lang=en', signedIn: true, lang: 'en' },
  { name: 'admin portal about', path: '/admin/portal/about', signedIn: true },
  { name: 'admin portal home, refused featured dataset', path: '/admin/portal/home', signedIn: true, status: 400,
    action: 'refuse' },
];

const browser = await launch();
// axe is injected as an inline script, which a strict Content-Security-Policy would refuse.
const desktop = await portalContext(browser, base, { bypassCSP: true });
const phone = await portalContext(browser, base, {
  viewport: { width: 320, height: 640 },
  isMobile: true,
  hasTouch: true,
});
const page = await desktop.newPage();
const narrow = await phone.newPage();
const [adminEmail, adminPassword] = process.argv.slice(3);

/** Signs the portal admin in within `context`; returns the session cookie to put back. */
async function signIn(context) {
  const p = await context.newPage();
  await p.goto(`${base}/login/`);
  await p.locator('#email').fill(adminEmail);
  await p.locator('#password').fill(adminPassword);
  await Promise.all([p.waitForURL(`${base}/account/`), p.locator('form button[type="submit"]').last().click()]);
  const cookies = (await context.cookies()).filter((c) => c.name === 'kleber_session');
  await p.close();
  if (cookies.length !== 1) throw new Error(`signing in as ${adminEmail} set no session cookie`);
  return cookies;
}
const sessions = adminEmail
  ? { desktop: await signIn(desktop), phone: await signIn(phone) }
  : null;

/**
 * Fills the portal administration forms as the portal admin, in the browser (themes, the
 * home page's text and featured datasets, the about page), then screenshots the home page
 * in both languages (tests/artifacts/screenshots/home-portal-*.png).
 */
async function setUpPortal(context) {
  const p = await context.newPage();
  const submit = async (form) => {
    await Promise.all([p.waitForURL(/saved=1/), p.locator(`${form} button[type="submit"]`).click()]);
  };
  await p.goto(`${base}/admin/portal/themes`);
  await p.locator('#new-id').fill('Mobilité');
  await p.locator('#new-label-fr').fill('Mobilité');
  await p.locator('#new-label-en').fill('Mobility');
  await p.locator('#new-description').fill('Déplacements, stationnement, vélo');
  await submit('#themes-form');
  await p.goto(`${base}/admin/portal/home`);
  await p.locator('#text-fr').fill(
    "## Bienvenue sur le portail\n\nLes données **ouvertes** de l'Eurométropole : [le catalogue](/explore/).");
  await p.locator('#text-en').fill(
    "## Welcome to the portal\n\nThe **open** data of the Eurométropole: [the catalog](/explore/).");
  await p.locator('#featured').fill(`${GEO}\n${VELO}`);
  await submit('#text-form');
  await p.goto(`${base}/admin/portal/about`);
  await p.locator('#text-fr').fill('## Qui sommes-nous ?\n\nUn portail de données *ouvertes*.');
  await p.locator('#text-en').fill('## Who we are\n\nAn *open* data portal.');
  await submit('#text-form');
  for (const lang of ['fr', 'en']) {
    await p.goto(`${base}/?lang=${lang}`);
    if ((await p.locator('#featured .dataset-card').count()) !== 2) {
      throw new Error(`the ${lang} home page does not show the 2 featured datasets`);
    }
    await p.screenshot({ path: join(artifactDir('screenshots'), `home-portal-${lang}.png`), fullPage: true });
  }
  await p.close();
}
if (sessions) await setUpPortal(desktop);

const axeSource = readFileSync(axePath, 'utf8');
const started = Date.now();
const results = [];

for (const spec of PAGES) {
  const t0 = Date.now();
  const result = { name: spec.name, path: spec.path, problems: [], violations: [] };
  results.push(result);
  try {
    await checkPage(spec, result);
  } catch (error) {
    result.problems.push(`could not be checked: ${describe(error)}`);
  }
  const bad = result.violations.length + result.problems.length;
  console.log(`${bad ? 'FAIL' : 'ok  '} ${spec.name} ${result.url ?? spec.path} (${Date.now() - t0} ms)`);
}

async function checkPage(spec, result) {
  // Each page is checked as a first visit: no language cookie from the previous page.
  await desktop.clearCookies();
  await phone.clearCookies();
  if (spec.signedIn) {
    if (!sessions) throw new Error('no admin account given: node a11y.mjs BASE EMAIL PASSWORD');
    await desktop.addCookies(sessions.desktop);
    await phone.addCookies(sessions.phone);
  }
  let response = await page.goto(`${base}${spec.path}`);
  if (spec.action === 'refuse') {
    // An unknown dataset featured: the form comes back with the reason, nothing saved.
    await page.locator('#featured').fill('no-such-dataset');
    [response] = await Promise.all([page.waitForEvent('response', (r) => r.request().method() === 'POST'),
      page.locator('#text-form button[type="submit"]').click()]);
    await page.waitForLoadState('load');
    if (!(await page.locator('#admin-error').count())) result.problems.push('the refused form shows no error');
  } else if (spec.action) {
    await spec.action(page);
    const url = new URL(page.url());
    url.hash = '';
    response = await page.goto(url.href);
  }
  result.url = page.url().slice(base.length);
  const status = response.status();
  const type = response.headers()['content-type'] || '';
  result.status = status;
  const expectedStatus = spec.status ?? 200;
  if (status !== expectedStatus) result.problems.push(`status ${status}, expected ${expectedStatus}`);
  if (!type.startsWith('text/html')) {
    result.problems.push(`content type ${JSON.stringify(type)}, expected text/html`);
    return;
  }
  // The 320 px check runs in the phone meanwhile.
  const narrowCheck = checkNarrow(result);

  result.problems.push(...(await contractHooks(spec)));
  if (spec.wide) {
    const fields = await page.locator('table#schema tbody tr').count();
    if (fields < 40) result.problems.push(`${fields} fields in the schema table, expected at least 40`);
  }
  if (!spec.embed) result.problems.push(...(await focusChecks(result)));
  if (spec.status === 404) result.problems.push(...(await errorPageHelps()));

  await page.addScriptTag({ content: axeSource });
  const axe = await page.evaluate(
    ([tags, extra]) => {
      const rules = [...window.axe.getRules(tags).map((r) => r.ruleId), ...extra];
      return window.axe.run(document, { runOnly: { type: 'rule', values: rules } });
    },
    [TAGS, LANDMARK_RULES],
  );
  result.violations = axe.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({ target: n.target, html: n.html, summary: n.failureSummary })),
  }));
  result.incomplete = axe.incomplete.map((v) => ({ id: v.id, nodes: v.nodes.length }));
  result.passes = axe.passes.length;
  await narrowCheck;
}

/** At 320 px wide the page must not scroll horizontally; names the overflowing elements. */
async function checkNarrow(result) {
  await narrow.goto(`${base}${result.url}`);
  await narrow.evaluate(() => document.fonts.ready);
  const overflow = await narrow.evaluate(() => {
    const width = document.scrollingElement.scrollWidth;
    const limit = document.documentElement.clientWidth;
    const name = (el) => el.tagName.toLowerCase() + (el.id ? `#${el.id}` : '') +
      [...el.classList].map((c) => `.${c}`).join('');
    // Inside a scrolling box that fits (a wide table in its scroll region) overflow is fine,
    // unless the element is positioned against an ancestor outside that box and escapes it.
    const clipped = (el) => {
      const positioned = ['absolute', 'fixed'].includes(getComputedStyle(el).position);
      let containingBlockInside = !positioned;
      for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
        const style = getComputedStyle(a);
        if (style.position !== 'static') containingBlockInside = true;
        if (style.overflowX !== 'visible' && a.getBoundingClientRect().right <= limit + 1) {
          return containingBlockInside;
        }
      }
      return false;
    };
    const wide = [...document.querySelectorAll('body, body *')]
      .filter((el) => el.getBoundingClientRect().right > limit + 1 && !clipped(el));
    // The outermost ones: their parent fits (or is <html>).
    let culprits = wide.filter((el) => el.parentElement.getBoundingClientRect().right <= limit + 1);
    if (!culprits.length) culprits = wide;
    return {
      width,
      limit,
      culprits: culprits.slice(0, 5).map(
        (el) => `${name(el)} (right edge ${Math.round(el.getBoundingClientRect().right)} px)`),
    };
  });
  result.narrow = overflow;
  if (overflow.width > 320) {
    result.problems.push(
      `at 320 px the page is ${overflow.width} px wide (horizontal scroll); overflowing: ${overflow.culprits.join(', ') || 'none found'}`,
    );
  }
}

/** The page contract's accessibility hooks. */
async function contractHooks(spec) {
  const found = await page.evaluate(() => ({
    lang: document.documentElement.getAttribute('lang'),
    main: document.querySelectorAll('main#main').length,
    title: document.title.trim(),
    h1: document.querySelectorAll('h1').length,
    skip: !!document.querySelector('a.skip-link[href="#main"]'),
    switcher: [...document.querySelectorAll('nav[aria-label]')].some(
      (nav) => nav.querySelector('a[hreflang="en"]') && nav.querySelector('a[hreflang="fr"]'),
    ),
  }));
  const problems = [];
  const lang = spec.lang ?? 'fr';
  if (found.lang !== lang) problems.push(`<html lang="${found.lang}">, expected "${lang}"`);
  if (found.main !== 1) problems.push(`${found.main} <main id="main"> elements, expected 1`);
  if (!found.title) problems.push('empty <title>');
  if (!spec.embed) {
    if (found.h1 !== 1) problems.push(`${found.h1} <h1> elements, expected 1`);
    if (!found.skip) problems.push('no <a class="skip-link" href="#main">');
    if (!found.switcher) {
      problems.push('no language switcher <nav aria-label> with <a hreflang="en"> and <a hreflang="fr">');
    }
  }
  return problems;
}

/**
 * The first Tab stop is the skip link, visible with an outline, and Enter on it makes #main
 * the target; the next Tab stops show a focus indicator (outline, shadow, border, colour or
 * underline). A page that moves the focus itself on load (a record's detail focuses its
 * heading or close link) is walked from there.
 */
async function focusChecks(result) {
  const problems = [];
  const moved = await page.evaluate(() =>
    document.activeElement && document.activeElement !== document.body
      ? document.activeElement.outerHTML.slice(0, 120)
      : null);
  if (moved) {
    result.focusOnLoad = moved;
  } else {
    await page.keyboard.press('Tab');
    const first = await page.evaluate(() => {
      const el = document.activeElement;
      const r = el.getBoundingClientRect();
      const style = getComputedStyle(el);
      const x = Math.min(Math.max(r.left + r.width / 2, 0), window.innerWidth - 1);
      const y = Math.min(Math.max(r.top + r.height / 2, 0), window.innerHeight - 1);
      const hit = document.elementFromPoint(x, y);
      return {
        html: el.outerHTML.slice(0, 120),
        skip: el.matches('a.skip-link[href="#main"]'),
        inView: r.width > 1 && r.height > 1 && r.top >= 0 && r.left >= 0 &&
          r.bottom <= window.innerHeight && r.right <= window.innerWidth,
        onTop: !!hit && (hit === el || el.contains(hit)),
        outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 1,
        shadow: style.boxShadow !== 'none',
      };
    });
    if (!first.skip) problems.push(`the first Tab stop is ${first.html}, not the skip link`);
    else {
      if (!first.inView || !first.onTop) problems.push('the focused skip link is not visible on screen');
      if (!first.outline && !first.shadow) problems.push('the focused skip link has no outline');
    }
  }

  for (let i = 0; i < 6; i++) {
    await page.keyboard.press('Tab');
    const seen = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return null;
      const pick = (s) => [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow,
        s.borderTopColor, s.borderBottomColor, s.borderBottomWidth, s.backgroundColor, s.color,
        s.textDecorationLine].join('|');
      const style = getComputedStyle(el);
      const focused = pick(style);
      const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 1;
      el.blur();
      const blurred = pick(getComputedStyle(el));
      el.focus();
      const name = el.tagName.toLowerCase() + (el.id ? `#${el.id}` : '') +
        [...el.classList].map((c) => `.${c}`).join('') +
        ` "${(el.textContent || el.getAttribute('aria-label') || '').trim().slice(0, 30)}"`;
      return { name, visible: outline || focused !== blurred };
    });
    if (!seen) break;
    if (!seen.visible) problems.push(`no visible focus indicator on ${seen.name}`);
  }

  // Enter on the skip link moves to <main id="main">.
  const skip = page.locator('a.skip-link[href="#main"]').first();
  if (await skip.count()) {
    await skip.focus();
    await page.keyboard.press('Enter');
    const target = await page.evaluate(() => document.querySelector(':target')?.id ?? null);
    if (target !== 'main') problems.push(`Enter on the skip link leads to #${target}, not #main`);
  }
  return problems;
}

/** An error page helps: a search form and links to the home page and the catalog. */
async function errorPageHelps() {
  const found = await page.evaluate(() => ({
    search: !!document.querySelector('form input[name="q"]'),
    home: [...document.querySelectorAll('a')].some((a) => new URL(a.href).pathname === '/'),
    catalog: [...document.querySelectorAll('a')].some((a) => new URL(a.href).pathname === '/explore/'),
  }));
  const problems = [];
  if (!found.search) problems.push('the error page has no search form');
  if (!found.home) problems.push('the error page has no link to the home page');
  if (!found.catalog) problems.push('the error page has no link to /explore/');
  return problems;
}

// API URLs keep JSON errors.
const apiError = await fetch(`${base}/api/explore/v2.1/catalog/datasets/no-such-dataset`);
const apiType = apiError.headers.get('content-type') || '';
results.push({
  name: 'API 404 stays JSON',
  path: '/api/explore/v2.1/catalog/datasets/no-such-dataset',
  status: apiError.status,
  violations: [],
  problems: apiError.status === 404 && apiType.startsWith('application/json')
    ? []
    : [`answered ${apiError.status} ${apiType}, expected 404 application/json`],
});

try {
  checkNoExternalCode(desktop);
} catch (error) {
  results.push({ name: 'pages stay on the portal', violations: [], problems: [error.message] });
}

await browser.close();
artifactDir();
const report = join(artifacts, 'axe-results.json');
writeFileSync(report, JSON.stringify({ tags: TAGS, rules: LANDMARK_RULES, base, pages: results }, null, 2));

const seconds = ((Date.now() - started) / 1000).toFixed(1);
const failing = results.filter((r) => r.violations.length || r.problems.length);
if (failing.length) {
  const violations = failing.reduce((n, r) => n + r.violations.length, 0);
  console.log(`\na11y.mjs: ${failing.length} of ${results.length} pages fail (${violations} axe violations) in ${seconds} s; report ${report}`);
  for (const r of failing) {
    console.log(`\n${r.name} (${r.url ?? r.path})`);
    for (const p of r.problems) console.log(`  problem: ${p}`);
    for (const v of r.violations) {
      console.log(`  axe ${v.id} [${v.impact}] ${v.help} — ${v.helpUrl}`);
      for (const n of v.nodes) console.log(`      ${n.target.join(' ')}`);
    }
  }
  process.exit(1);
}
console.log(`\na11y.mjs: ${results.length} pages, no axe violation, no problem, in ${seconds} s; report ${report}`);
process.exit(0);
