// The shell: sign-in, the navigation (admin pages only for admin keys), and the hash router (#/page).
import { ApiError, json, request, setCsrf } from "./api.js";
import { fill, h, notice } from "./dom.js";

const ADMIN_PAGES = [
  ["dashboard", "Dashboard"], ["deployments", "Deployments"], ["keys", "Keys"], ["usage", "Usage"],
];
const PLAYGROUNDS = [
  ["chat", "Chat"], ["embeddings", "Embeddings"], ["rerank", "Rerank"], ["speech", "Speech"],
  ["transcription", "Transcription"], ["images", "Images"],
];
const MODULES = {
  dashboard: () => import("./pages/dashboard.js"), deployments: () => import("./pages/deployments.js"),
  keys: () => import("./pages/keys.js"), usage: () => import("./pages/usage.js"),
  chat: () => import("./pages/chat.js"), embeddings: () => import("./pages/embeddings.js"),
  rerank: () => import("./pages/rerank.js"), speech: () => import("./pages/speech.js"),
  transcription: () => import("./pages/transcription.js"), images: () => import("./pages/images.js"),
};

const main = document.getElementById("main");
let session = null;
let cleanup = null;

function isAdmin() {
  return session && session.scope === "admin";
}

/** The models this key may use that are ready, with their category. */
async function models() {
  return (await json("GET", "models")).data;
}

function renderNav(current) {
  const nav = document.getElementById("nav");
  const pages = !session ? [] : isAdmin() ? [...ADMIN_PAGES, ...PLAYGROUNDS] : PLAYGROUNDS;
  fill(nav, h("ul", {}, pages.map(([id, label]) => h("li", {},
    h("a", { href: `#/${id}`, "aria-current": id === current ? "page" : null }, label)))));
  const who = document.getElementById("who");
  fill(who, session ? `${session.name} (${session.scope})` : "");
  who.title = session ? `Signed in with ${session.scope} key ${session.key_id}` : "";
  document.getElementById("signout").hidden = !session;
}

async function route() {
  if (cleanup) {
    cleanup();
    cleanup = null;
  }
  if (!session) {
    renderNav(null);
    signInPage();
    return;
  }
  const hash = window.location.hash.startsWith("#/") ? window.location.hash.slice(2) : "";
  let page = hash in MODULES ? hash : (isAdmin() ? "dashboard" : "chat");
  renderNav(page);
  const adminOnly = ADMIN_PAGES.some(([id]) => id === page);
  if (adminOnly && !isAdmin()) {
    fill(main, h("h1", {}, "Not allowed"),
         notice("This page needs an admin key. You are signed in with an inference key: use the playgrounds.",
                "error"));
    document.title = "Not allowed · modelport";
    return;
  }
  const module = await MODULES[page]();
  fill(main);
  document.title = `${PLAYGROUNDS.concat(ADMIN_PAGES).find(([id]) => id === page)[1]} · modelport`;
  try {
    cleanup = (await module.render(main, { session, isAdmin: isAdmin(), models })) || null;
  } catch (error) {
    main.append(notice(`Could not load this page: ${error.message}`, "error"));
  }
  main.focus({ preventScroll: true });
}

function signInPage() {
  document.title = "Sign in · modelport";
  const input = h("input", { id: "signin-key", type: "password", autocomplete: "off", required: true,
                             spellcheck: "false", "aria-describedby": "signin-error" });
  const error = h("p", { id: "signin-error", class: "field-error", role: "alert", hidden: true });
  const form = h("form", { class: "card signin", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in"),
    h("p", { class: "muted" }, "Use an API key. An admin key sees everything; an inference key sees the " +
      "playgrounds of the models it may use. The key is sent once and kept only in an HttpOnly session."),
    h("div", { class: "field" }, h("label", { for: "signin-key" }, "API key"), input, error),
    h("button", { type: "submit" }, "Sign in"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    try {
      session = await json("POST", "session", { key: input.value });
      input.value = "";
      setCsrf(session.csrf);
      await route();
    } catch (failure) {
      error.textContent = failure instanceof ApiError ? failure.message : String(failure);
      error.hidden = false;
      input.focus();
    }
  });
  fill(main, form);
  input.focus();
}

async function signOut() {
  try {
    await request("DELETE", "session");
  } finally {
    session = null;
    setCsrf("");
    window.location.hash = "";
    await route();
  }
}

async function start() {
  document.getElementById("signout").addEventListener("click", signOut);
  window.addEventListener("hashchange", () => {
    if (window.location.hash === "" || window.location.hash.startsWith("#/")) route();
  });
  const answer = await fetch("session", { credentials: "same-origin", cache: "no-store" });
  const known = answer.ok ? await answer.json() : null;
  if (known && known.signed_in) {
    session = known;
    setCsrf(session.csrf);
  }
  await route();
}

start();
