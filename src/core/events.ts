// The audit log's and the webhooks' public shapes are part of the client package's types;
// re-exported here for the service's modules. Events name sessions and users by their public
// ids and the actor by kind (admin, tenant_key:<keyId>, service, session, system): never a
// token or hash.

export type {
  AuditEvent,
  DeliveryAttempt,
  WebhookEventType,
  WebhookFormat,
  WebhookView,
} from "@session-service/client";
