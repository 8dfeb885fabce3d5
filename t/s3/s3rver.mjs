// An S3-compatible server for t/media_s3.t: s3rver on ADDR:PORT, its
// objects under DIR, with the bucket "media"; prints "ready" when it
// listens.  s3rver checks that the access key exists (S3RVER) but does
// not verify SigV4 signatures: what libcurl signs is not checked here.

import S3rver from "s3rver";

const [port, dir] = process.argv.slice(2);

const server = new S3rver({
    port: Number(port),
    address: "127.0.0.1",
    directory: dir,
    silent: true,
    configureBuckets: [{ name: "media" }],
});

await server.run();
console.log("ready");
