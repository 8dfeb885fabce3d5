// masto.js uploads as Mastodon clients do: POST /api/v2/media (multipart),
// then polls GET /api/v1/media/:id until the url is there; updates the
// description, attaches the media to a status, sets an avatar.  Prints
// TAP; exits 1 on any failure.
// Usage: node media.mjs http://127.0.0.1:PORT TOKEN picture.jpg avatar.png
import { readFileSync } from 'node:fs';
import { createRestAPIClient } from 'masto';
import { ok, done } from './tap.mjs';

const [base, accessToken, picture, avatar] = process.argv.slice(2);

try {
  const client = createRestAPIClient({ url: base, accessToken });
  const file = new Blob([readFileSync(picture)], { type: 'image/jpeg' });

  const media = await client.v2.media.create({
    file, description: 'a test picture', focus: '0.5,-0.25',
  });
  ok(media.type === 'image', 'masto: v2 media.create gives an image', media);
  ok(typeof media.url === 'string' && media.url.includes('/system/'),
     'masto: polled until processed, the url is there', media.url);
  ok(media.meta && media.meta.original && media.meta.original.width > 0,
     'masto: meta.original', media.meta);
  ok(media.meta.focus && media.meta.focus.x === 0.5
     && media.meta.focus.y === -0.25, 'masto: focus', media.meta.focus);
  ok(typeof media.blurhash === 'string' && media.blurhash.length === 36,
     'masto: a 4x4 blurhash', media.blurhash);

  const again = await client.v1.media.$select(media.id).fetch();
  ok(again.id === media.id && again.url === media.url,
     'masto: media.fetch', again);

  const changed = await client.v1.media.$select(media.id).update({
    description: 'changed',
  });
  ok(changed.description === 'changed', 'masto: media.update', changed);

  const status = await client.v1.statuses.create({
    status: 'with a picture', mediaIds: [media.id],
  });
  ok(status.mediaAttachments.length === 1
     && status.mediaAttachments[0].id === media.id
     && status.mediaAttachments[0].description === 'changed',
     'masto: a status with the attachment', status.mediaAttachments);

  const me = await client.v1.accounts.updateCredentials({
    avatar: new Blob([readFileSync(avatar)], { type: 'image/png' }),
    displayName: 'Pictured',
  });
  ok(me.avatar.includes('/system/') && me.displayName === 'Pictured',
     'masto: updateCredentials with an avatar', me.avatar);
} catch (e) {
  ok(false, `masto: ${e && e.message}`, e && (e.description || e.stack));
}

done();
