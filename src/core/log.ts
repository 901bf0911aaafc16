// Structured logs: one JSON object per line (what Workers Logs and Logpush index). Callers pass
// only the fields below: public ids, kinds and codes. Never a token, secret, hash or API key;
// test/logs.test.ts captures a whole lifecycle's lines and searches them for each.

export interface LogFields {
  event: string;
  tenant?: string;
  sessionId?: string;
  userId?: string;
  actor?: string;
  reason?: string;
  count?: number;
  killId?: string;
  keyId?: string;
  webhookId?: string;
  /** Names of settings, never their values. */
  fields?: string[];
  path?: string;
  message?: string;
}

export function logInfo(fields: LogFields): void {
  console.log(JSON.stringify({ level: "info", ...fields }));
}

export function logError(fields: LogFields): void {
  console.error(JSON.stringify({ level: "error", ...fields }));
}
