// TAP for the client scripts: ok() prints one test line (and a diagnostic
// when it fails), done() the plan, then exits 1 if anything failed.
let n = 0;
let failed = 0;

export function ok(cond, name, diag) {
  n++;
  console.log(`${cond ? 'ok' : 'not ok'} ${n} - ${name}`);
  if (!cond) {
    failed++;
    if (diag !== undefined) {
      console.log('# ' + JSON.stringify(diag).slice(0, 2000));
    }
  }
}

export function done() {
  console.log(`1..${n}`);
  process.exit(failed ? 1 : 0);
}

// api(method, path, token, body): a JSON call to the server at base
export function apiAt(base) {
  return async (method, path, token, body) => {
    const res = await fetch(base + path, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    });
    return res.json();
  };
}
