// The exact requests the real @opendatasoft/api-client builds, sent to a Kleber server.
//
// Usage: node conformance_clients.mjs <base-url> <expectations.json>
//
// Every query is built by the library's own builder (fromCatalog, Query helpers, ODSQL
// helpers, export formats from its EXPORT_* constants) and sent by its ApiClient; a fetch
// wrapper records the URL the library sent. Each case checks the answer's shape (and, where
// the Rust test computed them from the file, its values) and prints one JSON line:
// {"name", "url", "status", "ok", "detail"}. The Rust test (conformance_clients.rs) decides
// which failures are known differences. Exit status 2 means the script itself broke.

import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import ods from '@opendatasoft/api-client';

const {
    ApiClient, fromCatalog, field, string, date, dateTime, dateFromIsoString, lower, all, one,
    list, not, textSearch, textStartWith, textSuggest, exactMatch,
    EXPORT_DATASET_FORMAT, EXPORT_CATALOG_FORMAT,
} = ods;

const [base, expectationsPath] = process.argv.slice(2);
if (!base || !expectationsPath) {
    console.error('usage: node conformance_clients.mjs <base-url> <expectations.json>');
    process.exit(2);
}
const expected = JSON.parse(readFileSync(expectationsPath, 'utf8'));

let lastUrl = '';
const recordingFetch = (request, init) => {
    lastUrl = typeof request === 'string' ? request : request.url;
    return fetch(request, init);
};
const client = new ApiClient({ domain: base, fetch: recordingFetch });
// Exports are not JSON: the raw response is kept.
const raw = new ApiClient({
    domain: base,
    fetch: recordingFetch,
    interceptResponse: async (response) => ({
        status: response.status,
        type: response.headers.get('content-type') || '',
        body: Buffer.from(await response.arrayBuffer()),
    }),
});

const parkings = fromCatalog().dataset('parkings');
const velib = fromCatalog().dataset('velib');
const cases = [];
const check = (name, body) => cases.push({ name, body });

const records = (page) => {
    assert.equal(typeof page.total_count, 'number', 'total_count');
    assert.ok(Array.isArray(page.results), 'results');
    return page.results;
};
const count = async (query) => {
    const page = await client.get(query.limit(1));
    records(page);
    return page.total_count;
};

// Dataset records: every Query helper, alone and combined.
const P = expected.parkings;
check('records()', async () => assert.equal((await client.get(parkings.records())).total_count, P.count));
check('select(field)', async () => {
    const rows = records(await client.get(parkings.records().select(field('nom_parking'))));
    assert.deepEqual(Object.keys(rows[0]), ['nom_parking']);
});
check('select(list(...)) with alias and function', async () => {
    const q = parkings.records().select(list(field('nom_parking'), 'total - libre AS used', lower(field('etat_descriptif'))));
    const rows = records(await client.get(q));
    assert.equal(Object.keys(rows[0]).length, 3);
    assert.equal(rows[0].used, expected.parkings.used_first);
});
check('select(updater)', async () => {
    const q = parkings.records().select('nom_parking').select((s) => `${s}, total`);
    assert.deepEqual(Object.keys(records(await client.get(q))[0]), ['nom_parking', 'total']);
});
check('where(comparison)', async () => assert.equal(await count(parkings.records().where(`${field('total')} > 300`)), P.over_300));
check('where(exactMatch)', async () => assert.equal(await count(parkings.records().where(exactMatch('etat_descriptif', 'Ouvert'))), P.by_state.Ouvert));
check('where(all(...))', async () => assert.equal(
    await count(parkings.records().where(all(exactMatch('etat_descriptif', 'Ouvert'), `${field('total')} > 300`))),
    P.open_over_300));
check('where(one(...))', async () => assert.equal(
    await count(parkings.records().where(one(exactMatch('etat_descriptif', 'Ouvert'), `${field('total')} > 300`))),
    P.open_or_over_300));
check('where(not(...))', async () => assert.equal(
    await count(parkings.records().where(not(exactMatch('etat_descriptif', 'Ouvert')))),
    P.count - P.by_state.Ouvert));
check('where(updater) ANDs', async () => assert.equal(
    await count(parkings.records().where(exactMatch('etat_descriptif', 'Ouvert')).where((w) => all(w, `${field('total')} > 300`))),
    P.open_over_300));
check('where(textSearch)', async () => assert.ok((await count(parkings.records().where(textSearch('gare')))) >= P.name_has_gare));
check('where(textSearch in fields)', async () => assert.ok((await count(parkings.records().where(textSearch('gare', ['nom_parking'])))) >= P.name_has_gare));
check('where(textStartWith)', async () => assert.equal(await count(parkings.records().where(textStartWith('Parking', ['nom_parking']))), P.starts_parking));
check('where(textSuggest)', async () => assert.ok((await count(parkings.records().where(textSuggest('Parking', ['nom_parking'])))) > 0));
check('where(string in list)', async () => assert.equal(
    await count(parkings.records().where(`${field('etat_descriptif')} IN (${string('Ouvert')}, ${string('Fermé')})`)),
    P.by_state.Ouvert + (P.by_state['Fermé'] || 0)));
check('groupBy + orderBy + select aggregates', async () => {
    const q = parkings.records().select('etat_descriptif, count(*) AS n').groupBy(field('etat_descriptif')).orderBy('n DESC');
    const rows = records(await client.get(q));
    assert.equal(rows.length, Object.keys(P.by_state).length);
    for (const row of rows) assert.equal(row.n, P.by_state[row.etat_descriptif]);
});
check('orderBy, limit, offset', async () => {
    const q = parkings.records().select('nom_parking').orderBy(`${field('nom_parking')} ASC`).limit(5).offset(3);
    assert.deepEqual(records(await client.get(q)).map((r) => r.nom_parking), P.names.slice(3, 8));
});
check('limit(updater), offset(updater)', async () => {
    const q = parkings.records().select('nom_parking').orderBy('nom_parking').limit(2).limit((n) => n + 3).offset(1).offset((n) => n + 2);
    assert.deepEqual(records(await client.get(q)).map((r) => r.nom_parking), P.names.slice(3, 8));
});
check('refine', async () => assert.equal(await count(parkings.records().refine('etat_descriptif:Ouvert')), P.by_state.Ouvert));
check('refine twice', async () => assert.equal(
    await count(parkings.records().refine('etat_descriptif:Ouvert').refine('etat:1')), P.open_etat_1));
check('exclude', async () => assert.equal(await count(parkings.records().exclude('etat_descriptif:Ouvert')), P.count - P.by_state.Ouvert));
check('refine + exclude + where', async () => assert.equal(
    await count(parkings.records().refine('etat_descriptif:Ouvert').exclude('etat:0').where(`${field('total')} > 300`)),
    P.open_etat_1_over_300));
check('lang', async () => assert.equal((await client.get(parkings.records().lang('fr'))).total_count, P.count));
check('timezone', async () => {
    const q = velib.records().select(field(expected.velib.datetime_field)).orderBy(field(expected.velib.stationcode_field)).limit(1).timezone('Europe/Paris');
    const [row] = records(await client.get(q));
    assert.equal(row[expected.velib.datetime_field], expected.velib.first_datetime_paris);
});
check('where(date helpers)', async () => {
    const f = field(expected.velib.datetime_field);
    const d = expected.velib.first_date;
    const [y, m, dd] = d.split('-').map(Number);
    const a = await count(velib.records().where(`${f} >= ${date({ year: y, month: m, day: dd })}`));
    const b = await count(velib.records().where(`${f} >= ${dateFromIsoString(d)}`));
    const c = await count(velib.records().where(`${f} >= ${dateTime(new Date(`${d}T00:00:00Z`))}`));
    assert.equal(a, expected.velib.count_from_first_date);
    assert.equal(b, a);
    assert.equal(c, a);
});

// Facets.
check('facets()', async () => {
    const f = await client.get(parkings.facets());
    assert.ok(Array.isArray(f.facets));
});
check('facets().facet(field)', async () => {
    const f = await client.get(parkings.facets().facet('etat_descriptif'));
    const group = f.facets.find((g) => g.name === 'etat_descriptif');
    assert.ok(group, 'the group');
    for (const v of group.facets) {
        assert.deepEqual(Object.keys(v).sort(), ['count', 'name', 'state', 'value']);
        assert.equal(v.count, P.by_state[v.value]);
    }
});
check('facets().facet(...).refine(...)', async () => {
    const f = await client.get(parkings.facets().facet('etat_descriptif').refine('etat:1'));
    assert.ok(f.facets.find((g) => g.name === 'etat_descriptif'));
});

// One record.
check('record(id)', async () => {
    // The id of the first record, read through the v1 API (v2.1 pages carry no ids).
    const v1 = await (await fetch(`${base}/api/records/1.0/search/?dataset=parkings&rows=1`)).json();
    const one = await client.get(parkings.record(v1.records[0].recordid));
    assert.equal(one.nom_parking, v1.records[0].fields.nom_parking);
});

// Dataset and catalog.
check('dataset itself()', async () => assert.equal((await client.get(parkings.itself())).dataset_id, 'parkings'));
check('catalog itself()', async () => assert.ok(Array.isArray((await client.get(fromCatalog().itself())).links)));
check('catalog datasets() with where, select, orderBy, limit, offset', async () => {
    const q = fromCatalog().datasets().where(`dataset_id = ${string('parkings')}`).select('dataset_id').orderBy('dataset_id').limit(10).offset(0);
    const page = await client.get(q);
    assert.equal(page.total_count, 1);
    assert.equal(page.results[0].dataset_id, 'parkings');
});
check('catalog datasets().refine().lang()', async () => assert.equal(typeof (await client.get(fromCatalog().datasets().lang('fr'))).total_count, 'number'));
check('catalog facets()', async () => assert.ok(Array.isArray((await client.get(fromCatalog().facets())).facets)));
check('catalog facets().facet(...)', async () => assert.ok(Array.isArray((await client.get(fromCatalog().facets().facet('publisher'))).facets)));
check('catalog assets()', async () => assert.ok(await client.get(fromCatalog().assets())));

// Every export format the library names, for the dataset (with a query) and the catalog.
const exportOk = (r) => {
    assert.equal(r.status, 200, `status ${r.status}: ${r.body.toString('utf8', 0, 200)}`);
    assert.ok(r.body.length > 0, 'a body');
};
for (const format of Object.values(EXPORT_DATASET_FORMAT)) {
    const dataset = ['geojson', 'shp', 'kml', 'gpx', 'fgb', 'mvt'].includes(format) ? 'trafic' : 'parkings';
    check(`dataset export ${format}`, async () => {
        const q = fromCatalog().dataset(dataset).export(format).limit(5).lang('fr').timezone('Europe/Paris');
        exportOk(await raw.get(q));
    });
}
for (const format of Object.values(EXPORT_CATALOG_FORMAT)) {
    check(`catalog export ${format}`, async () => exportOk(await raw.get(fromCatalog().export(format))));
}

let failures = 0;
for (const c of cases) {
    lastUrl = '';
    let ok = true;
    let detail = '';
    try {
        await c.body();
    } catch (e) {
        ok = false;
        failures += 1;
        detail = String(e && e.message ? e.message : e).slice(0, 300);
    }
    console.log(JSON.stringify({ name: c.name, url: lastUrl, ok, detail }));
}
console.error(`${cases.length - failures} passed, ${failures} failed`);
