// Calls to Rollcall's REST API with the access key the user signed in with.

export const API = "/api/v1";

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
}

// The answer's JSON (an image: its Blob; null for 204); an ApiError carrying the API's own message otherwise.
export async function call(key, path, { method = "GET", json, form } = {}) {
  const headers = { "X-API-Key": key };
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form; // FormData: the browser sets the multipart boundary
  }
  let response;
  try {
    // /health sits at the root; every other endpoint under /api/v1.
    response = await fetch(path === "/health" ? path : API + path, { method, headers, body });
  } catch (error) {
    throw new ApiError(0, "network", "The server cannot be reached. Check the network.");
  }
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  const answer = type.includes("json")
    ? await response.json()
    : type.startsWith("image/")
      ? await response.blob()
      : await response.text();
  if (!response.ok) {
    const error = (answer && answer.error) || {};
    throw new ApiError(
      response.status,
      error.code || "http_error",
      error.message || `The server answered ${response.status}.`,
      error.details,
    );
  }
  return answer;
}

// A photo (Blob or File), or a burst of them (an array), as the multipart form the photo
// endpoints take: one `file` part per photo, in order.
export function photoForm(photos, fields = {}) {
  const form = new FormData();
  for (const photo of [photos].flat()) form.append("file", photo, photo.name || "photo.jpg");
  for (const [name, value] of Object.entries(fields)) {
    if (value !== undefined && value !== null && value !== "") form.append(name, value);
  }
  return form;
}

// The role of a key (admin, kiosk, viewer); throws ApiError 401 for an unknown key.
export async function roleOf(key) {
  return (await call(key, "/me")).role;
}

// A key kept in this browser between visits, under one name per page.
export function storedKey(name) {
  return {
    get: () => localStorage.getItem(name),
    set: (key) => localStorage.setItem(name, key),
    clear: () => localStorage.removeItem(name),
  };
}
