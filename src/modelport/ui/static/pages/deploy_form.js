// The deploy form, also the replace form of a deployment: from the catalog, from a URL, or an engine with its
// args. Deploying POSTs a whole spec; replacing PATCHes what the form shows (the upstream key only when typed,
// since the API never shows it back). The admin API's validation errors appear next to the field they name.
import { ApiError, json } from "../api.js";
import { clearErrors, field, fill, h, notice, select, showFieldError } from "../dom.js";

const CATEGORIES = ["llm", "embedding", "reranker", "image", "speech_to_text", "text_to_speech"];

function lines(text) {
  return text.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
}

function engineArgs(text) {
  const args = {};
  for (const line of text.split("\n").map((s) => s.trim()).filter(Boolean)) {
    const at = line.indexOf("=");
    if (at < 1) throw new ApiError(400, { error: { message: `\`${line}\` is not KEY=VALUE.`, param: "engine_args" } });
    args[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return args;
}

function controls(catalog) {
  return {
    name: h("input", { name: "name", "data-param": "name", required: true, autocomplete: "off" }),
    source: select({ name: "source" }, [["catalog", "From the catalog"], ["url", "A server that already runs (URL)"],
                                        ["engine", "An engine and a model path"]]),
    catalog: select({ name: "catalog", "data-param": "model" },
                    catalog.map((e) => [e.name, `${e.name} (${e.engine}, ${e.categories.join(", ")})${e.ready ? "" : " — not installed"}`])),
    url: h("input", { name: "url", "data-param": "urls", type: "url", placeholder: "http://10.0.0.5:8000/v1" }),
    upstreamKey: h("input", { name: "upstream_key", "data-param": "upstream_key", type: "password", autocomplete: "off" }),
    upstreamModel: h("input", { name: "upstream_model", "data-param": "upstream_model" }),
    engine: h("input", { name: "engine", "data-param": "engine", placeholder: "llama.cpp, diffusers, vllm, …" }),
    model: h("input", { name: "model", "data-param": "model", placeholder: "/models/my-model.gguf" }),
    category: select({ name: "category", "data-param": "category" }, [["", "(the model's own, else llm)"], ...CATEGORIES]),
    replicas: h("input", { name: "replicas", "data-param": "replicas", type: "number", min: "1", value: "1" }),
    args: h("textarea", { name: "engine_args", "data-param": "engine_args", rows: 3, placeholder: "n_ctx=8192" }),
    aliases: h("input", { name: "aliases", "data-param": "aliases", placeholder: "whisper-1, gpt-4o-transcribe" }),
  };
}

/** Put deployment `d` (as GET /api/deployments answers it) into the form's controls. */
function prefill(c, d, catalog) {
  c.name.value = d.name;
  c.name.readOnly = true;
  const fromCatalog = !d.urls.length && catalog.some((e) => e.name === d.model && e.engine === d.engine);
  c.source.value = d.urls.length ? "url" : fromCatalog ? "catalog" : "engine";
  if (fromCatalog) c.catalog.value = d.model;
  c.url.value = d.urls.join(", ");
  c.upstreamModel.value = d.upstream_model || "";
  c.engine.value = d.engine || "";
  c.model.value = d.model || "";
  c.category.value = d.category;
  c.replicas.value = String(d.replicas);
  c.args.value = Object.entries(d.engine_args || {}).map(([k, v]) => `${k}=${v}`).join("\n");
  c.aliases.value = (d.aliases || []).join(", ");
}

/** What the form describes, as the admin API takes it. Replacing, the fields of the other sources are reset
 * (a deployment runs from one source) and the upstream key goes only when one was typed. */
function spec(c, catalog, replacing) {
  const body = { name: c.name.value.trim(), replicas: Number(c.replicas.value || 1), aliases: lines(c.aliases.value) };
  if (c.category.value) body.category = c.category.value;
  if (replacing) Object.assign(body, { urls: [], engine: null, model: null, engine_args: {}, upstream_model: null });
  if (c.source.value === "catalog") {
    const entry = catalog.find((e) => e.name === c.catalog.value);
    body.model = c.catalog.value;
    if (entry) {
      body.engine = entry.engine;
      if (!body.category && entry.categories.length) body.category = entry.categories[0];
    }
  } else if (c.source.value === "url") {
    if (replacing) body.command = null;
    body.urls = lines(c.url.value);
    if (c.upstreamKey.value) body.upstream_key = c.upstreamKey.value;
    if (c.upstreamModel.value.trim()) body.upstream_model = c.upstreamModel.value.trim();
  } else {
    body.engine = c.engine.value.trim() || null;
    body.model = c.model.value.trim() || null;
    body.engine_args = engineArgs(c.args.value);
  }
  return body;
}

/** The deploy form; with `existing` (a deployment), the form that replaces it. `onDone(message)` after success. */
export function deployForm(catalog, onDone, existing = null, onCancel = null) {
  const c = controls(catalog);
  const replacing = existing !== null;
  const titleId = replacing ? "replace-title" : "deploy-title";
  const catalogHint = h("p", { class: "hint", "aria-live": "polite" });
  const keyHint = replacing && existing.upstream_key ? "Leave empty to keep the current key." : "Sent upstream as a bearer token; never shown again.";
  const groups = {
    catalog: h("fieldset", {}, h("legend", {}, "Catalog model"), field("Model", c.catalog), catalogHint),
    url: h("fieldset", {}, h("legend", {}, "Remote server"), field("Base URL", c.url),
           field("Upstream key", c.upstreamKey, keyHint), field("Upstream model id", c.upstreamModel)),
    engine: h("fieldset", {}, h("legend", {}, "Engine"), field("Engine", c.engine), field("Model path or id", c.model),
              field("Engine args (KEY=VALUE per line)", c.args)),
  };
  const status = h("div", { "aria-live": "polite" });
  const buttons = [h("button", { type: "submit" }, replacing ? "Replace" : "Deploy")];
  if (onCancel) buttons.push(h("button", { type: "button", class: "secondary", onclick: onCancel }, "Cancel"));
  const form = h("form", { class: "card", "aria-labelledby": titleId, novalidate: true },
    h("h2", { id: titleId }, replacing ? `Replace ${existing.name}` : "Deploy a model"),
    field("Name (what clients put in model)", c.name), field("Source", c.source),
    groups.catalog, groups.url, groups.engine,
    field("Category", c.category), field("Replicas", c.replicas, "Instances an engine runs here."),
    field("Aliases (comma separated)", c.aliases), buttons, status);

  function showSource() {
    for (const [name, group] of Object.entries(groups)) group.hidden = name !== c.source.value;
    const entry = catalog.find((e) => e.name === c.catalog.value);
    fill(catalogHint, entry ? `${entry.card} [${entry.license}]${entry.ready ? "" : ` — ${entry.why}; install: ${entry.install}`}` : "");
  }
  c.source.addEventListener("change", showSource);
  c.catalog.addEventListener("change", () => {
    showSource();
    if (!c.name.value) c.name.value = c.catalog.value;
  });
  if (replacing) prefill(c, existing, catalog);
  showSource();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    fill(status);
    try {
      const body = spec(c, catalog, replacing);
      const done = replacing
        ? await json("PATCH", `../api/deployments/${encodeURIComponent(existing.name)}`, body)
        : await json("POST", "../api/deployments", body);
      c.upstreamKey.value = "";
      await onDone(replacing ? `Replaced ${done.name}.` : `Deployed ${done.name}.`);
    } catch (error) {
      if (!(error instanceof ApiError) || !showFieldError(form, error.param, error.message)) {
        fill(status, notice(error.message, "error"));
      }
    }
  });
  return form;
}
