// A Durable Object's RPC methods as a caller sees them: every result is plain data (no stubs to
// dispose), so each method is simply async. Typed from an object's API by role (its api.ts),
// never from the class, so that callers do not import the objects they call.

export type Stub<Api> = {
  [Method in keyof Api]: Api[Method] extends (...args: infer Args) => infer Returned
    ? (...args: Args) => Promise<Awaited<Returned>>
    : never;
};
