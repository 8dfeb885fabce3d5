// Validates recorded API answers against the Mastodon OpenAPI schema
// (mastodon-openapi.json, MIT, from abraham/mastodon-openapi; see README).
//
// Usage: node validate.mjs answers.jsonl
//
// One answer a line: {"method": "GET", "path": "/api/v2/instance?x=1",
// "status": 200, "body": "<the answer's text>"}.  The query string, in the
// path or in a "query" field, plays no part.  "body" may also be the
// decoded JSON (t/lib/Fedi/Test.pm records it so); a string is parsed.
//
// For each answer: the path template that matches (a literal segment wins
// over a {parameter} at the first place they differ), its operation for
// the method, the response for the status (else "default"; an error
// status the operation does not list is Mastodon's Error entity), and that
// response's application/json schema.  Prints TAP, one line per answer,
// ajv's errors as "# " lines; paths the schema does not describe (NodeInfo,
// WebFinger, /health) are "ok ... # SKIP".  Exits 1 when any answer fails,
// 2 when the input cannot be read.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const here = dirname(fileURLToPath(import.meta.url));
const spec = JSON.parse(readFileSync(join(here, 'mastodon-openapi.json'),
                                     'utf8'));
const ID = 'mastodon';
const MAX_ERRORS = 10;

// The schema is OpenAPI 3.1 (JSON Schema 2020-12), added whole so that
// "#/components/schemas/X" resolves.  Strict mode is off because ajv does
// not know the document's OpenAPI fields (openapi, info, servers,
// security, externalDocs, paths, components) nor OpenAPI's "example"
// annotation inside schemas.  Of the formats, only "iso-639-1" is not
// ajv-formats'; Mastodon's languages are ISO 639-1 or -3, some with a
// region (pt-BR, zh-TW).
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addFormat('iso-639-1', /^[a-z]{2,3}(-[A-Za-z]{2,4})?$/);
ajv.addSchema(spec, ID);

// Where the schema contradicts Mastodon itself, Mastodon wins; each entry
// says what Mastodon answers (app/controllers, docs.joinmastodon.org).
const ERRATA = {
  // Api::V1::FiltersController#index renders an array of V1::Filter
  'get /api/v1/filters 200': {
    type: 'array', items: { $ref: `${ID}#/components/schemas/V1Filter` },
  },
};

const templates = Object.keys(spec.paths).map((t) => {
  const segs = t.split('/').slice(1);
  return { t, segs: segs.map((s) => (/^\{.*\}$/.test(s) ? null : s)) };
});

const compiled = new Map();

function compile(key, schema) {
  if (!compiled.has(key)) compiled.set(key, ajv.compile(schema));
  return compiled.get(key);
}

function pointer(...parts) {
  return parts.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1'))
    .join('/');
}

// the most specific template: a literal beats a parameter at the first
// segment where two matching templates differ
function matchTemplate(path) {
  const segs = path.split('/').slice(1);
  let best = null;
  for (const x of templates) {
    if (x.segs.length !== segs.length) continue;
    if (!x.segs.every((s, i) => (s === null ? segs[i] !== '' : s === segs[i]))) {
      continue;
    }
    if (!best) { best = x; continue; }
    const i = x.segs.findIndex((s, k) => (s === null) !== (best.segs[k] === null));
    if (i >= 0 && x.segs[i] !== null) best = x;
  }
  return best && best.t;
}

function validatorFor(method, path, status) {
  const m = method.toLowerCase();
  const t = matchTemplate(path);
  if (!t) return { skip: 'not in the Mastodon API spec' };
  const op = spec.paths[t][m];
  if (!op) return { skip: `${t} has no ${method} in the Mastodon API spec` };

  const errata = ERRATA[`${m} ${t} ${status}`];
  if (errata) {
    return { validate: compile(`errata ${m} ${t} ${status}`, errata),
             what: `${t} ${status} (errata)` };
  }

  const code = op.responses[String(status)] ? String(status) : 'default';
  const resp = op.responses[code];
  if (!resp && status >= 400) {
    // the schema lists some errors; Mastodon answers any with an Error
    return { validate: compile('Error', { $ref: `${ID}#/components/schemas/Error` }),
             what: 'Error' };
  }
  if (!resp) {
    return { error: `${method} ${t} has no ${status} answer in the spec` };
  }

  const content = resp.content && resp.content['application/json'];
  if (!content || !content.schema) {
    return { skip: `${method} ${t} ${code} has no JSON schema` };
  }
  const ref = `${ID}#/` + pointer('paths', t, m, 'responses', code,
                                  'content', 'application/json', 'schema');
  return { validate: compile(`${m} ${t} ${code}`, { $ref: ref }),
           what: `${t} ${code}` };
}

// -> [ok, diagnostics, directive]
function check(line) {
  let rec;
  try {
    rec = JSON.parse(line);
  } catch (e) {
    return [false, ['not a JSON line: ' + e.message], 'unreadable line'];
  }

  const path = String(rec.path ?? '').split('?')[0];
  const name = `${rec.method} ${path} ${rec.status}`;
  if (!rec.method || !path.startsWith('/') || !Number.isInteger(rec.status)) {
    return [false, ['needs "method", "path" and a numeric "status"'], name];
  }

  const v = validatorFor(rec.method, path, rec.status);
  if (v.skip) return [true, [], `${name} # SKIP ${v.skip}`];
  if (v.error) return [false, [v.error], name];

  let body = rec.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch (e) {
      return [false, ['the body is not JSON: ' + e.message,
                      JSON.stringify(rec.body.slice(0, 200))], name];
    }
  }

  if (v.validate(body)) return [true, [], `${name} is ${v.what}`];

  const errs = v.validate.errors;
  const diag = errs.slice(0, MAX_ERRORS).map((e) => `${e.instancePath || '/'} `
    + `${e.message} ${JSON.stringify(e.params)} (${e.schemaPath})`);
  if (errs.length > MAX_ERRORS) {
    diag.push(`and ${errs.length - MAX_ERRORS} more`);
  }
  return [false, diag, `${name}: not ${v.what}`];
}

const file = process.argv[2];
if (!file || process.argv.length > 3) {
  console.error('usage: node validate.mjs answers.jsonl');
  process.exit(2);
}

let text;
try {
  text = readFileSync(file, 'utf8');
} catch (e) {
  console.error(`validate.mjs: ${e.message}`);
  process.exit(2);
}

const lines = text.split('\n').filter((l) => l.trim());
let failed = 0;
let skipped = 0;

console.log(`1..${lines.length}`);
lines.forEach((line, i) => {
  const [ok, diag, name] = check(line);
  console.log(`${ok ? 'ok' : 'not ok'} ${i + 1} - ${name}`);
  for (const d of diag) console.log(`#   ${d}`);
  if (!ok) failed++;
  if (/ # SKIP /.test(name)) skipped++;
});

console.log(`# ${lines.length} answers: ${lines.length - failed - skipped}`
            + ` valid, ${failed} invalid, ${skipped} skipped`);
process.exit(failed ? 1 : 0);
