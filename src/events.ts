// The audit log's public shape, and the webhooks' (src/webhooks.ts). Events name sessions and users by their public ids and the
// actor by kind (admin, tenant_key:<keyId>, service, session, system): never a token or hash.

export type { AuditEvent, DeliveryAttempt, WebhookEventType, WebhookFormat, WebhookView } from "../packages/client/src/types";
