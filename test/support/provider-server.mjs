// A stand-in identity provider, served from Node over real HTTP on loopback for the tests in
// workerd (WEBHOOKS_ALLOW_LOOPBACK=true there). Each test uses names of its own.
// Key sets a test signs with itself:
//   PUT  /:name/jwks?maxAge=N   the key set to serve, and its Cache-Control max-age
//   GET  /:name/jwks, /:name/.well-known/openid-configuration, /:name/hits (fetches of the set)
//   DELETE /:name/jwks          the key set gone (the provider's server down, as far as it matters)
// A Shared Signals transmitter (SSF 1.0, RFC 8936 poll), which signs its own events with jose:
//   POST /:name/transmitter     { audience }: its key made; answers { issuer, management }
//   GET  /.well-known/ssf-configuration/:name, POST /:name/streams, POST /:name/verify,
//   GET  /:name/status, POST /:name/poll (the management credential on each)
//   POST /:name/emit            { claims: [...] }: events signed and queued for polls
//   GET  /:name/received        what polls acknowledged and refused, streams, pushes to make

import { createServer } from "node:http";
import { exportJWK, generateKeyPair, SignJWT } from "jose";

const VERIFICATION = "https://schemas.openid.net/secevent/ssf/event-type/verification";

/** @type {Map<string, { jwks: string; maxAge: number | null; hits: number }>} */
const documents = new Map();
/** @type {Map<string, any>} */
const transmitters = new Map();
/** @type {import("node:http").Server} */
let server;

async function readBody(request) {
  let body = "";
  for await (const chunk of request) body += chunk;
  return body;
}

async function makeTransmitter(name, base, audience) {
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const kid = `${name}-key`;
  documents.set(name, {
    jwks: JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: "ES256" }] }),
    maxAge: null,
    hits: 0,
  });
  const transmitter = {
    audience,
    management: `Bearer management-${name}`,
    streams: [],
    queue: new Map(),
    acked: [],
    errors: {},
    pushes: [],
    sign: (claims) =>
      new SignJWT({ iss: base, aud: audience, iat: Math.floor(Date.now() / 1000), jti: crypto.randomUUID(), ...claims })
        .setProtectedHeader({ alg: "ES256", kid, typ: "secevent+jwt" })
        .sign(privateKey),
  };
  transmitters.set(name, transmitter);
  return transmitter;
}

/** @param {import("vitest/node").TestProject} project */
export async function setup(project) {
  server = createServer(async (request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const origin = `http://127.0.0.1:${server.address().port}`;
    const send = (status, body, headers = {}) => {
      response.writeHead(status, { "Content-Type": "application/json", ...headers });
      response.end(body === null ? "" : typeof body === "string" ? body : JSON.stringify(body));
    };
    if (url.pathname.startsWith("/.well-known/ssf-configuration/")) {
      const name = url.pathname.slice("/.well-known/ssf-configuration/".length);
      if (!transmitters.has(name)) return send(404, { error: "not found" });
      const base = `${origin}/${name}`;
      return send(200, {
        issuer: base,
        jwks_uri: `${base}/jwks`,
        delivery_methods_supported: ["urn:ietf:rfc:8935", "urn:ietf:rfc:8936"],
        configuration_endpoint: `${base}/streams`,
        verification_endpoint: `${base}/verify`,
        status_endpoint: `${base}/status`,
      });
    }
    const [, name, ...rest] = url.pathname.split("/");
    const path = rest.join("/");
    const base = `${origin}/${name}`;
    const body = request.method === "GET" ? "" : await readBody(request);
    const transmitter = transmitters.get(name);
    if (request.method === "PUT" && path === "jwks") {
      const maxAge = url.searchParams.get("maxAge");
      documents.set(name, {
        jwks: body,
        maxAge: maxAge === null ? null : Number(maxAge),
        hits: documents.get(name)?.hits ?? 0,
      });
      return send(204, null);
    }
    if (request.method === "DELETE" && path === "jwks") {
      documents.delete(name);
      return send(204, null);
    }
    if (request.method === "POST" && path === "transmitter") {
      const made = await makeTransmitter(name, base, JSON.parse(body).audience);
      return send(200, { issuer: base, management: made.management });
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
    if (!transmitter) return send(404, { error: "not found" });
    if (path === "received")
      return send(200, {
        acked: transmitter.acked,
        errors: transmitter.errors,
        streams: transmitter.streams,
        pushes: transmitter.pushes,
      });
    if (request.method === "POST" && path === "emit") {
      const tokens = [];
      for (const claims of JSON.parse(body).claims) {
        const token = await transmitter.sign(claims);
        transmitter.queue.set(JSON.parse(atob(token.split(".")[1])).jti, token);
        tokens.push(token);
      }
      return send(200, { tokens });
    }
    // The stream management and poll endpoints take the management credential only.
    if (request.headers.authorization !== transmitter.management) return send(401, { error: "unauthorized" });
    if (request.method === "POST" && path === "streams") {
      const asked = JSON.parse(body);
      const stream = {
        stream_id: `stream-${transmitter.streams.length + 1}`,
        iss: base,
        aud: transmitter.audience,
        delivery:
          asked.delivery.method === "urn:ietf:rfc:8936"
            ? { method: asked.delivery.method, endpoint_url: `${base}/poll` }
            : asked.delivery,
        events_requested: asked.events_requested,
        events_delivered: asked.events_requested,
      };
      transmitter.streams.push(stream);
      return send(201, stream);
    }
    if (request.method === "POST" && path === "verify") {
      const { stream_id, state } = JSON.parse(body);
      const stream = transmitter.streams.find((s) => s.stream_id === stream_id);
      const token = await transmitter.sign({
        sub_id: { format: "opaque", id: stream_id },
        events: { [VERIFICATION]: { state } },
      });
      if (stream.delivery.method === "urn:ietf:rfc:8936")
        transmitter.queue.set(JSON.parse(atob(token.split(".")[1])).jti, token);
      else
        transmitter.pushes.push({
          url: stream.delivery.endpoint_url,
          authorization: stream.delivery.authorization_header,
          token,
        });
      return send(204, null);
    }
    if (request.method === "GET" && path === "status")
      return send(200, { stream_id: url.searchParams.get("stream_id"), status: "enabled" });
    if (request.method === "POST" && path === "poll") {
      const { ack = [], setErrs = {}, maxEvents = 10 } = JSON.parse(body);
      for (const jti of ack) {
        transmitter.acked.push(jti);
        transmitter.queue.delete(jti);
      }
      for (const [jti, error] of Object.entries(setErrs)) {
        transmitter.errors[jti] = error;
        transmitter.queue.delete(jti);
      }
      const sets = Object.fromEntries([...transmitter.queue].slice(0, maxEvents));
      return send(200, { sets, moreAvailable: transmitter.queue.size > maxEvents });
    }
    send(404, { error: "not found" });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  project.provide("providerServer", `http://127.0.0.1:${server.address().port}`);
}

export async function teardown() {
  await new Promise((resolve) => server.close(resolve));
}
