// The ceilings the session service is measured against, served by the same workerd:
//   GET /hello          a bare Worker (the runtime's ceiling)
//   GET /refuse         a bare Worker answering what a forged token gets: the same 401 JSON, with
//                       the same headers (what any API answer costs beyond hello's bare text)
//   GET /read + x-id    a bare Worker -> Durable Object RPC -> SQLite read by id (our design's ceiling)
//   POST /seed?n=       fills the table once
import { DurableObject } from "cloudflare:workers";

export class Rows extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS rows (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, data TEXT NOT NULL)",
    );
  }

  seed(count) {
    this.ctx.storage.sql.exec(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
       INSERT OR IGNORE INTO rows (id, user_id, data) SELECT printf('row%019d', i), 'user' || (i % 1000), '{}' FROM n`,
      count,
    );
  }

  read(id) {
    return this.ctx.storage.sql.exec("SELECT id, user_id, data FROM rows WHERE id = ?", id).toArray()[0] ?? null;
  }
}

const REFUSAL = { error: { code: "invalid_token", message: "the session token is invalid, expired or revoked" } };

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/hello") return new Response("hello");
    if (url.pathname === "/refuse")
      return new Response(JSON.stringify(REFUSAL), {
        status: 401,
        headers: {
          "Cache-Control": "no-store",
          "Content-Type": "application/json; charset=utf-8",
          "X-Content-Type-Options": "nosniff",
        },
      });
    const store = env.ROWS.get(env.ROWS.idFromName("bench"));
    if (url.pathname === "/seed") {
      await store.seed(Number(url.searchParams.get("n")));
      return new Response("seeded");
    }
    if (url.pathname === "/read") {
      const row = await store.read(request.headers.get("x-id") ?? "");
      return row ? Response.json(row) : new Response("not found", { status: 404 });
    }
    return new Response("not found", { status: 404 });
  },
};
