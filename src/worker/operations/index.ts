// The operations both doors share: the HTTP routes and the RPC entrypoint call these and
// nothing else. One module per capability; src/worker/operations/doors.ts is what each goes through.

export * from "./tenants";
export * from "./webhooks";
export * from "./sessions";
export * from "./self-service";
export * from "./listings";
export * from "./kills";
export * from "./identity-providers";
export * from "./streams";
export * from "./binding";
export * from "./token-keys";
export { ANY_TENANT } from "./doors";
