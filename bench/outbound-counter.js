// The JWT consumer's only way out of its Worker (its globalOutbound): every fetch it makes is
// forwarded to the session service and counted, so the bench can show that verifying JWTs
// calls nothing but the JWKS, once. Any request for another host (the bench's, on this
// Worker's own socket) gets the paths fetched so far.

const SERVICE_HOST = "sessions.internal";
const fetched = [];

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.hostname !== SERVICE_HOST) return Response.json({ fetched });
    fetched.push(url.pathname);
    return env.SERVICE.fetch(request);
  },
};
