// Who is signed in to the office, and API calls made with that key.
import { call, storedKey } from "../api.js";

export const office = { key: null, role: null };
export const officeKey = storedKey("rollcall.office.key");

export function api(path, options) {
  return call(office.key, path, options);
}

export const isAdmin = () => office.role === "admin";

// Who may correct a mark: an admin, or a teacher in its own courses' sessions.
export const canCorrect = () => office.role === "admin" || office.role === "teacher";
export const isTeacher = () => office.role === "teacher";
