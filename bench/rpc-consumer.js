// The other side of the consumer comparison: the answer examples/jwt-consumer gives to
// GET /whoami, from the session service's `validate` over the service binding instead of a
// JWT checked alone. One Durable Object call (the session's store) per request.

export default {
  async fetch(request, env) {
    const header = request.headers.get("Authorization") ?? "";
    if (!header.startsWith("Bearer ")) return Response.json({ error: "a bearer token is required" }, { status: 401 });
    const result = await env.SESSIONS.validate(env.TENANT, header.slice("Bearer ".length));
    if (!result.ok) return Response.json({ error: result.error.code }, { status: 401 });
    const { session } = result;
    return Response.json({ user: session.userId, session: session.id, tenant: session.tenant });
  },
};
