// Shared helpers of the browser tests: the browser, the artifacts, the API, and a step runner
// that names what failed and where.
//
// The browser is Debian's Chromium driven by playwright-core; both, and axe-core, are installed
// by scripts/install-test-deps.sh (playwright-core and axe-core in tests/clients/node_modules).

import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository's root directory. */
export const root = join(here, '..', '..');
/** Where screenshots, downloads and reports go (gitignored). */
export const artifacts = join(root, 'tests', 'artifacts');
const modules = join(root, 'tests', 'clients', 'node_modules');
const chromiumPath = process.env.KLEBER_CHROMIUM || '/usr/bin/chromium';
/** The axe-core script injected into pages. */
export const axePath = join(modules, 'axe-core', 'axe.min.js');

const INSTALL = 'run scripts/install-test-deps.sh';

/** Exits with a message naming the install script when a tool is missing. */
function requireTools() {
  const missing = [];
  if (!existsSync(chromiumPath)) missing.push(`chromium (${chromiumPath})`);
  if (!existsSync(join(modules, 'playwright-core', 'index.mjs'))) {
    missing.push(`playwright-core (${join(modules, 'playwright-core')})`);
  }
  if (!existsSync(axePath)) missing.push(`axe-core (${axePath})`);
  if (missing.length) {
    console.error(`missing test tools: ${missing.join(', ')}; ${INSTALL}`);
    process.exit(3);
  }
}

requireTools();
const { chromium } = await import(
  pathToFileURL(join(modules, 'playwright-core', 'index.mjs')).href
);

/** The portal's base URL, the script's only argument (e.g. http://127.0.0.1:8080). */
export function baseFromArgs(script) {
  const arg = process.argv[2];
  if (!arg || !/^https?:\/\/[^/]+$/.test(arg.replace(/\/$/, ''))) {
    console.error(`usage: node tests/browser/${script} http://HOST:PORT`);
    process.exit(2);
  }
  return arg.replace(/\/$/, '');
}

/** Stops the whole script after `seconds`, so a hung page never hangs the test suite. */
export function deadline(seconds) {
  setTimeout(() => {
    console.error(`FAILED: the script did not finish within ${seconds} s`);
    process.exit(4);
  }, seconds * 1000).unref();
}

/** Creates (if needed) and returns an artifacts subdirectory. */
export function artifactDir(...parts) {
  const dir = join(artifacts, ...parts);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Launches headless Chromium. */
export async function launch() {
  return chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
}

/**
 * A browser context that only reaches the portal: every other request (tiles, fonts, CDNs) is
 * aborted and remembered, so tests are hermetic and show what a page would fetch elsewhere.
 * Uncaught JavaScript errors are remembered too (`context.pageErrors`).
 */
export async function portalContext(browser, base, options = {}) {
  const context = await browser.newContext({
    locale: 'fr-FR',
    reducedMotion: 'reduce',
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
    ...options,
  });
  context.setDefaultTimeout(5_000);
  context.setDefaultNavigationTimeout(15_000);
  context.external = [];
  context.pageErrors = [];
  const origin = new URL(base).origin;
  await context.route('**/*', (route) => {
    const request = route.request();
    const url = request.url();
    if (url.startsWith(origin) || url.startsWith('data:') || url.startsWith('blob:')) {
      return route.continue();
    }
    context.external.push({ url, type: request.resourceType() });
    return route.abort('internetdisconnected');
  });
  context.on('page', (page) => {
    page.on('pageerror', (error) => context.pageErrors.push(`${page.url()}: ${error.message}`));
  });
  return context;
}

/**
 * Scripts and style sheets must be served by the portal itself (Leaflet and the chart library
 * are bundled in the binary); only map tiles may come from elsewhere. Throws listing others.
 */
export function checkNoExternalCode(context) {
  const code = context.external.filter((r) => ['script', 'stylesheet', 'font'].includes(r.type));
  if (code.length) {
    throw new Error(
      `pages loaded code from outside the portal: ${code.map((r) => `${r.type} ${r.url}`).join(', ')}`,
    );
  }
  if (context.pageErrors.length) {
    throw new Error(`uncaught JavaScript errors:\n  ${context.pageErrors.join('\n  ')}`);
  }
}

/** GETs an API path (or absolute URL) and returns its JSON, failing on a non-200 answer. */
export async function api(base, path) {
  const url = path.startsWith('http') ? path : `${base}${path}`;
  const response = await fetch(url);
  const text = await response.text();
  if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status}: ${text}`);
  return JSON.parse(text);
}

/** `total_count` of a records query on `dataset` with the given query parameters. */
export async function totalCount(base, dataset, params = {}) {
  const query = new URLSearchParams({ ...params, limit: '0' });
  const body = await api(base, `/api/explore/v2.1/catalog/datasets/${dataset}/records?${query}`);
  return body.total_count;
}

/** Throws `message` unless `condition` holds. */
export function check(condition, message) {
  if (!condition) throw new Error(typeof message === 'function' ? message() : message);
}

/** Throws unless `actual` equals `expected` (compared as JSON). */
export function checkEqual(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

/**
 * A number as the pages print it: digit groups separated by spaces (French: no-break or narrow
 * no-break spaces) or by commas (English), a decimal comma or point. When both a comma and a
 * point appear, the last one is the decimal mark. NaN when the text holds no number.
 */
export function parseNumber(text, lang = 'fr') {
  let t = String(text).trim().replace(/[\s\u00a0\u202f']/g, '');
  const m = t.match(/-?[\d.,]*\d/);
  if (!m) return NaN;
  t = m[0];
  const comma = t.lastIndexOf(',');
  const point = t.lastIndexOf('.');
  if (comma >= 0 && point >= 0) {
    const decimal = comma > point ? ',' : '.';
    const group = decimal === ',' ? '.' : ',';
    t = t.split(group).join('').replace(decimal, '.');
  } else if (comma >= 0) {
    const grouping = lang === 'en' && /^-?\d{1,3}(,\d{3})+$/.test(t);
    t = grouping ? t.replace(/,/g, '') : t.replace(',', '.');
  } else if ((t.match(/\./g) || []).length > 1) {
    t = t.replace(/\./g, '');
  }
  return Number(t);
}

/** The first integer in `text` (digit groups joined), or NaN. */
export function firstInteger(text) {
  const m = String(text).match(/\d[\d\s\u00a0\u202f.,]*/);
  if (!m) return NaN;
  return Number(m[0].replace(/[^\d]/g, ''));
}

/** Counts the records of a CSV text (quoted fields may hold newlines), header excluded. */
export function csvRecordCount(text) {
  let rows = 0;
  let quoted = false;
  let fieldStarted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') i++;
        else quoted = false;
      }
    } else if (c === '"') {
      quoted = true;
      fieldStarted = true;
    } else if (c === '\n') {
      rows++;
      fieldStarted = false;
    } else if (c !== '\r') {
      fieldStarted = true;
    }
  }
  if (fieldStarted) rows++;
  return Math.max(0, rows - 1);
}

/**
 * Runs named steps; a failing step is reported with the page's URL, a screenshot and the start
 * of its text, and the run goes on with the next scenario. `finish()` exits non-zero if any
 * step failed.
 */
export class Steps {
  constructor(script) {
    this.script = script;
    this.failures = [];
    this.started = Date.now();
  }

  /** Runs `fn`; on failure records it and rethrows so the scenario stops. */
  async step(name, fn, page) {
    const t0 = Date.now();
    try {
      const result = await fn();
      console.log(`  ok   ${name} (${Date.now() - t0} ms)`);
      return result;
    } catch (error) {
      let where = '';
      if (page && !page.isClosed()) {
        where = `\n       at ${page.url()}`;
        try {
          const file = join(
            artifactDir('screenshots'),
            `FAILED-${name.replace(/[^\w]+/g, '-').slice(0, 60)}.png`,
          );
          await page.screenshot({ path: file, fullPage: true, timeout: 5000 });
          where += `\n       screenshot ${file}`;
          const text = (await page.locator('body').innerText({ timeout: 2000 })).slice(0, 300);
          where += `\n       page text: ${JSON.stringify(text)}`;
        } catch {
          // The page may be gone; the URL is enough then.
        }
      }
      const message = describe(error);
      console.log(`  FAIL ${name}: ${message}${where}`);
      this.failures.push(`${name}: ${message}`);
      throw new ScenarioStop();
    }
  }

  /** Runs a scenario (a sequence of steps); a failed step ends only this scenario. */
  async scenario(name, fn) {
    console.log(`${name}`);
    try {
      await fn();
    } catch (error) {
      if (!(error instanceof ScenarioStop)) {
        console.log(`  FAIL ${name}: ${error.stack || error}`);
        this.failures.push(`${name}: ${error.message || error}`);
      }
    }
  }

  /** Prints the summary and exits (0 when every step passed). */
  finish() {
    const seconds = ((Date.now() - this.started) / 1000).toFixed(1);
    if (this.failures.length) {
      console.log(`\n${this.script}: ${this.failures.length} failure(s) in ${seconds} s:`);
      for (const f of this.failures) console.log(`  - ${f}`);
      process.exit(1);
    }
    console.log(`\n${this.script}: all steps passed in ${seconds} s`);
    process.exit(0);
  }
}

class ScenarioStop extends Error {}

/** The first line of an error, plus the locator Playwright was waiting for, if any. */
export function describe(error) {
  const text = error && error.message ? error.message : String(error);
  // eslint-disable-next-line no-control-regex
  const lines = text.replace(/\x1b\[[0-9;]*m/g, '').split('\n');
  const waiting = lines.find((l) => /waiting for (locator|getBy|selector)/.test(l));
  return waiting ? `${lines[0]} (${waiting.trim().replace(/^- /, '')})` : lines[0];
}
