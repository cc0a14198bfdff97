// Deployments: deploy from the catalog, from a URL or with an engine and its args; scale, undeploy. The
// admin API's validation errors appear next to the field they name.
import { ApiError, json, request } from "../api.js";
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

function deployForm(catalog, onDone) {
  const c = {
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
  const catalogHint = h("p", { class: "hint", "aria-live": "polite" });
  const groups = {
    catalog: h("fieldset", {}, h("legend", {}, "Catalog model"), field("Model", c.catalog), catalogHint),
    url: h("fieldset", {}, h("legend", {}, "Remote server"), field("Base URL", c.url),
           field("Upstream key", c.upstreamKey, "Sent upstream as a bearer token; never shown again."),
           field("Upstream model id", c.upstreamModel)),
    engine: h("fieldset", {}, h("legend", {}, "Engine"), field("Engine", c.engine), field("Model path or id", c.model),
              field("Engine args (KEY=VALUE per line)", c.args)),
  };
  const status = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "card", "aria-labelledby": "deploy-title", novalidate: true },
    h("h2", { id: "deploy-title" }, "Deploy a model"),
    field("Name (what clients put in model)", c.name), field("Source", c.source),
    groups.catalog, groups.url, groups.engine,
    field("Category", c.category), field("Replicas", c.replicas, "Instances an engine runs here."),
    field("Aliases (comma separated)", c.aliases),
    h("button", { type: "submit" }, "Deploy"), status);

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
  showSource();

  function spec() {
    const body = { name: c.name.value.trim(), replicas: Number(c.replicas.value || 1), aliases: lines(c.aliases.value) };
    if (c.category.value) body.category = c.category.value;
    if (c.source.value === "catalog") {
      const entry = catalog.find((e) => e.name === c.catalog.value);
      body.model = c.catalog.value;
      if (entry) {
        body.engine = entry.engine;
        if (!body.category && entry.categories.length) body.category = entry.categories[0];
      }
    } else if (c.source.value === "url") {
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

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    fill(status);
    try {
      const created = await json("POST", "../api/deployments", spec());
      fill(status, notice(`Deployed ${created.name}.`, "ok"));
      c.upstreamKey.value = "";
      await onDone();
    } catch (error) {
      if (!(error instanceof ApiError) || !showFieldError(form, error.param, error.message)) {
        fill(status, notice(error.message, "error"));
      }
    }
  });
  return form;
}

function deploymentRow(d, message, refresh) {
  const remote = d.urls && d.urls.length;
  const replicas = h("input", { type: "number", min: "1", value: String(d.replicas), class: "narrow",
                                "aria-label": `Replicas of ${d.name}` });
  async function scale() {
    const { created_at: _c, updated_at: _u, instances: _i, ...spec } = d;
    try {
      await json("PUT", `../api/deployments/${encodeURIComponent(d.name)}`, { ...spec, replicas: Number(replicas.value) });
      fill(message, notice(`${d.name} now runs ${replicas.value} replica(s).`, "ok"));
      await refresh();
    } catch (error) {
      fill(message, notice(`${d.name}: ${error.message}`, "error"));
    }
  }
  async function undeploy() {
    if (!window.confirm(`Undeploy ${d.name} and stop its instances?`)) return;
    try {
      await request("DELETE", `../api/deployments/${encodeURIComponent(d.name)}`);
      fill(message, notice(`Undeployed ${d.name}.`, "ok"));
      await refresh();
    } catch (error) {
      fill(message, notice(`${d.name}: ${error.message}`, "error"));
    }
  }
  const canScale = !remote && d.upstream_key === null;
  return h("tr", {}, h("th", { scope: "row" }, d.name), h("td", {}, d.category),
    h("td", { class: "wrap" }, remote ? d.urls.join(", ") : [d.engine, d.model].filter(Boolean).join(" · ")),
    h("td", {}, (d.aliases || []).join(", ")),
    h("td", {}, d.instances.map((i) => h("span", { class: `state state-${i.state}`, title: i.reason }, i.state))),
    h("td", {}, canScale ? [replicas, h("button", { type: "button", onclick: scale }, "Scale")] : String(d.replicas)),
    h("td", {}, h("button", { type: "button", class: "danger", onclick: undeploy,
                              "aria-label": `Undeploy ${d.name}` }, "Undeploy")));
}

/** Render the deployments page into `main`. */
export async function render(main) {
  const message = h("div", { "aria-live": "polite" });
  const list = h("div", {});
  const catalog = (await json("GET", "catalog")).data;
  async function refresh() {
    const deployments = (await json("GET", "../api/deployments")).data;
    fill(list, h("table", { class: "grid" }, h("caption", {}, "Deployments"),
      h("thead", {}, h("tr", {}, ["Name", "Category", "Runs", "Aliases", "Instances", "Replicas", ""]
        .map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, deployments.length ? deployments.map((d) => deploymentRow(d, message, refresh))
                                        : h("tr", {}, h("td", { colspan: 7 }, "No deployments yet.")))));
  }
  await refresh();
  main.append(h("h1", {}, "Deployments"), message, list, deployForm(catalog, refresh));
}
