// The streaming API's benchmark, run by tools/bench_stream.sh: raw
// WebSocket clients on node's net module (a browser-grade library per
// socket would measure the library).
//
//   node bench_stream.mjs PORT NGINX_MASTER_PID POSTMASTER_PID IDLE SUBS
//
// 1. IDLE connections on /api/v1/streaming?stream=user, each with its own
//    token ("stream<N>"), held; the memory (PSS) of nginx and PostgreSQL
//    before and after, per connection.
// 2. SUBS connections on public:local; posts by the "poster" token; the
//    delay from sending POST /api/v1/statuses to the event's arrival at
//    each subscriber: p50, p99, max.  BENCH_STREAM_POSTS posts (50),
//    after one that is not measured; BENCH_STREAM_DETAIL=1 prints each
//    post's answer, first and last event on stderr.
import net from 'node:net';
import fs from 'node:fs';
import crypto from 'node:crypto';

const [port, master, postmaster, idleN, subsN] = process.argv.slice(2);
const POSTS = Number(process.env.BENCH_STREAM_POSTS || 50);
const DETAIL = !!process.env.BENCH_STREAM_DETAIL;

function pss(pid) {
  try {
    const t = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    return Number(/^Pss:\s+(\d+)/m.exec(t)[1]) * 1024;
  } catch {
    return 0;
  }
}

function children(pid) {
  let out = [];
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      const c = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8')
        .trim().split(/\s+/).filter(Boolean);
      out = out.concat(c);
    }
  } catch { /* gone */ }
  return out;
}

const tree = (pid) => [pid, ...children(pid)];
const memory = (pid) => tree(pid).reduce((a, p) => a + pss(p), 0);

// a WebSocket client: resolves when the 101 came; onText per message
function open(path, onText) {
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(port), '127.0.0.1');
    const key = crypto.randomBytes(16).toString('base64');
    let buf = Buffer.alloc(0);
    let open = false;
    s.setNoDelay(true);
    s.on('connect', () => {
      s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n`
              + `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n`
              + 'Sec-WebSocket-Version: 13\r\n\r\n');
    });
    s.on('data', (d) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      if (!open) {
        const i = buf.indexOf('\r\n\r\n');
        if (i < 0) return;
        if (!buf.subarray(0, 12).toString().includes('101')) {
          reject(new Error(buf.subarray(0, i).toString()));
          s.destroy();
          return;
        }
        open = true;
        buf = buf.subarray(i + 4);
        resolve(s);
      }
      for (;;) {
        if (buf.length < 2) return;
        let len = buf[1] & 0x7f;
        let h = 2;
        if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); h = 4; }
        else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); h = 10; }
        if (buf.length < h + len) return;
        const op = buf[0] & 0x0f;
        const payload = buf.subarray(h, h + len);
        buf = buf.subarray(h + len);
        if (op === 1 && onText) onText(payload);
        if (op === 9) {                     // ping: a masked pong
          const m = crypto.randomBytes(4);
          const p = Buffer.from(payload);
          for (let k = 0; k < p.length; k++) p[k] ^= m[k & 3];
          s.write(Buffer.concat([Buffer.from([0x8a, 0x80 | p.length]), m, p]));
        }
      }
    });
    s.on('error', reject);
  });
}

async function openMany(n, path, onText, batch = 200) {
  const socks = [];
  for (let i = 0; i < n; i += batch) {
    const part = [];
    for (let k = i; k < Math.min(n, i + batch); k++) part.push(open(path(k), onText));
    socks.push(...await Promise.all(part));
  }
  return socks;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (a, p) => a[Math.min(a.length - 1, Math.floor(a.length * p))];

// ---- 1. idle connections ----
await sleep(500);
const n0 = memory(master);
const p0 = memory(postmaster);
let t = Date.now();
const idle = await openMany(Number(idleN),
  (k) => `/api/v1/streaming?stream=user&access_token=stream${k + 1}`);
const opened = (Date.now() - t) / 1000;
await sleep(2000);
const n1 = memory(master);
const p1 = memory(postmaster);
const mb = (b) => (b / 1048576).toFixed(1);
console.log(`IDLE ${idle.length} ${opened.toFixed(1)} ${mb(n1)} ${mb(p1)} `
            + `${((n1 - n0) / idle.length / 1024).toFixed(1)} `
            + `${((p1 - p0) / idle.length / 1024).toFixed(2)} ${mb(n0)} ${mb(p0)}`);
for (const s of idle) s.destroy();
await sleep(1000);

// ---- 2. delay from a post to its event at each subscriber ----
const waiting = new Map();      // status id -> [t0, count]
let pending = null;
const delays = [];
const subs = await openMany(Number(subsN),
  (k) => `/api/v1/streaming?stream=public:local&access_token=stream${k + 1}`,
  (payload) => {
    const now = performance.now();
    // the status id comes first: no need to decode the whole message
    const m = /\\"id\\":\\"(\d+)\\"/.exec(payload.subarray(0, 160).toString());
    if (!m) return;
    const w = waiting.get(m[1]) || pending;
    if (!w) return;
    if (!w.warm) delays.push(now - w.t0);
    if (!w.n) w.first = now - w.t0;
    w.last = now - w.t0;
    w.n++;
  });
await sleep(1000);

// one post first, not measured: a fresh worker's database connections
// load their catalog caches and compile the PL/pgSQL triggers on first
// use (80-110 ms for the first POST), once in a worker's life
for (let i = -1; i < POSTS; i++) {
  const w = { t0: performance.now(), n: 0, warm: i < 0 };
  pending = w;
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/statuses`, {
    method: 'POST',
    headers: { Authorization: 'Bearer streamposter', 'Content-Type': 'application/json' },
    body: JSON.stringify({ status: `stream bench ${i}` }),
  });
  const st = await res.json();
  w.answered = performance.now() - w.t0;
  waiting.set(st.id, w);
  const end = performance.now() + 5000;
  while (w.n < subs.length && performance.now() < end) await sleep(5);
  pending = null;
  if (DETAIL) {
    console.error(`post ${i}: answered ${w.answered.toFixed(1)} first ${w.first?.toFixed(1)}`
                  + ` last ${w.last?.toFixed(1)} events ${w.n}`);
  }
  await sleep(100);
}

delays.sort((a, b) => a - b);
console.log(`DELAY ${subs.length} ${POSTS} ${delays.length} `
            + `${pct(delays, 0.5).toFixed(1)} ${pct(delays, 0.99).toFixed(1)} `
            + `${delays[delays.length - 1].toFixed(1)}`);
for (const s of subs) s.destroy();
process.exit(0);
