// Embeddings playground: one input per line; the cosine similarity matrix of their vectors.
import { json } from "../api.js";
import { field, fill, h, notice } from "../dom.js";
import { curlJson, kwargs, modelPicker, openaiClient, snippets } from "./common.js";

function cosine(a, b) {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / (Math.sqrt(na) * Math.sqrt(nb) || 1);
}

/** Render the embeddings playground into `main`. */
export async function render(main, ctx) {
  main.append(h("h1", {}, "Embeddings playground"));
  const picker = await modelPicker(main, ctx, ["embedding"], "Model", "embeddings-model");
  if (!picker) return null;
  const inputs = h("textarea", { id: "embeddings-inputs", rows: 4 },
                   "A cat sits on the mat.\nA kitten rests on a rug.\nThe stock market fell today.");
  const out = h("div", { "aria-live": "polite" });
  const code = snippets();
  const form = h("form", { class: "card", "aria-label": "Embeddings" }, picker.field,
                 field("Inputs (one per line)", inputs), h("button", { type: "submit" }, "Embed"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const texts = inputs.value.split("\n").map((s) => s.trim()).filter(Boolean);
    const body = { model: picker.control.value, input: texts };
    fill(out, h("p", { class: "muted" }, "Embedding…"));
    try {
      const answer = await json("POST", "../v1/embeddings", body);
      const vectors = answer.data.map((d) => d.embedding);
      fill(out, h("p", {}, `${vectors.length} vectors of ${vectors[0].length} dimensions; ${answer.usage ? answer.usage.prompt_tokens : "?"} tokens.`),
        h("table", { class: "grid matrix", id: "similarity" }, h("caption", {}, "Cosine similarity"),
          h("thead", {}, h("tr", {}, h("td", {}), texts.map((_, i) => h("th", { scope: "col" }, `#${i + 1}`)))),
          h("tbody", {}, vectors.map((a, i) => h("tr", {}, h("th", { scope: "row", class: "wrap" }, `#${i + 1} ${texts[i]}`),
            vectors.map((b) => h("td", { class: "num" }, cosine(a, b).toFixed(3))))))));
      code.show(curlJson("/v1/embeddings", body),
                `${openaiClient()}answer = client.embeddings.create(\n${kwargs(body)}\n)\nprint(len(answer.data[0].embedding))\n`);
    } catch (error) {
      fill(out, notice(error.message, "error"));
    }
  });
  main.append(form, out, code.panel);
  return null;
}
