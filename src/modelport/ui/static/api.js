// Calls from the page to the gateway: the admin API (../api/...), the inference API (../v1/...) and the UI's
// own routes (session, models, catalog). The session cookie goes along by itself (HttpOnly: the page never
// sees it); every call carries the session's CSRF token. All paths are relative to the page (works under a prefix).

let csrf = "";

/** Remember the CSRF token of the signed-in session. */
export function setCsrf(token) {
  csrf = token || "";
}

/** An error answer of the gateway, in OpenAI's shape: message, and the field (`param`) it is about. */
export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || `HTTP ${status}`);
    this.status = status;
    this.param = (body && body.error && body.error.param) || null;
  }
}

async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch (_) {
    body = null;
  }
  return new ApiError(response.status, body);
}

/** fetch() with the CSRF header; a JSON body for plain objects, multipart for FormData. Throws ApiError. */
export async function request(method, path, body, options = {}) {
  const headers = { "X-CSRF-Token": csrf, ...(options.headers || {}) };
  let payload;
  if (body instanceof FormData) {
    payload = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const response = await fetch(path, { method, headers, body: payload, credentials: "same-origin",
                                       signal: options.signal, cache: "no-store" });
  if (!response.ok) throw await errorOf(response);
  return response;
}

/** The JSON answer of a call. */
export async function json(method, path, body, options) {
  const response = await request(method, path, body, options);
  return response.json();
}

/** Server-sent events of a streamed answer, as {event, data} objects. */
export async function* events(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer = (buffer + value).replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) yield { event, data: data.join("\n") };
    }
  }
}

/** The gateway's base URL as clients outside the browser should use it (the page's URL minus `ui/`). */
export function gatewayBase() {
  return new URL("../", window.location.href).href.replace(/\/$/, "");
}
