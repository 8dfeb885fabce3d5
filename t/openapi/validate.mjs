// Validates recorded API answers against the Mastodon OpenAPI schema
// (mastodon-openapi.json, MIT, from abraham/mastodon-openapi).
//
// Usage: node validate.mjs responses.jsonl
// Each line: {"method", "path", "query", "status", "body"} where body is
// the decoded JSON answer (or a string of raw JSON).  Prints TAP, one line
// per answer; answers whose path the schema does not describe are skipped
// (NodeInfo, WebFinger, /health).  Exits 1 when any answer fails.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const here = dirname(fileURLToPath(import.meta.url));
const spec = JSON.parse(readFileSync(join(here, 'mastodon-openapi.json'), 'utf8'));

// OpenAPI keywords (example, externalDocs, ...) are not JSON Schema: the
// document is read with strict mode off; formats it invents are names only.
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
for (const f of ['iso-639-1', 'html', 'int64', 'int32', 'bcp47']) {
  ajv.addFormat(f, true);
}
ajv.addSchema(spec, 'mastodon');

// path templates, most literal segments first
const templates = Object.keys(spec.paths).map((t) => {
  const segs = t.split('/');
  const literal = segs.filter((s) => s && !s.startsWith('{')).length;
  const re = new RegExp('^' + segs.map((s) => (s.startsWith('{')
    ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/') + '$');
  return { t, re, literal, segs: segs.length };
}).sort((a, b) => b.literal - a.literal || b.segs - a.segs);

const compiled = new Map();

// Where the schema contradicts Mastodon itself, Mastodon wins; each entry
// says what Mastodon answers (app/controllers, docs.joinmastodon.org).
const ERRATA = {
  // Api::V1::FiltersController#index renders an array of V1::Filter
  'get /api/v1/filters 200': {
    type: 'array', items: { $ref: 'mastodon#/components/schemas/V1Filter' },
  },
};

function pointer(...parts) {
  return parts.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
}

function validatorFor(method, path, status) {
  const m = method.toLowerCase();
  const hit = templates.find((x) => x.re.test(path) && spec.paths[x.t][m]);
  if (!hit) return { skip: 'not in the Mastodon API schema' };
  const op = spec.paths[hit.t][m];
  const code = op.responses[String(status)] ? String(status) : 'default';
  const resp = op.responses[code];
  const errata = ERRATA[`${m} ${hit.t} ${status}`];
  if (errata) {
    const key = `errata ${m} ${hit.t} ${status}`;
    if (!compiled.has(key)) compiled.set(key, ajv.compile(errata));
    return { validate: compiled.get(key), template: hit.t + ' (errata)' };
  }
  if (!resp && status >= 400) {
    // the schema lists only some errors; Mastodon answers any with Error
    const key = 'error';
    if (!compiled.has(key)) {
      compiled.set(key, ajv.compile({ $ref: 'mastodon#/components/schemas/Error' }));
    }
    return { validate: compiled.get(key), template: 'Error' };
  }
  if (!resp) {
    return { error: `${method} ${hit.t} has no ${status} answer in the schema` };
  }
  const content = resp.content && resp.content['application/json'];
  if (!content || !content.schema) return { skip: `${status} has no JSON schema` };
  const key = `${m} ${hit.t} ${code}`;
  if (!compiled.has(key)) {
    const ref = 'mastodon#/' + pointer('paths', hit.t, m, 'responses', code,
                                       'content', 'application/json', 'schema');
    compiled.set(key, ajv.compile({ $ref: ref }));
  }
  return { validate: compiled.get(key), template: hit.t };
}

const file = process.argv[2];
const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
let n = 0;
let failed = 0;

for (const line of lines) {
  const rec = JSON.parse(line);
  const body = typeof rec.body === 'string' ? JSON.parse(rec.body) : rec.body;
  const name = `${rec.method} ${rec.path} ${rec.status}`;
  n++;
  const v = validatorFor(rec.method, rec.path, rec.status);
  if (v.skip) {
    console.log(`ok ${n} - ${name} # SKIP ${v.skip}`);
    continue;
  }
  if (v.error) {
    failed++;
    console.log(`not ok ${n} - ${name}\n# ${v.error}`);
    continue;
  }
  if (v.validate(body)) {
    console.log(`ok ${n} - ${name} is a valid answer of ${v.template}`);
  } else {
    failed++;
    console.log(`not ok ${n} - ${name}`);
    for (const e of v.validate.errors.slice(0, 10)) {
      console.log(`#   ${e.instancePath || '/'} ${e.message}`
                  + (e.params ? ' ' + JSON.stringify(e.params) : ''));
    }
  }
}

console.log(`1..${n}`);
process.exit(failed ? 1 : 0);
