// The public /v1 API, for this tab's user. The API key lives in sessionStorage (this tab only,
// gone when it closes) and travels in the X-API-Key header, never in a URL.

const SESSION = "wardrobe.session";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function loadSession() {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION)) || null;
  } catch {
    return null;
  }
}

export function saveSession(session) {
  if (session) sessionStorage.setItem(SESSION, JSON.stringify(session));
  else sessionStorage.removeItem(SESSION);
}

let session = loadSession();

export function currentSession() {
  return session;
}

export function useSession(next) {
  session = next;
  saveSession(next);
}

function headers(extra = {}) {
  const out = { ...extra };
  if (session && session.key) out["X-API-Key"] = session.key;
  return out;
}

/** With keys off, every call names its user. */
function withUser(path, params = {}) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") query.set(k, v);
  }
  if (session && !session.key && session.user) query.set("user_id", session.user);
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

function bodyUser(body) {
  return session && !session.key && session.user ? { ...body, user_id: session.user } : body;
}

async function failure(response) {
  let code = "error";
  let message = `The server answered ${response.status} ${response.statusText}.`;
  try {
    const body = await response.json();
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || message;
    }
  } catch {
    /* not JSON: keep the status line */
  }
  return new ApiError(response.status, code, message);
}

async function call(method, path, { json, form, params, auth = true } = {}) {
  const init = { method, headers: auth ? headers() : {}, credentials: "same-origin" };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (form !== undefined) {
    init.body = form;
  }
  let response;
  try {
    response = await fetch(auth ? withUser(path, params) : path, init);
  } catch {
    throw new ApiError(0, "offline", "The server cannot be reached. Is it running?");
  }
  if (!response.ok) throw await failure(response);
  return response;
}

export const api = {
  /** Who the key (or name) stands for; {user_id: null, auth: false} when keys are off. */
  async me(key) {
    const init = { headers: key ? { "X-API-Key": key } : {} };
    let response;
    try {
      response = await fetch("/v1/me", init);
    } catch {
      throw new ApiError(0, "offline", "The server cannot be reached. Is it running?");
    }
    if (!response.ok) throw await failure(response);
    return response.json();
  },
  async vocabulary() {
    return (await call("GET", "/v1/vocabulary", { auth: false })).json();
  },
  async garments(params) {
    return (await call("GET", "/v1/garments", { params })).json();
  },
  async garment(id) {
    return (await call("GET", `/v1/garments/${encodeURIComponent(id)}`)).json();
  },
  async correct(id, patch) {
    return (await call("PATCH", `/v1/garments/${encodeURIComponent(id)}`, { json: bodyUser(patch) })).json();
  },
  async remove(id) {
    return (await call("DELETE", `/v1/garments/${encodeURIComponent(id)}`)).json();
  },
  /** The crop ("image") or the source photo ("photo") as a Blob. */
  async image(id, kind = "image") {
    return (await call("GET", `/v1/garments/${encodeURIComponent(id)}/${kind}`)).blob();
  },
  async recommend(body) {
    return (await call("POST", "/v1/recommend", { json: bodyUser(body) })).json();
  },
  async feedback(body) {
    return (await call("POST", "/v1/feedback", { json: bodyUser(body) })).json();
  },
  async searchText(text, n = 24) {
    return (await call("POST", "/v1/search", { json: bodyUser({ text, n }) })).json();
  },
  async searchPhoto(blob, n = 24) {
    const form = new FormData();
    form.append("image", blob, blob.name || "photo.jpg");
    form.append("n", String(n));
    if (session && !session.key) form.append("user_id", session.user);
    return (await call("POST", "/v1/search", { form })).json();
  },
  /** Upload one photo with progress (fetch has no upload progress): resolves to the body. */
  upload(file, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", "/v1/garments");
      for (const [k, v] of Object.entries(headers())) xhr.setRequestHeader(k, v);
      xhr.responseType = "json";
      xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
      xhr.upload.onload = () => onProgress(1);
      xhr.onerror = () => reject(new ApiError(0, "offline", "The upload failed: the server cannot be reached."));
      xhr.onload = () => {
        const body = xhr.response;
        if (xhr.status >= 200 && xhr.status < 300) resolve(body);
        else if (body && body.error) reject(new ApiError(xhr.status, body.error.code, body.error.message));
        else reject(new ApiError(xhr.status, "error", `The server answered ${xhr.status}.`));
      };
      const form = new FormData();
      if (session && !session.key) form.append("user_id", session.user);
      form.append("image", file, file.name || "photo.jpg");
      xhr.send(form);
    });
  },
};
