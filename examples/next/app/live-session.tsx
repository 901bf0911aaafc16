"use client";
// The page's side of the live socket: the moment the session ends, the login page.
import { watchSession } from "@session-service/client/browser";
import { useEffect } from "react";

export function LiveSession() {
  useEffect(() => watchSession({ onRevoked: () => location.assign("/login") }).stop, []);
  return null;
}
