// A user's walk through the demo portal in headless Chromium, following the page contract:
// search, refine, open a dataset, filter/sort/page the table, open a record, the map by
// keyboard, a chart with its data table, an export download, the English switch.
//
// Usage: node tests/browser/walk.mjs http://127.0.0.1:PORT   (a server with the demo data)
// Expected values come from the portal's API, never from the page under test.
// Screenshots (desktop 1280 px and mobile 320 px, full page) go to tests/artifacts/screenshots/.

import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import {
  Steps,
  api,
  artifactDir,
  baseFromArgs,
  check,
  checkEqual,
  checkNoExternalCode,
  csvRecordCount,
  deadline,
  firstInteger,
  launch,
  parseNumber,
  portalContext,
  totalCount,
} from './lib.mjs';

const base = baseFromArgs('walk.mjs');
deadline(170);

const VELO = 'comptages-velos';
const PARKINGS = 'occupation-parkings-temps-reel';
const TOILETS = 'toilettes-publiques';
const TRAM = 'lignes-tram';
const datasetPath = (id, tab = '') => `/explore/dataset/${id}/${tab ? `${tab}/` : ''}`;

const shots = artifactDir('screenshots');
const downloads = artifactDir('downloads');
// Screenshots of an earlier run would be mistaken for this one's (the folders of other
// scripts' screenshots, such as publisher_day/, are theirs to clear).
for (const dir of [shots, downloads]) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile()) rmSync(join(dir, entry.name), { force: true });
  }
}
const steps = new Steps('walk.mjs');
const browser = await launch();
const desktop = await portalContext(browser, base);
const mobile = await portalContext(browser, base, {
  viewport: { width: 320, height: 640 },
  isMobile: true,
  hasTouch: true,
});
const page = await desktop.newPage();
const phone = await mobile.newPage();
let shotNumber = 0;

/** Full-page screenshots of the current page at 1280 px and, in a phone, at 320 px. */
async function shoot(name) {
  if (process.env.NO_SHOTS) return;
  shotNumber += 1;
  const stem = `${String(shotNumber).padStart(2, '0')}-${name}`;
  await settle(page);
  await page.screenshot({ path: join(shots, `${stem}-desktop.png`), fullPage: true });
  await mobile.clearCookies();
  await mobile.addCookies(await desktop.cookies());
  await phone.goto(page.url());
  await settle(phone);
  await phone.screenshot({ path: join(shots, `${stem}-mobile.png`), fullPage: true });
}

/** Waits until the page is drawn: loaded, fonts ready, map markers and chart drawn. */
async function settle(p) {
  await p.waitForLoadState('load');
  await p.evaluate(() => document.fonts.ready);
  if (await p.locator('#map').count()) {
    await p.locator('#map .leaflet-marker-icon, #map .leaflet-overlay-pane > *').first()
      .waitFor({ timeout: 3000 }).catch(() => {});
  }
  if (await p.locator('figure#chart canvas').count()) {
    await eventually(() => canvasDrawn(p, 'figure#chart canvas'), 3000, '').catch(() => {});
  }
  await p.waitForTimeout(150);
}

/** Runs `action` and waits for the main frame to load the document it navigates to. */
async function navigates(p, action) {
  const navigation = p
    .waitForEvent('framenavigated', { predicate: (frame) => frame === p.mainFrame(), timeout: 10_000 })
    .then(() => null, (error) => error);
  await action();
  const failed = await navigation;
  if (failed) throw new Error(`no page load after the action: ${failed.message.split('\n')[0]}`);
  await p.waitForLoadState('load');
}

/** Opens `path` of the portal and checks it answers an HTML page with status 200. */
async function visit(p, path) {
  const response = await p.goto(`${base}${path}`);
  const type = response.headers()['content-type'] || '';
  check(response.status() === 200 && type.startsWith('text/html'),
    `GET ${path} answered ${response.status()} ${type}`);
  return response;
}

const params = (p) => new URL(p.url()).searchParams;
const pathOf = (p) => new URL(p.url()).pathname;

async function htmlLang(p) {
  return p.evaluate(() => document.documentElement.getAttribute('lang'));
}

/** The number in `#result-count`. */
async function resultCount(p) {
  const text = await p.locator('#result-count').innerText();
  const n = firstInteger(text);
  check(!Number.isNaN(n), `#result-count holds no number: ${JSON.stringify(text)}`);
  return n;
}

/** The dataset cards of a catalog page: link path and title. */
async function cards(p) {
  return p.locator('article.dataset-card').evaluateAll((articles) =>
    articles.map((article) => {
      const link = article.querySelector('h2 a');
      return link
        ? { path: new URL(link.href).pathname, title: link.textContent.trim() }
        : { path: null, title: null };
    }),
  );
}

/** The main search box of the page (the one inside <main>, else the first). */
function searchBox(p) {
  return p.locator('main input[type="search"][name="q"], input[type="search"][name="q"]').first();
}

/** Types `text` into the search box and submits with Enter. */
async function search(p, text) {
  const box = searchBox(p);
  await box.fill(text);
  await navigates(p, () => box.press('Enter'));
}

/** Submits the form of `control` with its submit button (or as Enter would, if it has none). */
async function submitFormOf(control) {
  const button = control.locator('xpath=ancestor::form[1]')
    .locator('button[type="submit"], input[type="submit"], button:not([type])');
  if (await button.count() > 0 && await button.first().isVisible()) await button.first().click();
  else await control.evaluate((c) => c.form.requestSubmit());
}

/** The link of facet `facet` that refines on `value` (`refine.<facet>=<value>`), with its count. */
async function facetLink(p, facet, value) {
  const links = p.locator(`nav.facets section.facet[data-facet="${facet}"] a.facet-value`);
  await links.first().waitFor();
  const index = (await links.evaluateAll((as) => as.map((a) => a.href))).findIndex(
    (href) => new URL(href).searchParams.getAll(`refine.${facet}`).includes(value));
  check(index >= 0, `no link with refine.${facet}=${value} in the ${facet} facet`);
  const link = links.nth(index);
  const count = firstInteger(await link.locator('.count').innerText());
  check(!Number.isNaN(count), `the facet link ${facet}=${value} shows no count`);
  return { link, count };
}

/** The tabs of a dataset page: path of each link and which one is current. */
async function tabs(p) {
  return p.locator('nav.tabs a').evaluateAll((links) =>
    links.map((a) => ({
      path: new URL(a.href).pathname,
      current: a.getAttribute('aria-current') === 'page',
    })),
  );
}

/** Clicks the tab whose link ends with `/${tab}/`. */
async function openTab(p, tab) {
  const link = p.locator(`nav.tabs a[href$="/${tab}/"], nav.tabs a[href*="/${tab}/?"]`).first();
  await navigates(p, () => link.click());
  check(pathOf(p).endsWith(`/${tab}/`), `the ${tab} tab opened ${pathOf(p)}`);
  const current = (await tabs(p)).filter((t) => t.current).map((t) => t.path);
  checkEqual(current.length === 1 && current[0].endsWith(`/${tab}/`), true,
    `aria-current="page" on the ${tab} tab only (current: ${JSON.stringify(current)})`);
}

/** Headers (text, sort link) and rows (cell texts, record link) of `table#records`. */
async function readRecords(p) {
  return p.evaluate(() => {
    const table = document.querySelector('table#records');
    if (!table) return null;
    const headRow = table.tHead ? table.tHead.rows[table.tHead.rows.length - 1] : table.rows[0];
    const headers = [...headRow.cells].map((cell) => ({
      text: cell.textContent.trim(),
      scope: cell.getAttribute('scope'),
      sort: cell.querySelector('a') ? cell.querySelector('a').href : null,
    }));
    const bodyRows = [...table.tBodies].flatMap((body) => [...body.rows]);
    const rows = bodyRows.map((row) => ({
      cells: [...row.cells].map((cell) => cell.textContent.trim()),
      record: [...row.querySelectorAll('a')].map((a) => a.href).find((h) => h.includes('record=')) ?? null,
      text: row.textContent,
    }));
    return { headers, rows };
  });
}

/** Index of the column whose header links to a sort on `field`. */
function sortColumn(table, field) {
  return table.headers.findIndex((h) => {
    if (!h.sort) return false;
    const sort = new URL(h.sort).searchParams.get('sort');
    return sort === field || sort === `-${field}`;
  });
}

/** ODSQL `where` for the table page's `q` (a bare string is a full-text search). */
const fullText = (q) => `"${q.replace(/"/g, '\\"')}"`;

/** Records API parameters equivalent to the page's URL state (q and refine.*). */
function apiFilters(pageParams) {
  const out = new URLSearchParams();
  const q = pageParams.get('q');
  if (q) out.append('where', fullText(q));
  const refines = [...pageParams]
    .filter(([key]) => key.startsWith('refine.'))
    .map(([key, value]) => `${key.slice(7)}:${value}`)
    .sort();
  for (const refine of refines) out.append('refine', refine);
  return out;
}

async function records(dataset, query) {
  const body = await api(base, `/api/explore/v2.1/catalog/datasets/${dataset}/records?${query}`);
  return body;
}

/** True when the canvas has at least one non-transparent pixel. */
async function canvasDrawn(p, selector) {
  return p.locator(selector).evaluate((canvas) => {
    const ctx = canvas.getContext('2d');
    if (!ctx || !canvas.width || !canvas.height) return false;
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) return true;
    return false;
  });
}

/** Waits until `predicate` (polled) holds, up to `ms`. */
async function eventually(predicate, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > end) throw new Error(`${what} (waited ${ms} ms)`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const catalog = await api(base, '/api/explore/v2.1/catalog/datasets?limit=100');
const titleOf = (id) => catalog.results.find((d) => d.dataset_id === id)?.metas?.default?.title;

// 1. Home → search → refine → open a dataset.
await steps.scenario('search the catalog and open a dataset', async () => {
  await steps.step('home page in French with a labelled search form', async () => {
    await visit(page, '/');
    checkEqual(await htmlLang(page), 'fr', '<html lang> of the home page (browser in fr-FR)');
    const form = page.locator('form[role="search"]').first();
    const action = await form.evaluate((f) => ({
      path: new URL(f.action).pathname,
      method: (f.getAttribute('method') || 'get').toLowerCase(),
    }));
    checkEqual(action, { path: '/explore/', method: 'get' }, 'search form action and method');
    const labelled = await form
      .locator('input[type="search"][name="q"]')
      .evaluate((input) => input.labels.length > 0 && input.labels[0].textContent.trim() !== '');
    check(labelled, 'the search input has no <label> with text');
    await shoot('home');
  }, page);

  await steps.step('"velo" finds the Vélo dataset (accents folded)', async () => {
    await search(page, 'velo');
    checkEqual(pathOf(page), '/explore/', 'search lands on the catalog');
    checkEqual(params(page).get('q'), 'velo', 'q in the URL');
    const found = await cards(page);
    check(found.some((c) => c.path === datasetPath(VELO) && /vélo/i.test(c.title)),
      `no card links to ${datasetPath(VELO)} with "vélo" in its title: ${JSON.stringify(found)}`);
    checkEqual(await resultCount(page), found.length, '#result-count vs cards shown');
    await shoot('catalog-search-velo');
  }, page);

  await steps.step('"parkings" finds the Parking dataset (French stemming)', async () => {
    await search(page, 'parkings');
    const found = await cards(page);
    check(found.some((c) => c.path === datasetPath(PARKINGS)),
      `no card links to ${datasetPath(PARKINGS)}: ${JSON.stringify(found)}`);
  }, page);

  let all = 0;
  await steps.step('an empty search lists the whole catalog with facets', async () => {
    await search(page, '');
    all = await resultCount(page);
    checkEqual(all, catalog.total_count, '#result-count of the whole catalog vs the API');
    const shown = await cards(page);
    check(shown.length > 0 && shown.length <= all, `${shown.length} cards for ${all} datasets`);
    const facets = await page
      .locator('nav.facets section.facet')
      .evaluateAll((s) => s.map((e) => e.dataset.facet));
    for (const f of ['theme', 'keyword', 'publisher', 'license', 'features', 'modified']) {
      check(facets.includes(f), `no facet section data-facet="${f}" (found ${facets})`);
    }
    await shoot('catalog');
  }, page);

  await steps.step('refining by theme "Mobilité" shrinks the list to the facet count', async () => {
    const { link, count } = await facetLink(page, 'theme', 'Mobilité');
    const expected = catalog.results.filter((d) => (d.metas.default.theme || []).includes('Mobilité'));
    checkEqual(count, expected.length, 'count shown beside "Mobilité" vs the API catalog');
    await navigates(page, () => link.click());
    checkEqual(params(page).get('refine.theme'), 'Mobilité', 'refine.theme in the URL');
    const n = await resultCount(page);
    checkEqual(n, count, '#result-count after refining');
    check(n < all, `refining did not shrink the list (${n} of ${all})`);
    const shown = (await cards(page)).map((c) => c.path).sort();
    checkEqual(shown, expected.map((d) => datasetPath(d.dataset_id)).sort(), 'cards after refining');
    await shoot('catalog-refined');
  }, page);

  await steps.step('sorting by title keeps the refinement and orders the cards', async () => {
    const select = page.locator('form select[name="sort"]').first();
    const options = await select.locator('option').evaluateAll((os) => os.map((o) => o.value));
    const byTitle = options.find((v) => /^title$|^-?title$|title/.test(v) && !v.startsWith('-'));
    check(byTitle, `no sort option by title among ${JSON.stringify(options)}`);
    await navigates(page, async () => {
      await select.selectOption(byTitle);
      // A script may submit the form on change; if nothing happens, the user clicks the button.
      const changed = await page
        .waitForURL((u) => u.searchParams.get('sort') === byTitle, { timeout: 2000 })
        .then(() => true, () => false);
      if (!changed) await submitFormOf(select);
    });
    checkEqual(params(page).get('sort'), byTitle, 'sort in the URL');
    checkEqual(params(page).get('refine.theme'), 'Mobilité', 'refine.theme kept by the sort form');
    const titles = (await cards(page)).map((c) => c.title);
    const sorted = [...titles].sort((a, b) => a.localeCompare(b, 'fr', { sensitivity: 'base' }));
    checkEqual(titles, sorted, 'card titles in title order');
  }, page);

  await steps.step('opening the Vélo dataset shows its title and tabs (no map: not geo)', async () => {
    const link = page.locator(`article.dataset-card h2 a[href$="${datasetPath(VELO)}"]`).first();
    await navigates(page, () => link.click());
    checkEqual(pathOf(page), datasetPath(VELO), 'dataset page path');
    checkEqual((await page.locator('h1').first().innerText()).trim(), titleOf(VELO), '<h1>');
    const links = (await tabs(page)).map((t) => t.path);
    for (const tab of ['information', 'table', 'analyze', 'api', 'export']) {
      check(links.includes(datasetPath(VELO, tab)), `no ${tab} tab link: ${JSON.stringify(links)}`);
    }
    check(!links.some((l) => l.endsWith('/map/')), `a map tab on a dataset without geo field`);
    const current = (await tabs(page)).filter((t) => t.current).map((t) => t.path);
    checkEqual(current, [datasetPath(VELO, 'information')], 'current tab on the dataset page');
    await shoot('dataset-information');
  }, page);
});

// 2. The table: text filter, facet filter, sort, next page, a record's detail.
await steps.scenario('filter, sort and page the table, open a record', async () => {
  let pageRows = 0;
  await steps.step('the table tab lists records with sortable column headers', async () => {
    await visit(page, `${datasetPath(VELO)}`);
    await openTab(page, 'table');
    const table = await readRecords(page);
    check(table, 'no table#records');
    check(table.headers.filter((h) => h.scope === 'col').length >= 4,
      `fewer than 4 <th scope="col"> headers: ${JSON.stringify(table.headers)}`);
    check(sortColumn(table, 'comptage') >= 0, 'the "comptage" header is not a sort link');
    pageRows = table.rows.length;
    check(pageRows > 0, 'the table has no rows');
    check(await page.locator('form#table-filter input[type="search"][name="q"]').count() === 1,
      'no search box in form#table-filter');
    await shoot('table');
  }, page);

  await steps.step('a text filter keeps only matching records', async () => {
    const box = page.locator('form#table-filter input[name="q"]');
    await box.fill('Kennedy');
    await navigates(page, () => box.press('Enter'));
    checkEqual(params(page).get('q'), 'Kennedy', 'q in the URL');
    const expected = await totalCount(base, VELO, { where: fullText('Kennedy') });
    const table = await readRecords(page);
    checkEqual(table.rows.length, Math.min(pageRows, expected), 'rows shown for q=Kennedy');
    const stray = table.rows.filter((r) => !r.text.includes('Kennedy'));
    checkEqual(stray.length, 0, 'rows without "Kennedy"');
  }, page);

  let filters;
  await steps.step('a facet link narrows the filtered table to its count', async () => {
    const current = params(page);
    const candidates = await page.locator('a.facet-value').evaluateAll((links) =>
      links.map((a, index) => ({ index, href: a.href, count: a.querySelector('.count')?.textContent ?? '' })));
    const choice = candidates
      .map((c) => {
        const added = [...new URL(c.href).searchParams].find(
          ([k, v]) => k.startsWith('refine.') && current.get(k) !== v);
        return { ...c, added, n: firstInteger(c.count) };
      })
      .find((c) => c.added && c.n > pageRows && c.n < 730);
    check(choice, `no facet link adding a refinement with more than one page of records: ${JSON.stringify(candidates.slice(0, 20))}`);
    await navigates(page, () => page.locator('a.facet-value').nth(choice.index).click());
    const [key, value] = choice.added;
    checkEqual(params(page).get(key), value, `${key} in the URL`);
    checkEqual(params(page).get('q'), 'Kennedy', 'q kept by the facet link');
    filters = apiFilters(params(page));
    const expected = (await records(VELO, `${filters}&limit=0`)).total_count;
    checkEqual(choice.n, expected, `count shown beside the facet value ${key}=${value} vs the API`);
    const table = await readRecords(page);
    checkEqual(table.rows.length, Math.min(pageRows, expected), 'rows shown after the facet');
    const year = value.match(/^(\d{4})([/-]\d\d)*$/);
    const mark = year ? year[1] : value;
    const stray = table.rows.filter((r) => !r.text.includes(mark));
    checkEqual(stray.length, 0, `rows without "${mark}"`);
  }, page);

  let sorted;
  await steps.step('a column header sorts the filtered records', async () => {
    const table = await readRecords(page);
    const column = sortColumn(table, 'comptage');
    const link = page.locator('table#records th').nth(column).locator('a');
    await navigates(page, () => link.click());
    const sort = params(page).get('sort');
    check(sort === 'comptage' || sort === '-comptage', `sort in the URL is ${sort}`);
    checkEqual(apiFilters(params(page)).toString(), filters.toString(), 'filters kept by the sort link');
    const direction = sort.startsWith('-') ? 'desc' : 'asc';
    const after = await readRecords(page);
    const values = after.rows.map((r) => parseNumber(r.cells[column]));
    const expected = await records(VELO, `${filters}&order_by=comptage ${direction}&limit=${after.rows.length}&select=comptage`);
    checkEqual(values, expected.results.map((r) => r.comptage), `comptage column sorted ${direction}`);
    sorted = { column, direction, rows: after.rows.length };
    await shoot('table-filtered-sorted');
  }, page);

  await steps.step('the next page continues the sorted, filtered list', async () => {
    const next = page.locator('nav.pagination a[rel="next"]').first();
    await navigates(page, () => next.click());
    checkEqual(apiFilters(params(page)).toString(), filters.toString(), 'filters kept by paging');
    check(params(page).get('sort')?.endsWith('comptage'), 'sort kept by paging');
    const table = await readRecords(page);
    const values = table.rows.map((r) => parseNumber(r.cells[sorted.column]));
    const expected = await records(VELO,
      `${filters}&order_by=comptage ${sorted.direction}&limit=${sorted.rows}&offset=${sorted.rows}&select=comptage`);
    checkEqual(values, expected.results.slice(0, values.length).map((r) => r.comptage), 'second page');
    checkEqual(values.length, expected.results.length, 'rows on the second page');
  }, page);

  await steps.step("a row's link opens the record's detail", async () => {
    const table = await readRecords(page);
    const row = table.rows[0];
    check(row.record, 'the first row has no link with record=');
    const link = page.locator('table#records tbody tr').first().locator('a[href*="record="]').first();
    await navigates(page, () => link.click());
    const detail = page.locator('section#record-detail');
    await detail.waitFor();
    const text = await detail.innerText();
    for (const cell of row.cells.filter((c) => /\d/.test(c) && c.length < 40)) {
      check(text.includes(cell), `the detail does not show the row's value ${JSON.stringify(cell)}`);
    }
    await shoot('table-record-detail');
  }, page);
});

// 3. The map of a geo dataset, by mouse and by keyboard, and without JavaScript.
await steps.scenario('find a geo dataset and use its map', async () => {
  const geo = catalog.results.filter((d) => (d.features || []).includes('geo'));
  await steps.step('the "geo" feature facet lists the datasets with a map', async () => {
    await visit(page, `/explore/`);
    const { link, count } = await facetLink(page, 'features', 'geo');
    checkEqual(count, geo.length, 'count beside the geo feature vs the API');
    const hrefOk = await link.evaluate((a) => new URL(a.href).searchParams.get('refine.features'));
    checkEqual(hrefOk, 'geo', 'refine.features of the facet link');
    await navigates(page, () => link.click());
    checkEqual(await resultCount(page), geo.length, '#result-count after refine.features=geo');
  }, page);

  await steps.step('the toilets map shows markers or clusters without a tile server', async () => {
    const link = page.locator(`article.dataset-card h2 a[href$="${datasetPath(TOILETS)}"]`).first();
    await navigates(page, () => link.click());
    await openTab(page, 'map');
    await page.locator('#map').waitFor();
    await eventually(async () => (await page.locator(
      '#map .leaflet-marker-icon, #map path.leaflet-interactive, #map .leaflet-overlay-pane canvas').count()) > 0,
    5000, 'no marker, cluster or drawn shape in #map');
    await shoot('map-points');
  }, page);

  await steps.step('the map takes keyboard focus and pans with the arrow keys', async () => {
    await page.goto(page.url());
    await page.locator('#map .leaflet-map-pane').waitFor({ state: 'attached' });
    let tabs = 0;
    for (; tabs < 200; tabs++) {
      await page.keyboard.press('Tab');
      const inMap = await page.evaluate(() => {
        const map = document.getElementById('map');
        const a = document.activeElement;
        return !!map && !!a && (a === map || (map.contains(a) && a.classList.contains('leaflet-container')));
      });
      if (inMap) break;
    }
    check(tabs < 200, 'the map never received focus from the Tab key (200 presses)');
    const pane = page.locator('#map .leaflet-map-pane');
    const before = await pane.evaluate((e) => getComputedStyle(e).transform);
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowRight');
    await eventually(async () => (await pane.evaluate((e) => getComputedStyle(e).transform)) !== before,
      2000, 'the map did not pan after ArrowRight');
  }, page);

  await steps.step('the clusters and markers add up to the records, and follow the filters', async () => {
    // A cluster shows how many points it holds; a lone marker is one point.
    const pointsOnMap = () => page.evaluate(() => {
      const clusters = [...document.querySelectorAll('#map .marker-cluster')];
      const inClusters = clusters.reduce((n, c) => n + Number(c.textContent.replace(/\D/g, '')), 0);
      const markers = document.querySelectorAll('#map .leaflet-marker-icon:not(.marker-cluster)').length;
      return inClusters + markers;
    });
    for (const refine of [null, 'commune:Bischheim']) {
      const query = refine ? `?refine.${refine.replace(':', '=')}` : '';
      await visit(page, `${datasetPath(TOILETS, 'map')}${query}`);
      const expected = await totalCount(base, TOILETS, refine ? { refine } : {});
      let shown = 0;
      await eventually(async () => (shown = await pointsOnMap()) === expected, 5000,
        `the map shows ${shown} points for ${expected} records (${query || 'no filter'})`);
    }
  }, page);

  await steps.step('without JavaScript the map tab lists the located records', async () => {
    const plain = await portalContext(browser, base, { javaScriptEnabled: false });
    const p = await plain.newPage();
    await p.goto(`${base}${datasetPath(TOILETS, 'map')}`);
    const rows = await p.locator('table#map-records tbody tr').count();
    const total = await totalCount(base, TOILETS, {});
    check(rows > 0 && rows <= total, `table#map-records has ${rows} rows (dataset: ${total})`);
    await plain.close();
  }, page);

  await steps.step('the tram map draws the line shapes', async () => {
    await visit(page, `${datasetPath(TRAM, 'map')}`);
    const lines = await totalCount(base, TRAM, {});
    await eventually(async () => {
      const paths = await page.locator('#map .leaflet-overlay-pane path').count();
      const canvases = await page.locator('#map .leaflet-overlay-pane canvas').count();
      return paths >= lines || canvases > 0;
    }, 5000, `fewer than ${lines} shapes drawn in #map`);
    await shoot('map-shapes');
  }, page);
});

// 4. Build charts; each has a table with the same numbers as a group_by query.
await steps.scenario('build charts on the analyze tab', async () => {
  async function build(x, y, type) {
    const form = page.locator('form#chart-builder');
    const pick = async (name, test) => {
      const options = await form.locator(`select[name="${name}"] option`)
        .evaluateAll((os) => os.map((o) => o.value));
      const value = options.find(test);
      check(value !== undefined, `no ${name} option fits ${test} among ${JSON.stringify(options)}`);
      await form.locator(`select[name="${name}"]`).selectOption(value);
      return value;
    };
    const chosen = { x: await pick('x', x), y: await pick('y', y), type: await pick('type', type) };
    await navigates(page, () => form.locator('button[type="submit"], input[type="submit"], button:not([type])').first().click());
    for (const [k, v] of Object.entries(chosen)) checkEqual(params(page).get(k), v, `${k} in the URL`);
    await page.locator('figure#chart canvas').waitFor();
    const caption = (await page.locator('figure#chart figcaption').innerText()).trim();
    check(caption.length > 0, 'the chart has an empty <figcaption>');
    await eventually(() => canvasDrawn(page, 'figure#chart canvas'), 5000, 'the chart canvas stays blank');
    const rows = await page.locator('table#chart-data tbody tr').evaluateAll((trs) =>
      trs.map((tr) => [...tr.cells].map((c) => c.textContent.trim())));
    return new Map(rows.map((cells) => [cells[0], parseNumber(cells[cells.length - 1])]));
  }

  async function groups(key, value) {
    const q = new URLSearchParams({ select: `${key} as k, ${value} as v`, group_by: key, limit: '100' });
    const body = await records(VELO, q.toString());
    return new Map(body.results.map((r) => [String(r.k), r.v]));
  }

  await steps.step('sum of counts by counter, as bars', async () => {
    await visit(page, `${datasetPath(VELO)}`);
    await openTab(page, 'analyze');
    const shown = await build((v) => v === 'compteur', (v) => /sum\(\s*comptage\s*\)/.test(v), (v) => v === 'bar');
    checkEqual([...shown].sort(), [...(await groups('compteur', 'sum(comptage)'))].sort(), 'table#chart-data vs group_by compteur');
    await shoot('analyze-bar');
  }, page);

  await steps.step('records per year of the date, as a line', async () => {
    const shown = await build((v) => /^year\(\s*date\s*\)$/.test(v), (v) => /count/.test(v), (v) => v === 'line');
    checkEqual([...shown].sort(), [...(await groups('year(date)', 'count(*)'))].sort(), 'table#chart-data vs group_by year(date)');
    await shoot('analyze-line');
  }, page);

  await steps.step('records per counter, as a pie', async () => {
    const shown = await build((v) => v === 'compteur', (v) => /count/.test(v), (v) => v === 'pie');
    checkEqual([...shown].sort(), [...(await groups('compteur', 'count(*)'))].sort(), 'table#chart-data vs count by compteur');
    await shoot('analyze-pie');
  }, page);
});

// 5. Exports (with and without the filters) and the API tab's snippets.
await steps.scenario('download exports and read the API tab', async () => {
  const query = '?q=Kennedy&refine.date=2025';
  async function download(selector) {
    const link = page.locator(selector).first();
    const href = await link.evaluate((a) => a.href);
    const [file] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const target = join(downloads, `${VELO}-${file.suggestedFilename()}`);
    await file.saveAs(target);
    return { href: new URL(href), rows: csvRecordCount(readFileSync(target, 'utf8')) };
  }

  await steps.step('the export tab offers every format, each link answering', async () => {
    await visit(page, `${datasetPath(VELO, 'export')}${query}`);
    const links = await page.locator('a.export-link').evaluateAll((as) =>
      as.map((a) => ({ format: a.dataset.format, filtered: a.dataset.filtered, href: a.href })));
    const formats = new Set(links.map((l) => l.format));
    for (const f of ['csv', 'json', 'jsonl']) check(formats.has(f), `no export link for ${f}: ${[...formats]}`);
    for (const l of links) {
      check(['true', 'false'].includes(l.filtered), `export link without data-filtered: ${l.href}`);
      checkEqual(new URL(l.href).pathname, `/api/explore/v2.1/catalog/datasets/${VELO}/exports/${l.format}`, 'export link path');
      const response = await fetch(l.href);
      checkEqual(response.status, 200, `GET ${l.href}`);
      await response.arrayBuffer();
    }
    await shoot('export');
  }, page);

  await steps.step('the full CSV download has every record', async () => {
    const { rows } = await download('a.export-link[data-format="csv"][data-filtered="false"]');
    checkEqual(rows, await totalCount(base, VELO, {}), 'CSV records vs total_count');
  }, page);

  await steps.step('the filtered CSV download has the filtered records', async () => {
    const { rows, href } = await download('a.export-link[data-format="csv"][data-filtered="true"]');
    const expected = await totalCount(base, VELO, { where: fullText('Kennedy'), refine: 'date:2025' });
    checkEqual(rows, expected, `CSV records of ${href.search} vs total_count with q=Kennedy&refine.date=2025`);
  }, page);

  await steps.step('the API tab shows curl, ODSQL, JavaScript and Python snippets that work', async () => {
    await visit(page, `${datasetPath(VELO, 'api')}`);
    const blocks = await page.locator('pre code').allInnerTexts();
    const all = blocks.join('\n');
    check(blocks.length >= 4, `only ${blocks.length} <pre><code> blocks`);
    for (const needle of ['curl', VELO, '@opendatasoft/api-client']) {
      check(all.includes(needle), `no snippet mentions ${needle}`);
    }
    check(/odsclient|requests/.test(all), 'no Python snippet (odsclient or requests)');
    const curl = blocks.find((b) => b.includes('curl'));
    const url = curl.match(/https?:\/\/[^\s'"]+/);
    check(url, `no URL in the curl snippet: ${curl}`);
    const response = await fetch(url[0].replace(/^https?:\/\/[^/]+/, base));
    checkEqual(response.status, 200, `the curl snippet's URL ${url[0]}`);
    await shoot('api');
  }, page);
});

// 6. Languages: the switch, the cookie that remembers it, Accept-Language.
await steps.scenario('switch to English', async () => {
  await steps.step('the language switcher turns the page English', async () => {
    await visit(page, `/`);
    const frLabel = await page.locator('form[role="search"] label').first().innerText();
    const en = page.locator('nav a[hreflang="en"]').first();
    await navigates(page, () => en.click());
    checkEqual(await htmlLang(page), 'en', '<html lang> after the switch');
    const enLabel = await page.locator('form[role="search"] label').first().innerText();
    check(enLabel !== frLabel, `the search label stays ${JSON.stringify(frLabel)} in English`);
    await shoot('home-en');
  }, page);

  await steps.step('English is remembered on the next page', async () => {
    await visit(page, `/explore/`);
    checkEqual(await htmlLang(page), 'en', '<html lang> of /explore/ after switching');
    await shoot('catalog-en');
    await visit(page, `${datasetPath(TOILETS, 'table')}`);
    checkEqual(await htmlLang(page), 'en', '<html lang> of a table tab after switching');
    await shoot('table-en');
    const fr = page.locator('nav a[hreflang="fr"]').first();
    await navigates(page, () => fr.click());
    checkEqual(await htmlLang(page), 'fr', '<html lang> after switching back');
  }, page);

  await steps.step('Accept-Language chooses the language, French by default', async () => {
    for (const [locale, expected] of [['en-US', 'en'], ['de-DE', 'fr'], ['fr-FR', 'fr']]) {
      const context = await portalContext(browser, base, { locale });
      const p = await context.newPage();
      await p.goto(`${base}/`);
      checkEqual(await htmlLang(p), expected, `<html lang> for Accept-Language ${locale}`);
      await context.close();
    }
  }, page);
});

// 7. The other pages a visitor meets: about, an embed, a page that does not exist.
await steps.scenario('about, embed and error pages', async () => {
  await steps.step('the about page and a table embed render', async () => {
    await visit(page, '/about/');
    await shoot('about');
    await visit(page, `/explore/embed/dataset/${TOILETS}/table/`);
    check(await page.locator('table#records tbody tr').count() > 0, 'the table embed shows no rows');
    await shoot('embed-table');
  }, page);

  await steps.step('an unknown page answers a 404 page that helps', async () => {
    const response = await page.goto(`${base}/explore/dataset/no-such-dataset/`);
    checkEqual(response.status(), 404, 'status of an unknown dataset page');
    check((response.headers()['content-type'] || '').startsWith('text/html'), 'the 404 is not HTML');
    await searchBox(page).waitFor();
    await shoot('not-found');
  }, page);
});

await steps.scenario('pages stay on the portal', async () => {
  await steps.step('no script, style sheet or font from elsewhere; no uncaught JS error', async () => {
    checkNoExternalCode(desktop);
    checkNoExternalCode(mobile);
    const hosts = [...new Set(desktop.external.map((r) => new URL(r.url).host))];
    if (hosts.length) console.log(`       (blocked requests to ${hosts.join(', ')}: map tiles)`);
  });
});

await browser.close();
steps.finish();
