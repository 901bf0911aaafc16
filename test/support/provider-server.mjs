// A stand-in identity provider's public documents, served from Node over real HTTP on loopback
// for the tests in workerd: each test registers a key set under a name of its own, and the
// service discovers and fetches it as it would a real provider's (WEBHOOKS_ALLOW_LOOPBACK=true).
//   PUT  /:name/jwks?maxAge=N   the key set to serve (JSON), and its Cache-Control max-age
//   GET  /:name/jwks            the key set; GET /:name/.well-known/openid-configuration
//   GET  /:name/hits            how many times the key set was fetched

import { createServer } from "node:http";

/** @type {Map<string, { jwks: string; maxAge: number | null; hits: number }>} */
const documents = new Map();
/** @type {import("node:http").Server} */
let server;

/** @param {import("vitest/node").TestProject} project */
export async function setup(project) {
  server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const [, name, ...rest] = url.pathname.split("/");
    const path = rest.join("/");
    const base = `http://127.0.0.1:${server.address().port}/${name}`;
    const send = (status, body, headers = {}) => {
      response.writeHead(status, { "Content-Type": "application/json", ...headers });
      response.end(typeof body === "string" ? body : JSON.stringify(body));
    };
    if (request.method === "PUT" && path === "jwks") {
      let body = "";
      request.on("data", (chunk) => (body += chunk));
      request.on("end", () => {
        const maxAge = url.searchParams.get("maxAge");
        const previous = documents.get(name);
        documents.set(name, { jwks: body, maxAge: maxAge === null ? null : Number(maxAge), hits: previous?.hits ?? 0 });
        send(204, "");
      });
      return;
    }
    const document = documents.get(name);
    if (path === ".well-known/openid-configuration" && document)
      return send(200, { issuer: base, jwks_uri: `${base}/jwks` });
    if (path === "jwks" && document) {
      document.hits++;
      return send(
        200,
        document.jwks,
        document.maxAge === null ? {} : { "Cache-Control": `max-age=${document.maxAge}` },
      );
    }
    if (path === "hits") return send(200, { jwks: document?.hits ?? 0 });
    send(404, { error: "not found" });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  project.provide("providerServer", `http://127.0.0.1:${server.address().port}`);
}

export async function teardown() {
  await new Promise((resolve) => server.close(resolve));
}
