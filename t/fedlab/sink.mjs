// The federation lab's sink: inboxes that answer as a test needs, run by
// t/lib/Fedi/Lab.pm (start_sink).  One process serves every sink host
// over TLS, each on its own 127.0.0.x:443 with its own certificate
// (LAB_SINKS: a JSON list of {name, addr, key, cert}); what a POST gets
// depends on the first label of the Host it was sent to:
//
//   ok*      202                      s500*   500
//   s429*    429, Retry-After: 3600   s410*   410
//   s400*    400                      never*  nothing, ever (the
//   slow*    202 after LAB_SLOW_MS              connection stays open)
//   bench*   202 after LAB_SLOW_MS (the bench: counted, not recorded)
//   close*   202, Connection: close (benchclose*: as bench*, and so)
//
// (LAB_PORT: another port than 443.)  Every POST is recorded (but bench ones) with what it carried; control
// requests, on any sink host:
//   GET /_lab/received     the POSTs: [{host, path, status, type, id,
//                          object, signed, digest_ok, tls_resumed, body}]
//   GET /_lab/count        {posts, bench, first, last}: POSTs to bench
//                          hosts, the times of the first and last (ms)
//   GET /_lab/reset        forget them

import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import { createHash } from "node:crypto";

const sinks = JSON.parse(process.env.LAB_SINKS ?? "[]");
const slow = Number(process.env.LAB_SLOW_MS ?? "200");
const port = Number(process.env.LAB_PORT ?? "443");

let received = [];
let bench = { posts: 0, first: 0, last: 0 };

function json(res, status, body) {
    const text = JSON.stringify(body);
    res.writeHead(status, {
        "Content-Type": "application/json",
        "Content-Length": Buffer.byteLength(text),
    });
    res.end(text);
}

function answer(res, status, headers = {}) {
    res.writeHead(status, { "Content-Length": 0, ...headers });
    res.end();
}

function handle(req, res, body) {
    const host = (req.headers.host ?? "").replace(/:\d+$/, "");
    const url = new URL(req.url, `https://${host}`);

    if (req.method === "GET") {
        switch (url.pathname) {
        case "/_lab/received":
            return json(res, 200, received);
        case "/_lab/count":
            return json(res, 200, bench);
        case "/_lab/reset":
            received = [];
            bench = { posts: 0, first: 0, last: 0 };
            return json(res, 200, { ok: true });
        case "/_lab/health":
            return json(res, 200, { ok: true });
        }
        return json(res, 404, { error: "not found" });
    }

    const label = host.split(".")[0];

    if (label.startsWith("bench")) {
        setTimeout(() => {
            const now = Date.now();
            if (bench.posts++ === 0) {
                bench.first = now;
            }
            bench.last = now;
            answer(res, 202, label.startsWith("benchclose")
                ? { Connection: "close" } : {});
        }, slow);
        return;
    }

    let doc = null;
    try {
        doc = JSON.parse(body.toString("utf8"));
    } catch (e) {
        doc = null;
    }

    const digest = "SHA-256=" + createHash("sha256").update(body)
        .digest("base64");
    const sig = req.headers.signature ?? "";

    const rec = {
        host, path: url.pathname,
        type: doc?.type ?? null, id: doc?.id ?? null,
        object: doc?.object ?? null, actor: doc?.actor ?? null,
        to: doc?.to ?? null, cc: doc?.cc ?? null,
        content_type: req.headers["content-type"] ?? null,
        signed: /headers="\(request-target\) host date digest content-type"/
            .test(sig) && /algorithm="rsa-sha256"/.test(sig),
        digest_ok: req.headers.digest === digest,
        tls_resumed: req.socket.isSessionReused(),
        status: 0,
    };

    received.push(rec);

    const reply = (status, headers) => {
        rec.status = status;
        answer(res, status, headers);
    };

    if (label.startsWith("ok")) {
        return reply(202);
    }
    if (label.startsWith("close")) {
        return reply(202, { Connection: "close" });
    }
    if (label.startsWith("slow")) {
        setTimeout(() => reply(202), slow);
        return;
    }
    if (label.startsWith("s500")) {
        return reply(500);
    }
    if (label.startsWith("s429")) {
        return reply(429, { "Retry-After": "3600" });
    }
    if (label.startsWith("s410")) {
        return reply(410);
    }
    if (label.startsWith("s400")) {
        return reply(400);
    }
    if (label.startsWith("never")) {
        return;         /* the client gives up */
    }

    reply(404);
}

for (const s of sinks) {
    const server = createServer({
        key: readFileSync(s.key),
        cert: readFileSync(s.cert),
        keepAlive: true,
    }, (req, res) => {
        const chunks = [];
        req.on("data", (c) => chunks.push(c));
        req.on("end", () => handle(req, res, Buffer.concat(chunks)));
    });

    server.keepAliveTimeout = 60000;
    server.headersTimeout = 0;
    server.requestTimeout = 0;
    server.listen(port, s.addr, () => {
        console.log(`sink: https://${s.name} on ${s.addr}:${port}`);
    });
}
