// The only way the console talks to the server: the REST API, with the
// session cookie the browser attaches and, on every state-changing call,
// the CSRF token read from its cookie (double submit, checked server-side).

const CSRF_COOKIE = "__Host-csrf_token";

/** An error answer of the API (application/problem+json). */
export class ApiError extends Error {
  constructor(status, problem, retryAfter) {
    super((problem && problem.detail) || `HTTP ${status}`);
    this.status = status;
    this.code = (problem && problem.code) || "";
    this.errors = (problem && problem.errors) || [];
    this.retryAfter = retryAfter;
  }
}

function csrfToken() {
  for (const part of document.cookie.split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === CSRF_COOKIE) return value.join("=");
  }
  return "";
}

/** Calls the API; resolves to the JSON answer (null for 204), rejects with an ApiError. */
export async function api(method, path, body) {
  const headers = { Accept: "application/json, application/problem+json" };
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : null;
  if (!response.ok) {
    const error = new ApiError(response.status, data, response.headers.get("retry-after"));
    if (response.status === 401) window.dispatchEvent(new CustomEvent("session-perdue"));
    throw error;
  }
  return data;
}

/** A query string from the defined, non-empty values of `params`. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

const MESSAGES = {
  invalid_credentials: "Adresse e-mail ou mot de passe incorrect.",
  login_throttled: "Trop de tentatives de connexion pour ce compte : réessayez plus tard.",
  unauthorized: "Votre session a expiré : reconnectez-vous.",
  forbidden: "Votre rôle ne permet pas cette action.",
  csrf_failed: "La requête n'a pas pu être vérifiée (jeton anti-CSRF) : rechargez la page.",
  webhook_not_found: "Ce webhook n'existe pas (ou plus).",
  delivery_not_found: "Cette livraison n'existe pas (ou plus).",
  quota_exceeded: "Vous avez atteint le nombre maximal de webhooks.",
  invalid_url: "Cette URL est refusée",
  server_busy: "Le serveur est occupé : réessayez dans un instant.",
  auth_unavailable: "L'authentification est momentanément indisponible.",
};

/** A sentence in French saying what went wrong. */
export function explain(error) {
  if (!(error instanceof ApiError)) return "Le serveur est injoignable : vérifiez votre connexion.";
  if (error.code === "rate_limited") {
    const wait = error.retryAfter ? ` dans ${error.retryAfter} s` : " dans un instant";
    return `Trop de requêtes : réessayez${wait}.`;
  }
  if (error.code === "validation_failed" && error.errors.length > 0) {
    return "Champs invalides : " + error.errors.map((e) => `${e.field} (${e.message})`).join(", ") + ".";
  }
  const known = MESSAGES[error.code];
  if (error.code === "invalid_url") return `${known} : ${error.message}`;
  return known || `Erreur ${error.status} : ${error.message}`;
}
