// Kills and undos on one store with a fixed clock, as its coordinator runs them: on a tenant
// of one store, that store is the home and every store the change concerns.

import type { KillRequest } from "../../durable-objects/session-store/api";
import * as coordinator from "../../durable-objects/session-store/coordinator";
import * as undo from "../../durable-objects/session-store/undo";
import { applyKill, type KillKind } from "../../durable-objects/session-store/kills";
import type { StoreCaller } from "../../src/core/auth";
import { KILL_NOT_FOUND } from "../../src/core/errors";
import type { Killed } from "../../durable-objects/session-store/kills";
import type { Store } from "../../durable-objects/session-store/tenant";

const ADMIN: StoreCaller = { kind: "admin" };

/** An operator's kill, recorded and applied at `now`: its answer. */
export function killOn(
  store: Store,
  killId: string,
  request: KillRequest,
  now: number,
  caller: StoreCaller = ADMIN,
): Killed {
  const started = coordinator.startKill(store, caller, killId, request, null, now);
  return started.ok ? coordinator.killAnswer(store, killId) : started;
}

/** "Log out my other devices" with this session, at `now`: its answer. */
export function siblingsOn(
  store: Store,
  session: { id: string; secretHash: ArrayBuffer },
  killId: string,
  now: number,
): Killed {
  const started = coordinator.startSiblingsKill(store, session.id, session.secretHash, null, killId, now);
  return started.ok ? coordinator.killAnswer(store, killId) : started;
}

/** An undo decided (and, on one store, done) at `now`: its answer. */
export function undoOn(store: Store, killId: string, now: number, caller: StoreCaller = ADMIN) {
  const decided = undo.decideUndo(store, caller, killId, false, now);
  if (!decided.ok) return decided;
  return decided.known ? undo.undoAnswer(store, killId) : KILL_NOT_FOUND;
}

/** A store applying a kill its coordinator ordered at `at` (with a window of `undoWindowMs`), reaching it at `now`. */
export function lateKill(
  store: Store,
  killId: string,
  kind: KillKind,
  userId: string | null,
  at: number,
  undoWindowMs: number,
  now: number,
) {
  return applyKill(
    store,
    { killId, kind, userId, sessionId: null, actor: "admin", platform: false, at, undoUntil: at + undoWindowMs },
    now,
  );
}
