// Who is signed in to the office, and API calls made with that key.
import { call, storedKey } from "../api.js";

export const office = { key: null, role: null };
export const officeKey = storedKey("rollcall.office.key");

export function api(path, options) {
  return call(office.key, path, options);
}

export const isAdmin = () => office.role === "admin";
