// Server-sent events over HTTP/2 (h2c, prior knowledge) with node's own
// HTTP/2 client: several streams multiplexed on one connection each get
// the events of their viewer; a stream whose reader stops (no
// WINDOW_UPDATE) is reset once over its budget while the other streams of
// the connection go on.  Prints TAP; exits 1 on any failure.
// Usage: node streaming-h2.mjs BASE H2BASE ALICE BOB CAROL (tokens; alice
// follows bob, carol does not)
import http2 from 'node:http2';
import { ok, done, apiAt } from './tap.mjs';

const [base, h2base, alice, bob, carol] = process.argv.slice(2);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const api = apiAt(base);

// an SSE stream on the session: its status, and its body as it comes
function open(session, path, token, paused) {
  const s = { status: 0, type: '', body: '', rst: null, closed: false };
  const req = session.request({
    ':method': 'GET', ':path': path, authorization: `Bearer ${token}`,
  });
  req.setEncoding('utf8');
  req.on('response', (h) => {
    s.status = h[':status'];
    s.type = h['content-type'];
  });
  if (paused) {
    req.pause();
  } else {
    req.on('data', (d) => { s.body += d; });
  }
  req.on('close', () => { s.closed = true; s.rst = req.rstCode; });
  req.on('error', () => {});
  s.req = req;
  return s;
}

function events(s) {
  const e = [];
  const re = /event: (\S+)\ndata: (.*)\n\n/g;
  let m;
  while ((m = re.exec(s.body)) !== null) e.push({ event: m[1], data: m[2] });
  return e;
}

async function until(cond, ms) {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await sleep(50);
  return cond();
}

const session = http2.connect(h2base);
session.on('error', () => {});
const sockets = new Set();
session.on('connect', (_, socket) => sockets.add(socket));

const a = open(session, '/api/v1/streaming/user', alice);
const c = open(session, '/api/v1/streaming/user', carol);
const p = open(session, '/api/v1/streaming/public/local', carol);

ok(await until(() => a.status && c.status && p.status, 5000)
   && a.status === 200 && c.status === 200 && p.status === 200,
   'three SSE streams on one HTTP/2 connection: 200', [a.status, c.status, p.status]);
ok(a.type === 'text/event-stream', 'text/event-stream', a.type);
ok(await until(() => a.body.startsWith(':)') && p.body.startsWith(':)'), 3000),
   'the first comment on each stream', [a.body, p.body]);

await sleep(300);
const st = await api('POST', '/api/v1/statuses', bob, { status: 'over h2' });

ok(await until(() => events(a).some((e) => e.event === 'update'), 5000),
   'alice (follows bob) gets the update on her user stream', a.body);
const ua = events(a).find((e) => e.event === 'update');
ok(ua && JSON.parse(ua.data).id === st.id, 'the status bob posted', ua);
ok(await until(() => events(p).some((e) => e.event === 'update'), 5000),
   'the public:local stream on the same connection gets it too', p.body);
ok(!events(c).some((e) => e.event === 'update'),
   'carol (does not follow bob) gets nothing on her user stream', c.body);

await api('DELETE', `/api/v1/statuses/${st.id}`, bob);
ok(await until(() => events(a).some((e) => e.event === 'delete'), 5000),
   'alice gets the delete', a.body);
const da = events(a).find((e) => e.event === 'delete');
ok(da && da.data === st.id, 'of that status', da);
ok(await until(() => events(p).some((e) => e.event === 'delete'), 5000),
   'and the public stream', p.body);

// a second connection: a stream that is not read, with a small window of
// its own (the connection's stays large), and one that is read
const session2 = http2.connect(h2base, { settings: { initialWindowSize: 8192 } });
session2.on('error', () => {});
session2.on('connect', () => session2.setLocalWindowSize(8 << 20));
const slow = open(session2, '/api/v1/streaming/public', alice, true);
const fine = open(session2, '/api/v1/streaming/public', carol);
await until(() => slow.status && fine.status, 5000);
ok(slow.status === 200 && fine.status === 200, 'a slow and a fine stream',
   [slow.status, fine.status]);

await sleep(300);
const long = 'x'.repeat(400);
let posted = 0;
for (; posted < 60 && !slow.closed; posted++) {
  await api('POST', '/api/v1/statuses', bob, { status: `${long} ${posted}` });
}
ok(await until(() => slow.closed, 5000),
   'the stream that is not read is dropped once over its budget', slow.closed);
ok(slow.rst === http2.constants.NGHTTP2_INTERNAL_ERROR, 'with a reset', slow.rst);
const updates = () => events(fine).filter((e) => e.event === 'update').length;
await until(() => updates() >= posted, 5000);
ok(!fine.closed && updates() === posted,
   'the other stream of that connection goes on, every update', [posted, updates()]);

await api('POST', '/api/v1/statuses', bob, { status: 'after the drop' });
ok(await until(() => events(fine).some((e) => /after the drop/.test(e.data)), 5000),
   'and gets what comes after');

// streams the client resets are gone on the server: more of them, one
// after the other, than the 32 streams a token may have on a worker
let refused = 0;
for (let i = 0; i < 40; i++) {
  const x = open(session, '/api/v1/streaming/user', carol);
  await until(() => x.status, 5000);
  if (x.status !== 200) refused++;
  x.req.close(http2.constants.NGHTTP2_CANCEL);
  await until(() => x.closed, 5000);
}
ok(refused === 0, '40 streams opened and reset in turn: none over the cap', refused);
const y = open(session, '/api/v1/streaming/user', carol);
ok(await until(() => y.status, 5000) && y.status === 200, 'and one more', y.status);

// the heartbeat (every 15 s)
ok(await until(() => /\n:thump\n/.test(a.body), 20000),
   'the heartbeat comment', a.body.slice(-200));
ok(!a.closed && !c.closed && !p.closed, 'the first streams are still open');
ok(sockets.size === 1, 'all on one connection', sockets.size);

session.close();
session2.destroy();
done();
