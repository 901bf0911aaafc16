// The peer a Node user would pick: Express 5 + express-session + connect-redis on a local
// redis-server. GET /session loads the session from the signed `sid` cookie (as our validate
// does); POST /login/:user makes one (for seeding). TOUCH=1 lets connect-redis refresh the
// TTL on every request (express-session's default touch); TOUCH=0 disables it.
import { RedisStore } from "connect-redis";
import express from "express";
import session from "express-session";
import { createClient } from "redis";

const port = Number(process.env.PORT);
const client = createClient({ url: `redis://127.0.0.1:${process.env.REDIS_PORT}` });
await client.connect();

const app = express();
app.disable("x-powered-by");
app.use(
  session({
    store: new RedisStore({ client, disableTouch: process.env.TOUCH !== "1" }),
    secret: "bench-secret-0123456789abcdef0123456789abcdef",
    name: "sid",
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: "lax", maxAge: 30 * 60 * 1000 },
  }),
);
app.post("/login/:user", (req, res) => {
  req.session.userId = req.params.user;
  res.json({ ok: true });
});
app.get("/session", (req, res) => {
  if (!req.session.userId) return res.status(401).json({ error: { code: "invalid_token" } });
  res.json({ session: { id: req.sessionID, userId: req.session.userId } });
});
app.listen(port, "127.0.0.1", () => console.log(`ready on ${port}`));
