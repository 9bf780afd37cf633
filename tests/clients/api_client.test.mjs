// The real @opendatasoft/api-client against a Kleber server.
//
// Usage: node api_client.test.mjs <base-url> <expectations.json>
//   (or KLEBER_BASE_URL and KLEBER_EXPECTATIONS in the environment).
//
// The expectations are computed by the Rust test from the real CSV files, independently of
// Kleber; this script only drives the client and compares. It prints one line per check and
// exits with status 1 if any check failed.

import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import ods from '@opendatasoft/api-client';

const {
    ApiClient,
    fromCatalog,
    field,
    string,
    all,
    UserError,
    NotFoundError,
    AuthenticationError,
    ServerError,
} = ods;

const base = process.argv[2] || process.env.KLEBER_BASE_URL;
const expectationsPath = process.argv[3] || process.env.KLEBER_EXPECTATIONS;
if (!base || !expectationsPath) {
    console.error('usage: node api_client.test.mjs <base-url> <expectations.json>');
    process.exit(2);
}
const expected = JSON.parse(readFileSync(expectationsPath, 'utf8'));
const client = new ApiClient({ domain: base });
const parkings = fromCatalog().dataset('parkings');
const velib = fromCatalog().dataset('velib');

const checks = [];
function check(name, body) {
    checks.push({ name, body });
}

/** Sorted copy. */
const sorted = (values) => [...values].sort();

/** Parses the CSV export (`;`, quotes where needed). */
function parseCsv(text) {
    const rows = [];
    let row = [];
    let cell = '';
    let quoted = false;
    for (let i = 0; i < text.length; i += 1) {
        const c = text[i];
        if (quoted) {
            if (c === '"' && text[i + 1] === '"') {
                cell += '"';
                i += 1;
            } else if (c === '"') {
                quoted = false;
            } else {
                cell += c;
            }
        } else if (c === '"') {
            quoted = true;
        } else if (c === ';') {
            row.push(cell);
            cell = '';
        } else if (c === '\n' || c === '\r') {
            if (c === '\r' && text[i + 1] === '\n') i += 1;
            row.push(cell);
            rows.push(row);
            row = [];
            cell = '';
        } else {
            cell += c;
        }
    }
    if (cell !== '' || row.length) {
        row.push(cell);
        rows.push(row);
    }
    return rows;
}

check('catalog: the datasets list', async () => {
    const list = await client.get(fromCatalog().datasets().limit(100).orderBy('dataset_id'));
    assert.equal(list.total_count, expected.datasets.length);
    assert.deepEqual(
        list.results.map((d) => d.dataset_id),
        sorted(expected.datasets)
    );
});

check('catalog: one dataset and its fields', async () => {
    const ds = await client.get(parkings.itself());
    assert.equal(ds.dataset_id, 'parkings');
    for (const key of ['dataset_uid', 'has_records', 'features', 'metas', 'fields']) {
        assert.ok(key in ds, `the dataset object has ${key}`);
    }
    assert.deepEqual(
        ds.fields.map((f) => f.name),
        expected.parkings.fields
    );
    assert.equal(ds.has_records, true);
});

check('records: where, select, order_by', async () => {
    const query = parkings
        .records()
        .select(field('nom_parking'))
        .where(`${field('total')} > 300`)
        .orderBy(field('nom_parking'))
        .limit(100);
    const page = await client.get(query);
    assert.equal(page.total_count, expected.parkings.over_300.length);
    assert.deepEqual(
        page.results.map((r) => r.nom_parking),
        expected.parkings.over_300
    );
    assert.deepEqual(Object.keys(page.results[0]), ['nom_parking'], 'only the selected field');
});

check('records: order_by descending, limit and offset', async () => {
    const query = parkings
        .records()
        .select('nom_parking, libre')
        .orderBy('libre DESC, nom_parking')
        .limit(5)
        .offset(1);
    const page = await client.get(query);
    assert.equal(page.total_count, expected.parkings.count);
    assert.deepEqual(
        page.results.map((r) => [r.nom_parking, r.libre]),
        expected.parkings.by_free_desc.slice(1, 6)
    );
});

check('records: group_by with aggregates', async () => {
    const query = parkings
        .records()
        .select('etat_descriptif, count(*) AS n, sum(libre) AS free')
        .groupBy('etat_descriptif')
        .orderBy('etat_descriptif');
    const page = await client.get(query);
    const got = Object.fromEntries(page.results.map((r) => [r.etat_descriptif, [r.n, r.free]]));
    assert.deepEqual(got, expected.parkings.by_state);
});

check('records: group_by on the Vélib stations, fields found by label', async () => {
    const ds = await client.get(velib.itself());
    const byLabel = (label) => {
        const f = ds.fields.find((candidate) => candidate.label === label);
        assert.ok(f, `a field labelled ${label}`);
        return f.name;
    };
    const commune = byLabel(expected.velib.commune_label);
    const capacity = byLabel(expected.velib.capacity_label);
    const query = velib
        .records()
        .select(`${field(commune)} AS commune, count(*) AS n, sum(${field(capacity)}) AS places`)
        .groupBy(field(commune))
        .limit(1000);
    const page = await client.get(query);
    const got = Object.fromEntries(page.results.map((r) => [r.commune, [r.n, r.places]]));
    assert.deepEqual(got, expected.velib.by_commune);
});

check('records: refine and exclude', async () => {
    const open = await client.get(parkings.records().refine('etat_descriptif:Ouvert').limit(0));
    assert.equal(open.total_count, expected.parkings.by_state.Ouvert[0]);
    const others = await client.get(parkings.records().exclude('etat_descriptif:Ouvert').limit(0));
    assert.equal(others.total_count, expected.parkings.count - expected.parkings.by_state.Ouvert[0]);
    const both = await client.get(
        parkings
            .records()
            .refine('etat_descriptif:Ouvert')
            .where(all(`${field('total')} > 300`, `${field('nom_parking')} != ${string('Parking Zénith')}`))
            .limit(0)
    );
    assert.equal(both.total_count, expected.parkings.open_over_300_not_zenith);
});

check('facets', async () => {
    const body = await client.get(parkings.facets().facet('etat_descriptif'));
    assert.ok(Array.isArray(body.facets), 'a facets array');
    const group = body.facets.find((g) => g.name === 'etat_descriptif');
    assert.ok(group, 'the etat_descriptif facet');
    const got = Object.fromEntries(group.facets.map((v) => [v.value, v.count]));
    const want = Object.fromEntries(
        Object.entries(expected.parkings.by_state).map(([k, [n]]) => [k, n])
    );
    assert.deepEqual(got, want);
    for (const value of group.facets) {
        for (const key of ['name', 'count', 'value', 'state']) {
            assert.ok(key in value, `a facet value has ${key}`);
        }
    }
});

check('exports: json through the client', async () => {
    const rows = await client.get(parkings.export('json').orderBy('nom_parking'));
    assert.equal(rows.length, expected.parkings.count);
    assert.deepEqual(
        rows.map((r) => r.nom_parking),
        sorted(expected.parkings.names)
    );
});

check('exports: csv through the client, read as text', async () => {
    const text = await client.get(parkings.export('csv').where(`${field('total')} > 300`), {
        interceptResponse: async (response) => {
            assert.equal(response.status, 200);
            assert.match(response.headers.get('content-type'), /^text\/csv/);
            const bytes = new Uint8Array(await response.arrayBuffer());
            assert.deepEqual([...bytes.slice(0, 3)], [0xef, 0xbb, 0xbf], 'a UTF-8 BOM by default');
            return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
        },
    });
    const [header, ...rows] = parseCsv(text);
    assert.deepEqual(header, expected.parkings.fields);
    const names = rows.map((r) => r[header.indexOf('nom_parking')]);
    assert.deepEqual(sorted(names), sorted(expected.parkings.over_300));
});

check('errors: a bad ODSQL query is a UserError (400)', async () => {
    await assert.rejects(
        client.get(parkings.records().where('nope = 1')),
        (error) => {
            assert.ok(error instanceof UserError, `UserError expected, got ${error}`);
            assert.ok(!(error instanceof NotFoundError));
            assert.equal(error.response.status, 400);
            assert.equal(error.details.error_code, 'ODSQLError');
            return true;
        }
    );
    await assert.rejects(client.get(parkings.records().limit(101)), (error) => {
        assert.ok(error instanceof UserError);
        assert.equal(error.details.error_code, 'InvalidRESTParameterError');
        assert.match(error.details.message, /-1 <= limit <= 100/);
        return true;
    });
});

check('errors: an unknown dataset is a NotFoundError (404)', async () => {
    await assert.rejects(client.get(fromCatalog().dataset('nope').records()), (error) => {
        assert.ok(error instanceof NotFoundError, `NotFoundError expected, got ${error}`);
        assert.equal(error.response.status, 404);
        assert.equal(error.details.error_code, 'DatasetNotFound');
        return true;
    });
});

check('api keys: the client\'s ApiKey header', async () => {
    const keyed = new ApiClient({ domain: base, apiKey: expected.api_key });
    const page = await keyed.get(parkings.records().limit(0));
    assert.equal(page.total_count, expected.parkings.count);
    const unknown = new ApiClient({ domain: base, apiKey: 'k-0123456789' });
    await assert.rejects(unknown.get(parkings.records().limit(0)), (error) => {
        assert.ok(error instanceof AuthenticationError, `AuthenticationError expected, got ${error}`);
        assert.equal(error.response.status, 401);
        assert.equal(error.details.message, 'Unknown API key.');
        return true;
    });
    const broken = new ApiClient({ domain: base, apiKey: 'two words' });
    await assert.rejects(broken.get(parkings.records().limit(0)), (error) => {
        assert.ok(error instanceof AuthenticationError, `AuthenticationError expected, got ${error}`);
        assert.equal(error.response.status, 401);
        assert.equal(error.details.error_code, 'InvalidApiKey');
        return true;
    });
});

let failed = 0;
for (const { name, body } of checks) {
    try {
        await body();
        console.log(`ok   ${name}`);
    } catch (error) {
        failed += 1;
        const detail = error instanceof ServerError ? JSON.stringify(error.details) : '';
        console.log(`FAIL ${name}: ${error?.stack || error} ${detail}`);
    }
}
console.log(`${checks.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
