// An independent signer for t/unit/test_httpsig.c: Node's own crypto
// signs one delivery three ways, with strings built here from the spec,
// not by our C code:
//   draft-cavage rsa-sha256 over (request-target) host date digest
//     content-type, as Mastodon sends it;
//   RFC 9421 rsa-v1_5-sha256, rsa-pss-sha512 and ed25519 over @method @target-uri
//     @authority host date content-digest, as Fedify sends it.
// Output: "name value" lines, PEM newlines written as '|'.

import {
    constants, createHash, generateKeyPairSync, sign,
} from "node:crypto";

const body = '{"type":"Follow","actor":"https://node.example/u"}';
const host = "ours.example";
const path = "/users/alice/inbox";
const date = new Date().toUTCString();
const keyId = "https://node.example/u#main-key";

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ed = generateKeyPairSync("ed25519");
const pem = (k) => k.export({ type: "spki", format: "pem" })
    .trim().replaceAll("\n", "|");

const sha256 = createHash("sha256").update(body).digest("base64");
const digest = `SHA-256=${sha256}`;
const cdigest = `sha-256=:${sha256}:`;

// draft-cavage
const cavage = [
    `(request-target): post ${path}`,
    `host: ${host}`,
    `date: ${date}`,
    `digest: ${digest}`,
    "content-type: application/activity+json",
].join("\n");
const csig = sign("sha256", Buffer.from(cavage), rsa.privateKey)
    .toString("base64");

// RFC 9421
const components = ["@method", "@target-uri", "@authority", "host", "date",
    "content-digest"];
const created = Math.floor(Date.now() / 1000);
const values = {
    "@method": "POST",
    "@target-uri": `https://${host}${path}`,
    "@authority": host,
    "host": host,
    "date": date,
    "content-digest": cdigest,
};
const rfc = (alg) => {
    const params = `(${components.map((c) => `"${c}"`).join(" ")})` +
        `;alg="${alg}";keyid="${keyId}";created=${created}`;
    const base = components.map((c) => `"${c}": ${values[c]}`)
        .concat([`"@signature-params": ${params}`]).join("\n");
    return [params, base];
};

const [rparams, rbase] = rfc("rsa-v1_5-sha256");
const rsig = sign("sha256", Buffer.from(rbase), rsa.privateKey)
    .toString("base64");
const [pparams, pbase] = rfc("rsa-pss-sha512");
const psig = sign("sha512", Buffer.from(pbase), {
    key: rsa.privateKey,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: 64,
}).toString("base64");
const [eparams, ebase] = rfc("ed25519");
const esig = sign(null, Buffer.from(ebase), ed.privateKey)
    .toString("base64");

console.log(`pem ${pem(rsa.publicKey)}`);
console.log(`date ${date}`);
console.log(`digest ${digest}`);
console.log(`signature keyId="${keyId}",algorithm="rsa-sha256",` +
    `headers="(request-target) host date digest content-type",` +
    `signature="${csig}"`);
console.log(`cdigest ${cdigest}`);
console.log(`rinput sig1=${rparams}`);
console.log(`rsig sig1=:${rsig}:`);
console.log(`pinput sig1=${pparams}`);
console.log(`psig sig1=:${psig}:`);
console.log(`edpem ${pem(ed.publicKey)}`);
console.log(`edinput sig1=${eparams}`);
console.log(`edsig sig1=:${esig}:`);
