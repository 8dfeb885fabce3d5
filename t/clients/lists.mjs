// Lists through real client libraries (masto.js, megalodon) against a
// running ngx_fedi: create, update, members, the lists holding an
// account, the list timeline, delete.  Prints TAP; exits 1 on any
// failure.  Usage: node lists.mjs BASE ALICE BOB_ID STATUS_ID (alice's
// token; alice follows bob, whose status STATUS_ID is recent)
import { createRestAPIClient } from 'masto';
import generator from 'megalodon';
import { ok, done } from './tap.mjs';

const [base, alice, bobId, statusId] = process.argv.slice(2);

async function attempt(name, fn) {
  try {
    await fn();
  } catch (e) {
    ok(false, `${name}: ${e && e.message}`, e && (e.description || e.stack));
  }
}

await attempt('masto', async () => {
  const client = createRestAPIClient({ url: base, accessToken: alice });

  const list = await client.v1.lists.create({ title: 'masto list' });
  ok(list.title === 'masto list' && list.repliesPolicy === 'list'
     && list.exclusive === false, 'masto: lists.create', list);

  await client.v1.lists.$select(list.id).accounts.create({
    accountIds: [bobId],
  });
  const members = await client.v1.lists.$select(list.id).accounts.list();
  ok(members.length === 1 && members[0].id === bobId,
     'masto: accounts.create, then accounts.list has bob', members);

  const holding = await client.v1.accounts.$select(bobId).lists.list();
  ok(holding.some((l) => l.id === list.id),
     'masto: accounts.$select(bob).lists.list has the list', holding);

  const tl = await client.v1.timelines.list.$select(list.id).list();
  ok(tl.some((s) => s.id === statusId),
     "masto: timelines.list.$select(id).list has bob's status",
     tl.map((s) => s.id));

  const renamed = await client.v1.lists.$select(list.id).update({
    title: 'renamed', exclusive: true,
  });
  ok(renamed.title === 'renamed' && renamed.exclusive === true,
     'masto: update', renamed);

  await client.v1.lists.$select(list.id).accounts.remove({
    accountIds: [bobId],
  });
  const after = await client.v1.lists.$select(list.id).accounts.list();
  ok(after.length === 0, 'masto: accounts.remove', after);

  await client.v1.lists.$select(list.id).remove();
  let status = 0;
  try {
    await client.v1.lists.$select(list.id).fetch();
  } catch (e) {
    status = e.statusCode;
  }
  ok(status === 404, 'masto: removed, then 404', status);
});

await attempt('megalodon', async () => {
  const client = generator('mastodon', base, alice);

  const list = (await client.createList('megalodon list')).data;
  ok(list.title === 'megalodon list', 'megalodon: createList', list);

  await client.addAccountsToList(list.id, [bobId]);
  const members = (await client.getAccountsInList(list.id)).data;
  ok(members.length === 1 && members[0].id === bobId,
     'megalodon: addAccountsToList, getAccountsInList', members);

  const tl = (await client.getListTimeline(list.id)).data;
  ok(tl.some((s) => s.id === statusId), 'megalodon: getListTimeline',
     tl.map((s) => s.id));

  const lists = (await client.getLists()).data;
  ok(lists.some((l) => l.id === list.id), 'megalodon: getLists', lists);

  await client.deleteList(list.id);
  const gone = (await client.getLists()).data;
  ok(!gone.some((l) => l.id === list.id), 'megalodon: deleteList', gone);
});

done();
