// The bench's stand-in for the Workers rate-limit binding (SIGNAL_LIMITER), which workerd alone
// does not provide: every signal passes, so the bench measures the service's own work.
import { WorkerEntrypoint } from "cloudflare:workers";

export class Limiter extends WorkerEntrypoint {
  limit() {
    return { success: true };
  }
}

export default {
  fetch() {
    return new Response(null, { status: 404 });
  },
};
