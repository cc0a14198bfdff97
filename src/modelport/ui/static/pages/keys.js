// Keys: create (the secret is shown once, with a copy button), list, revoke.
import { ApiError, json, request } from "../api.js";
import { clearErrors, field, fill, h, notice, select, showFieldError } from "../dom.js";

function when(value) {
  return value ? new Date(value).toLocaleString() : "";
}

function limitsText(limits) {
  if (!limits) return "";
  const parts = Object.entries(limits).filter(([name, v]) => name !== "deployments" && v !== null && v !== undefined)
    .map(([name, v]) => `${name} ${v}`);
  const per = Object.keys(limits.deployments || {});
  if (per.length) parts.push(`per deployment: ${per.join(", ")}`);
  return parts.join(", ") || "none";
}

function secretBox(token) {
  const output = h("input", { readonly: true, value: token, class: "secret", "aria-label": "The new key",
                              id: "new-key-secret" });
  const copied = h("span", { role: "status", class: "muted" });
  const copy = h("button", { type: "button", onclick: async () => {
    output.select();
    try {
      await navigator.clipboard.writeText(token);
      copied.textContent = " Copied.";
    } catch (_) {
      copied.textContent = " Selected: press Ctrl+C to copy.";
    }
  } }, "Copy");
  return h("div", { class: "card ok" }, h("p", {}, "The new key, shown only this once:"), output, copy, copied);
}

/** Render the keys page into `main`. */
export async function render(main) {
  const list = h("div", {});
  const message = h("div", { "aria-live": "polite" });
  const created = h("div", { "aria-live": "polite" });

  async function refresh() {
    const keys = (await json("GET", "../api/keys")).data;
    fill(list, h("table", { class: "grid" }, h("caption", {}, "API keys (secrets are never shown again)"),
      h("thead", {}, h("tr", {}, ["Id", "Name", "Scope", "Models", "Limits", "Created", "Expires", "Revoked", ""]
        .map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, keys.map((k) => h("tr", { dataset: { key: k.id } },
        h("td", {}, h("code", {}, k.id)), h("th", { scope: "row" }, k.name), h("td", {}, k.scope),
        h("td", {}, k.models ? k.models.join(", ") : "all"), h("td", {}, limitsText(k.limits)),
        h("td", {}, when(k.created_at)),
        h("td", {}, when(k.expires_at)), h("td", {}, when(k.revoked_at)),
        h("td", {}, k.revoked_at ? "" : h("button", { type: "button", class: "danger",
          "aria-label": `Revoke ${k.name} (${k.id})`, onclick: async () => {
            if (!window.confirm(`Revoke ${k.name}? Clients using it are refused within a second.`)) return;
            try {
              await request("DELETE", `../api/keys/${encodeURIComponent(k.id)}`);
              fill(message, notice(`Revoked ${k.name}.`, "ok"));
              await refresh();
            } catch (error) {
              fill(message, notice(error.message, "error"));
            }
          } }, "Revoke")))))));
  }

  const name = h("input", { name: "name", "data-param": "name", required: true, autocomplete: "off" });
  const scope = select({ name: "scope", "data-param": "scope" }, [["inference", "inference (call models)"],
                                                                 ["admin", "admin (everything)"]]);
  const models = h("input", { name: "models", "data-param": "models", placeholder: "all models" });
  const expires = h("input", { name: "expires_in", "data-param": "expires_in", placeholder: "never (e.g. 30d, 12h)" });
  const form = h("form", { class: "card", "aria-labelledby": "key-title", novalidate: true },
    h("h2", { id: "key-title" }, "Create a key"), field("Name", name), field("Scope", scope),
    field("Models (comma separated allow-list)", models), field("Expires in", expires),
    h("button", { type: "submit" }, "Create key"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    fill(created);
    const body = { name: name.value.trim(), scope: scope.value };
    const allowed = models.value.split(",").map((s) => s.trim()).filter(Boolean);
    if (allowed.length) body.models = allowed;
    if (expires.value.trim()) body.expires_in = expires.value.trim();
    try {
      const key = await json("POST", "../api/keys", body);
      fill(created, secretBox(key.key));
      name.value = "";
      await refresh();
    } catch (error) {
      if (!(error instanceof ApiError) || !showFieldError(form, error.param, error.message)) {
        fill(created, notice(error.message, "error"));
      }
    }
  });
  await refresh();
  main.append(h("h1", {}, "Keys"), message, created, form, list);
}
