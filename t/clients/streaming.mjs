// Real streaming clients (masto.js's WebSocket client, megalodon's) against
// a running ngx_fedi: the right viewers receive update, notification,
// status.update and delete, the wrong ones (not following, muting) do
// not.  Prints TAP; exits 1 on any failure.
// Usage: node streaming.mjs BASE ALICE BOB CAROL DAVE (tokens; alice
// follows bob, carol does not, dave mutes bob)
import { createStreamingAPIClient } from 'masto';
import generator from 'megalodon';
import { ok, done, apiAt } from './tap.mjs';

const [base, alice, bob, carol, dave] = process.argv.slice(2);
const wsBase = base.replace(/^http/, 'ws');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const api = apiAt(base);

// masto: events of one subscription, collected in the background
function mastoCollect(token, stream) {
  const client = createStreamingAPIClient({
    streamingApiUrl: wsBase, accessToken: token, retry: 3,
  });
  const sub = stream(client).subscribe();
  const events = [];
  (async () => {
    try {
      for await (const e of sub) events.push(e);
    } catch (e) {
      events.push({ event: 'error', payload: String(e) });
    }
  })();
  return { client, sub, events };
}

// megalodon: its event emitter
async function megalodonCollect(token, open) {
  const client = generator('mastodon', base, token);
  const socket = await open(client);
  const events = [];
  for (const ev of ['update', 'notification', 'delete', 'status_update']) {
    socket.on(ev, (p) => events.push({ event: ev, payload: p }));
  }
  socket.on('error', (e) => events.push({ event: 'error', payload: String(e) }));
  await new Promise((resolve) => {
    socket.on('connect', resolve);
    setTimeout(resolve, 3000);
  });
  return { socket, events };
}

const of = (events, name) => events.filter((e) => e.event === name);

const mA = mastoCollect(alice, (c) => c.user);
const mC = mastoCollect(carol, (c) => c.user);
const mD = mastoCollect(dave, (c) => c.public);
const gA = await megalodonCollect(alice, (c) => c.userStreaming());
const gC = await megalodonCollect(carol, (c) => c.userStreaming());

await sleep(1000);

const s1 = await api('POST', '/api/v1/statuses', bob,
                     { status: 'streamed to @alice' });
await sleep(1500);
await api('PUT', `/api/v1/statuses/${s1.id}`, bob,
          { status: 'streamed again to @alice' });
await sleep(1500);
await api('DELETE', `/api/v1/statuses/${s1.id}`, bob);
await sleep(1500);

let u = of(mA.events, 'update');
ok(u.some((e) => e.payload.id === s1.id), 'masto: alice gets the update', mA.events);
ok(u.length && u[0].stream[0] === 'user', 'masto: on the user stream', u[0]);
ok(u.length && u[0].payload.account.id !== undefined,
   'masto: the payload is a Status', u[0]);
const nt = of(mA.events, 'notification');
ok(nt.some((e) => e.payload.type === 'mention' && e.payload.status.id === s1.id),
   'masto: alice gets the mention notification', nt);
ok(of(mA.events, 'status.update').some((e) => /again/.test(e.payload.content)),
   'masto: alice gets status.update', mA.events.map((e) => e.event));
ok(of(mA.events, 'delete').some((e) => e.payload === s1.id),
   'masto: alice gets delete with the id', mA.events.map((e) => e.event));
ok(!mC.events.some((e) => e.event === 'update'),
   'masto: carol, not following, gets no update', mC.events);
ok(!mD.events.some((e) => e.event === 'update'),
   'masto: dave, muting bob, gets nothing on public', mD.events);
ok(!mA.events.some((e) => e.event === 'error'), 'masto: no error', mA.events);

u = of(gA.events, 'update');
ok(u.some((e) => e.payload.id === s1.id), 'megalodon: alice gets the update',
   gA.events.map((e) => e.event));
ok(of(gA.events, 'notification').some((e) => e.payload.type === 'mention'),
   'megalodon: alice gets the notification', gA.events.map((e) => e.event));
ok(of(gA.events, 'status_update').length >= 1,
   'megalodon: alice gets status.update', gA.events.map((e) => e.event));
ok(of(gA.events, 'delete').some((e) => String(e.payload) === s1.id),
   'megalodon: alice gets delete', gA.events.map((e) => e.event));
ok(!gC.events.some((e) => e.event === 'update' || e.event === 'notification'),
   'megalodon: carol gets nothing', gC.events);

mA.sub.unsubscribe(); mC.sub.unsubscribe(); mD.sub.unsubscribe();
mA.client.close(); mC.client.close(); mD.client.close();
gA.socket.stop(); gC.socket.stop();

done();
