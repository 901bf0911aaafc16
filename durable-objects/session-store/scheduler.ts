// One alarm for every capability of the store. A capability that a change gives work asks to
// be woken by a time (`wake`); the alarm is armed for the earliest time asked, never later.
// An alarm run holds it (the runtime's retry of a failed run is the alarm until the run
// succeeds), runs what is due (upkeep.ts), then asks every capability again from storage
// (upkeep.ts, dueFromStorage) and arms once, at the earliest. Nothing else calls setAlarm.

/** What asks for the alarm; named, so that a trace (and a test) can say who asked for what. */
export type Capability =
  | "purge"
  | "expiry"
  | "sockets"
  | "changes"
  | "deliveries"
  | "directory"
  | "copies"
  | "erasure"
  | "polls";

/** How long the runtime keeps retrying a failed alarm run (2 s doubling, six times), with room to spare. */
const ALARM_RETRIES_MS = 5 * 60_000;

export class Scheduler {
  /** When the alarm is set for, kept so a change does not read it back every time. */
  #armedAt: number | null = null;
  readonly #storage: DurableObjectStorage;

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage;
  }

  /** At a start: the alarm as storage keeps it. */
  async load(): Promise<void> {
    this.#armedAt = await this.#storage.getAlarm();
  }

  /** `capability` needs the alarm by `at` (null: it has nothing to do). */
  wake(_capability: Capability, at: number | null): Promise<void> {
    // A time this far past is no pending alarm, not even a failed run's retry: the runtime gives up within minutes.
    const pending = this.#armedAt !== null && this.#armedAt > Date.now() - ALARM_RETRIES_MS;
    if (at === null || (pending && this.#armedAt! <= at)) return Promise.resolve();
    this.#armedAt = at; // at once, so that a call made before this one settles sees it
    return this.#storage.setAlarm(at);
  }

  /** A run starts: until it succeeds, no change may set the alarm later than its retry. */
  hold(): void {
    this.#armedAt = Date.now();
  }

  /** The run ended, or storage went: the next `wake` sets the alarm. */
  release(): void {
    this.#armedAt = null;
  }
}
