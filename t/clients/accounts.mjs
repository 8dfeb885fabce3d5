// Real client libraries (masto.js, megalodon) register an app, sign up,
// obtain tokens, and call verify_credentials, update_credentials and
// relationships against a running ngx_fedi.  Prints TAP; exits 1 on any
// failure.  Usage: node accounts.mjs http://127.0.0.1:PORT
import { createRestAPIClient, createOAuthAPIClient } from 'masto';
import generator, { detector } from 'megalodon';
import { ok, done } from './tap.mjs';

const base = process.argv[2];

async function attempt(name, fn) {
  try {
    await fn();
  } catch (e) {
    ok(false, `${name}: ${e && e.message}`, e && (e.description || e.stack));
  }
}

const stamp = Date.now().toString(36);

async function signUp(username) {
  // an app, its client-credentials token, then the sign-up itself
  const anon = createRestAPIClient({ url: base });
  const app = await anon.v1.apps.create({
    clientName: 'masto test', redirectUris: 'urn:ietf:wg:oauth:2.0:oob',
    scopes: 'read write follow',
  });
  const oauth = createOAuthAPIClient({ url: base });
  const appToken = await oauth.token.create({
    grantType: 'client_credentials', clientId: app.clientId,
    clientSecret: app.clientSecret, scope: 'read write follow',
  });
  const appClient = createRestAPIClient({
    url: base, accessToken: appToken.accessToken,
  });
  const token = await appClient.v1.accounts.create({
    username, email: `${username}@example.test`, password: 'correct horse battery',
    agreement: true, locale: 'en',
  });
  return { app, token };
}

await attempt('masto', async () => {
  const name = `masto_${stamp}`;
  const { app, token } = await signUp(name);
  ok(typeof app.clientId === 'string' && app.clientId.length > 20,
     'masto: apps.create returns a client_id');
  ok(typeof token.accessToken === 'string', 'masto: sign-up returns a token');

  const client = createRestAPIClient({ url: base, accessToken: token.accessToken });
  const me = await client.v1.accounts.verifyCredentials();
  ok(me.username === name, 'masto: verify_credentials is the new account', me);
  ok(me.source && me.source.privacy === 'public',
     'masto: verify_credentials carries source', me.source);

  const updated = await client.v1.accounts.updateCredentials({
    displayName: 'Masto Tester', note: 'Hello <world>\n\nsecond',
    fieldsAttributes: [{ name: 'site', value: 'https://example.test/' }],
  });
  ok(updated.displayName === 'Masto Tester', 'masto: display name updated',
     updated.displayName);
  ok(updated.note === '<p>Hello &lt;world&gt;</p><p>second</p>',
     'masto: note rendered as escaped HTML', updated.note);
  ok(updated.fields.length === 1 && updated.fields[0].name === 'site',
     'masto: profile field stored', updated.fields);

  const again = await client.v1.accounts.verifyCredentials();
  ok(again.displayName === 'Masto Tester',
     'masto: the update is visible to the next request', again.displayName);

  const rels = await client.v1.accounts.relationships.fetch({ id: [me.id] });
  ok(Array.isArray(rels) && rels.length === 1 && rels[0].id === me.id
     && rels[0].following === false,
     'masto: relationships answers for the asked ids', rels);

  const looked = await client.v1.accounts.lookup({ acct: name });
  ok(looked.id === me.id, 'masto: lookup finds the account');

  const instance = await client.v2.instance.fetch();
  ok(/^4\./.test(instance.version), 'masto: v2 instance version', instance.version);

  const filter = await client.v2.filters.create({
    title: 'masto filter', context: ['home', 'public'], filterAction: 'hide',
    keywordsAttributes: [{ keyword: 'masto', wholeWord: true }],
  });
  ok(filter.title === 'masto filter' && filter.filterAction === 'hide'
     && filter.keywords.length === 1 && filter.keywords[0].wholeWord === true,
     'masto: v2.filters.create with a keyword', filter);
  const filters = await client.v2.filters.list();
  ok(filters.length === 1 && filters[0].id === filter.id
     && filters[0].keywords[0].keyword === 'masto',
     'masto: v2.filters.list', filters);
});

await attempt('megalodon', async () => {
  const kind = await detector(base);
  ok(kind === 'mastodon', 'megalodon: detector says mastodon', kind);

  const anon = generator('mastodon', base);
  const appData = await anon.registerApp('megalodon test', {
    scopes: ['read', 'write', 'follow'],
    redirect_uris: 'urn:ietf:wg:oauth:2.0:oob',
  });
  ok(typeof appData.client_id === 'string', 'megalodon: registerApp');

  const name = `mega_${stamp}`;
  const { token } = await signUp(name);
  const client = generator('mastodon', base, token.accessToken);

  const me = await client.verifyAccountCredentials();
  ok(me.status === 200 && me.data.username === name,
     'megalodon: verifyAccountCredentials', me.data);

  const up = await client.updateCredentials({ display_name: 'Mega Tester', locked: true });
  ok(up.data.display_name === 'Mega Tester' && up.data.locked === true,
     'megalodon: updateCredentials', up.data);

  const rel = await client.getRelationships([me.data.id]);
  ok(rel.data.length === 1 && rel.data[0].id === me.data.id,
     'megalodon: getRelationships', rel.data);

  const acc = await client.getAccount(me.data.id);
  ok(acc.data.acct === name, 'megalodon: getAccount', acc.data);
});

done();
