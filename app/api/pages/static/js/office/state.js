// Who is signed in to the office, and API calls made with that key.
import { call, storedKey } from "../api.js";
import { inWords } from "../words.js";

export const office = { key: null, role: null };
export const officeKey = storedKey("rollcall.office.key");

// An ApiError's message is put in words for the page (the code and details stay).
export async function api(path, options) {
  try {
    return await call(office.key, path, options);
  } catch (error) {
    error.message = inWords(error);
    throw error;
  }
}

export const isAdmin = () => office.role === "admin";

// Who may correct a mark: an admin, or a teacher in its own courses' sessions.
export const canCorrect = () => office.role === "admin" || office.role === "teacher";
export const isTeacher = () => office.role === "teacher";
