// The federation lab's independent peer: a small fediverse server built on
// Fedify (@fedify/fedify), run by t/lib/Fedi/Lab.pm.  It serves one actor,
// "bob", over TLS on LAB_ADDR:443 as LAB_HOST, resolves names through the
// lab's DNS server (LAB_DNS) and trusts the lab's CA (NODE_EXTRA_CA_CERTS).
//
// Besides ActivityPub it answers a few control requests under /_lab/ (the
// tests drive the peer with them; the lab never exposes them elsewhere):
//   GET  /_lab/health              200 once listening
//   GET  /_lab/fetch?url=U         fetch U as a browser would: {status, type, body}
//   GET  /_lab/lookup?q=H          Fedify's lookupObject(H) (a handle or URL):
//                                  {type, id, json} or 404
//   GET  /_lab/inbox               the activities bob's inboxes received
//   GET  /_lab/follow?q=H          bob follows H (sent now, signed by Fedify)
//   POST /_lab/serve?path=P&type=T the body is served at P (as type T,
//                                  application/activity+json by default)
//   GET  /_lab/send?...            bob sends an activity (see sendControl)
//
// and hostile accounts, each with a WebFinger answer pointing at an actor
// document that breaks one rule (see HOSTILE below).

import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import { Resolver } from "node:dns";
import { Agent, setGlobalDispatcher } from "undici";
import {
    createFederation, MemoryKvStore, InProcessMessageQueue,
    generateCryptoKeyPair,
} from "@fedify/fedify";
import {
    Person, Endpoints, Follow, Accept, Undo, Create, Update, Delete, Like,
    Announce, Activity, Note, Tombstone, Mention, PUBLIC_COLLECTION,
    Emoji, Image,
} from "@fedify/vocab";

const env = (name) => {
    const v = process.env[name];
    if (!v) {
        console.error(`peer: ${name} is not set`);
        process.exit(2);
    }
    return v;
};

const ADDR = env("LAB_ADDR");
const HOST = env("LAB_HOST");
const DNS = env("LAB_DNS");
const ORIGIN = `https://${HOST}`;

// every outgoing connection resolves names through the lab's DNS server
const resolver = new Resolver();
resolver.setServers([DNS]);

function labLookup(hostname, options, callback) {
    resolver.resolve4(hostname, (err, addrs) => {
        if (err) {
            callback(err);
            return;
        }
        if (options && options.all) {
            callback(null, addrs.map((a) => ({ address: a, family: 4 })));
        } else {
            callback(null, addrs[0], 4);
        }
    });
}

setGlobalDispatcher(new Agent({ connect: { lookup: labLookup } }));

const federation = createFederation({
    kv: new MemoryKvStore(),
    queue: new InProcessMessageQueue(),
    origin: ORIGIN,
    allowPrivateAddress: true,      // the lab lives on 127.0.0.x
});

const keys = {};

async function keyPairs(identifier) {
    if (identifier !== "bob") {
        return [];
    }
    if (!keys.bob) {
        keys.bob = [
            await generateCryptoKeyPair("RSASSA-PKCS1-v1_5"),
            await generateCryptoKeyPair("Ed25519"),
        ];
    }
    return keys.bob;
}

// bob's profile: /_lab/send?what=update-actor changes it
const profile = { name: "Bob of the lab", emojis: [] };

// a custom emoji tag: a test names it and its image (emoji, emoji_url)
function emojiTag(name, url) {
    return new Emoji({
        id: new URL(`${ORIGIN}/emojis/${name}`), name: `:${name}:`,
        icon: new Image({ url: new URL(url), mediaType: "image/png" }),
    });
}

async function bobActor(ctx) {
    const pairs = await ctx.getActorKeyPairs("bob");
    return new Person({
        id: ctx.getActorUri("bob"),
        preferredUsername: "bob",
        name: profile.name,
        inbox: ctx.getInboxUri("bob"),
        endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
        publicKey: pairs[0].cryptographicKey,
        assertionMethods: pairs.map((p) => p.multikey),
        tags: profile.emojis,
    });
}

federation
    .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
        if (identifier !== "bob") {
            return null;
        }
        return bobActor(ctx);
    })
    .setKeyPairsDispatcher(async (ctx, identifier) => keyPairs(identifier));

const received = [];

async function record(ctx, activity) {
    received.push({
        type: activity.constructor.name,
        id: activity.id?.href ?? null,
        actor: activity.actorId?.href ?? null,
        json: await activity.toJsonLd(),
    });
}

federation
    .setInboxListeners("/users/{identifier}/inbox", "/inbox")
    .on(Follow, async (ctx, follow) => {
        await record(ctx, follow);
        const follower = await follow.getActor(ctx);
        if (follower == null || follow.objectId == null) {
            return;
        }
        await ctx.sendActivity({ identifier: "bob" }, follower,
            new Accept({
                id: new URL(`${ORIGIN}/accepts/${Date.now()}`),
                actor: ctx.getActorUri("bob"),
                object: follow,
            }));
    })
    .on(Activity, record);

// acct:NAME@HOST -> what its "self" link serves
const HOSTILE = {
    // an actor whose id is another URL than the one it is served at
    liar: (res) => {
        const a = { "@context": "https://www.w3.org/ns/activitystreams",
            id: `${ORIGIN}/users/bob`, type: "Person",
            preferredUsername: "liar", inbox: `${ORIGIN}/users/liar/inbox`,
            publicKey: { id: `${ORIGIN}/users/bob#main-key`,
                owner: `${ORIGIN}/users/bob`,
                publicKeyPem: "-----BEGIN PUBLIC KEY-----\n" } };
        send(res, 200, "application/activity+json", JSON.stringify(a));
    },
    // an actor of another type than ActivityPub's
    html: (res) => send(res, 200, "text/html", "<html>not an actor</html>"),
    // ten megabytes
    huge: (res) => {
        res.writeHead(200, { "Content-Type": "application/activity+json" });
        const chunk = Buffer.alloc(1024 * 1024, 0x20);
        let n = 0;
        const more = () => {
            while (n < 10) {
                n++;
                if (!res.write(chunk)) {
                    res.once("drain", more);
                    return;
                }
            }
            res.end();
        };
        more();
    },
    // one byte a second, for a minute
    slow: (res) => {
        res.writeHead(200, { "Content-Type": "application/activity+json" });
        let n = 0;
        const t = setInterval(() => {
            if (++n > 60 || res.destroyed) {
                clearInterval(t);
                res.end();
                return;
            }
            res.write(" ");
        }, 1000);
        res.on("close", () => clearInterval(t));
    },
    // a redirect to a loopback address
    away: (res) => {
        res.writeHead(302, { Location: "https://127.0.0.1:9/users/away",
                             "Content-Length": 0 });
        res.end();
    },
};

function send(res, status, type, body) {
    res.writeHead(status, {
        "Content-Type": type,
        "Content-Length": Buffer.byteLength(body),
    });
    res.end(body);
}

// "mallory": an actor whose key the tests hold (LAB_ACTOR_PEM, a public
// key file), so they can sign requests as it with a client of their own
function mallory(res, url) {
    if (url.pathname !== "/users/mallory" || !process.env.LAB_ACTOR_PEM) {
        return false;
    }
    const id = `${ORIGIN}/users/mallory`;
    send(res, 200, "application/activity+json", JSON.stringify({
        "@context": ["https://www.w3.org/ns/activitystreams",
                     "https://w3id.org/security/v1"],
        id, type: "Person", preferredUsername: "mallory",
        inbox: `${id}/inbox`, outbox: `${id}/outbox`,
        followers: `${id}/followers`,
        publicKey: { id: `${id}#main-key`, owner: id,
                     publicKeyPem: readFileSync(process.env.LAB_ACTOR_PEM,
                                                "utf8") },
    }));
    return true;
}

// documents the tests put up with /_lab/serve, by path
const documents = new Map();

function hostile(req, res, url) {
    if (mallory(res, url)) {
        return true;
    }

    if (req.method === "GET" && documents.has(url.pathname)) {
        const d = documents.get(url.pathname);
        send(res, 200, d.type, d.body);
        return true;
    }

    if (url.pathname === "/.well-known/webfinger") {
        const m = /^acct:([a-z]+)@/.exec(url.searchParams.get("resource") ?? "");
        if (!m || !HOSTILE[m[1]]) {
            return false;
        }
        send(res, 200, "application/jrd+json", JSON.stringify({
            subject: url.searchParams.get("resource"),
            links: [{ rel: "self", type: "application/activity+json",
                      href: `${ORIGIN}/_lab/actor/${m[1]}` }],
        }));
        return true;
    }

    const m = /^\/_lab\/actor\/([a-z]+)$/.exec(url.pathname);
    if (m && HOSTILE[m[1]]) {
        HOSTILE[m[1]](res);
        return true;
    }

    return false;
}

function json(res, status, body) {
    const text = JSON.stringify(body);
    res.writeHead(status, {
        "Content-Type": "application/json",
        "Content-Length": Buffer.byteLength(text),
    });
    res.end(text);
}

async function control(req, res, url) {
    const ctx = federation.createContext(new URL(ORIGIN), undefined);

    switch (url.pathname) {
    case "/_lab/health":
        return json(res, 200, { ok: true });

    case "/_lab/fetch": {
        const r = await fetch(url.searchParams.get("url"), {
            headers: { Accept: url.searchParams.get("accept") ?? "*/*" },
            redirect: "manual",
        });
        return json(res, 200, {
            status: r.status,
            type: r.headers.get("content-type"),
            body: await r.text(),
        });
    }

    case "/_lab/lookup": {
        const obj = await ctx.lookupObject(url.searchParams.get("q"));
        if (obj == null) {
            return json(res, 404, { error: "not found" });
        }
        return json(res, 200, {
            type: obj.constructor.name,
            id: obj.id?.href ?? null,
            json: await obj.toJsonLd(),
        });
    }

    case "/_lab/inbox":
        return json(res, 200, received);

    case "/_lab/serve": {
        const chunks = [];
        for await (const c of req) {
            chunks.push(c);
        }
        documents.set(url.searchParams.get("path"), {
            type: url.searchParams.get("type") ?? "application/activity+json",
            body: Buffer.concat(chunks),
        });
        return json(res, 200, { ok: true });
    }

    case "/_lab/send":
        return sendControl(ctx, res, url);

    case "/_lab/follow": {
        // bob follows the account q (a handle or URL), signed by Fedify
        const target = await ctx.lookupObject(url.searchParams.get("q"));
        if (target == null || target.id == null) {
            return json(res, 404, { error: "not found" });
        }
        const follow = new Follow({
            id: new URL(`${ORIGIN}/follows/${Date.now()}`),
            actor: ctx.getActorUri("bob"),
            object: target.id,
        });
        await ctx.sendActivity({ identifier: "bob" }, target, follow,
                               { immediate: true });
        return json(res, 200, { id: follow.id.href, target: target.id.href });
    }
    }

    return json(res, 404, { error: "no such control" });
}

// bob sends an activity to the account "to" (a handle or URL), signed
// by Fedify, now: what=create|update (a public Note N with content,
// inReplyTo, mentioning "to"), delete (Note N), like|announce|undo-like|
// undo-announce (of the status "object"); update-actor (bob's profile:
// name, and with emoji and emoji_url an Emoji tag).  emoji and emoji_url
// add an Emoji tag to a Note too.
async function sendControl(ctx, res, url) {
    const q = (k) => url.searchParams.get(k);
    const target = await ctx.lookupObject(q("to"));
    if (target == null || target.id == null) {
        return json(res, 404, { error: "not found" });
    }
    const bob = ctx.getActorUri("bob");
    const noteId = new URL(`${ORIGIN}/notes/${q("id")}`);
    const note = () => new Note({
        id: noteId, attribution: bob, content: q("content"),
        to: PUBLIC_COLLECTION, cc: new URL(`${ORIGIN}/users/bob/followers`),
        replyTarget: q("inReplyTo") ? new URL(q("inReplyTo")) : null,
        tags: [new Mention({ href: target.id, name: q("to") }),
               ...(q("emoji") ? [emojiTag(q("emoji"), q("emoji_url"))]
                              : [])],
    });
    const stamp = `${Date.now()}-${Math.random()}`;
    const act = {
        create: () => new Create({ id: new URL(`${noteId.href}/create`),
            actor: bob, object: note(), to: PUBLIC_COLLECTION }),
        update: () => new Update({ id: new URL(`${noteId.href}/update/${stamp}`),
            actor: bob, object: note(), to: PUBLIC_COLLECTION }),
        delete: () => new Delete({ id: new URL(`${noteId.href}/delete`),
            actor: bob, object: new Tombstone({ id: noteId }),
            to: PUBLIC_COLLECTION }),
        like: () => new Like({ id: new URL(`${ORIGIN}/likes/${q("id")}`),
            actor: bob, object: new URL(q("object")) }),
        announce: () => new Announce({
            id: new URL(`${ORIGIN}/announces/${q("id")}`), actor: bob,
            object: new URL(q("object")), to: PUBLIC_COLLECTION }),
        "update-actor": async () => {
            profile.name = q("name") ?? profile.name;
            profile.emojis = q("emoji")
                ? [emojiTag(q("emoji"), q("emoji_url"))] : [];
            return new Update({ id: new URL(`${ORIGIN}/users/bob#update/${stamp}`),
                actor: bob, object: await bobActor(ctx),
                to: PUBLIC_COLLECTION });
        },
        "undo-like": () => new Undo({ id: new URL(`${ORIGIN}/undo/${stamp}`),
            actor: bob, object: new Like({
                id: new URL(`${ORIGIN}/likes/${q("id")}`), actor: bob,
                object: new URL(q("object")) }) }),
        "undo-announce": () => new Undo({
            id: new URL(`${ORIGIN}/undo/${stamp}`), actor: bob,
            object: new Announce({
                id: new URL(`${ORIGIN}/announces/${q("id")}`), actor: bob,
                object: new URL(q("object")) }) }),
    }[q("what")];
    if (act == null) {
        return json(res, 400, { error: "what?" });
    }
    const activity = await act();
    await ctx.sendActivity({ identifier: "bob" }, target, activity,
                           { immediate: true });
    return json(res, 200, { id: activity.id.href });
}

const server = createServer({
    key: readFileSync(env("LAB_KEY")),
    cert: readFileSync(env("LAB_CERT")),
}, async (req, res) => {
    const url = new URL(req.url, ORIGIN);

    try {
        if (hostile(req, res, url)) {
            return;
        }

        if (url.pathname.startsWith("/_lab/")) {
            await control(req, res, url);
            return;
        }

        const chunks = [];
        for await (const c of req) {
            chunks.push(c);
        }
        const body = chunks.length ? Buffer.concat(chunks) : undefined;
        const request = new Request(url, {
            method: req.method,
            headers: Object.entries(req.headers)
                .filter(([, v]) => v !== undefined)
                .map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : v]),
            body: req.method === "GET" || req.method === "HEAD"
                ? undefined : body,
        });
        const response = await federation.fetch(request, {
            contextData: undefined,
        });
        res.writeHead(response.status,
            Object.fromEntries(response.headers.entries()));
        res.end(Buffer.from(await response.arrayBuffer()));
    } catch (e) {
        console.error("peer:", e);
        if (!res.headersSent) {
            json(res, 500, { error: String(e && e.message || e) });
        } else {
            res.end();
        }
    }
});

server.listen(443, ADDR, () => {
    console.log(`peer: ${ORIGIN} on ${ADDR}:443`);
});
