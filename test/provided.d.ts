// What test/support/provider-server.mjs provides to the tests: the stand-in identity provider's base URL.
export {};

declare module "vitest" {
  export interface ProvidedContext {
    providerServer: string;
  }
}
