// What every playground shares: a model picker for its categories, and the curl and Python snippet panel.
import { gatewayBase } from "../api.js";
import { field, fill, h, notice, select } from "../dom.js";

/** A labelled select of the ready models in `categories`; null (with a notice in `main`) when there is none. */
export async function modelPicker(main, ctx, categories, label = "Model", id = "model") {
  const models = (await ctx.models()).filter((m) => categories.includes(m.category));
  if (!models.length) {
    main.append(notice(`No ready model of category ${categories.join(" or ")} is available to this key.`, "error"));
    return null;
  }
  const control = select({ id, name: id }, models.map((m) => m.id));
  return { control, field: field(label, control) };
}

function shellQuote(text) {
  return `'${text.replace(/'/g, "'\\''")}'`;
}

/** `curl` for a JSON POST to `path` (relative to the gateway, e.g. /v1/embeddings). */
export function curlJson(path, body, extraHeaders = []) {
  const headers = [`-H "Authorization: Bearer $MODELPORT_API_KEY"`, `-H "Content-Type: application/json"`,
                   ...extraHeaders.map((x) => `-H ${shellQuote(x)}`)];
  return `curl ${gatewayBase()}${path} \\\n  ${headers.join(" \\\n  ")} \\\n  -d ${shellQuote(JSON.stringify(body))}`;
}

/** A Python literal of a JSON value (True/False/None, repr-like strings). */
export function py(value, indent = 0) {
  const pad = " ".repeat(indent);
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number") return String(value);
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => py(v, indent)).join(", ")}]`;
  const items = Object.entries(value).map(([k, v]) => `${pad}    ${JSON.stringify(k)}: ${py(v, indent + 4)}`);
  return `{\n${items.join(",\n")},\n${pad}}`;
}

/** Keyword arguments of a Python call from an object. */
export function kwargs(body) {
  return Object.entries(body).map(([k, v]) => `    ${k}=${py(v, 4)},`).join("\n");
}

/** The OpenAI client as the snippets create it. */
export function openaiClient() {
  return `import os\nfrom openai import OpenAI\n\nclient = OpenAI(base_url="${gatewayBase()}/v1", api_key=os.environ["MODELPORT_API_KEY"])\n`;
}

/** The snippet panel: `show(curl, python)` fills it with what was just run. */
export function snippets() {
  const curl = h("pre", { class: "code", tabindex: "0", "aria-label": "curl" });
  const python = h("pre", { class: "code", tabindex: "0", "aria-label": "Python" });
  const panel = h("section", { class: "card snippets", "aria-labelledby": "snippets-title", hidden: true },
    h("h2", { id: "snippets-title" }, "The same request from code"),
    h("p", { class: "muted" }, "Set MODELPORT_API_KEY to your key first."),
    h("h3", {}, "curl"), curl, h("h3", {}, "Python"), python);
  return {
    panel,
    show(curlText, pythonText) {
      fill(curl, curlText);
      fill(python, pythonText);
      panel.hidden = false;
    },
  };
}
