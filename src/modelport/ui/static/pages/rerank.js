// Rerank playground: a query and documents; the documents ranked with their scores (Jina's /v1/rerank).
import { gatewayBase, json } from "../api.js";
import { field, fill, h, notice } from "../dom.js";
import { curlJson, modelPicker, py, snippets } from "./common.js";

/** Render the rerank playground into `main`. */
export async function render(main, ctx) {
  main.append(h("h1", {}, "Rerank playground"));
  const picker = await modelPicker(main, ctx, ["reranker"], "Model", "rerank-model");
  if (!picker) return null;
  const query = h("input", { id: "rerank-query", value: "How do I reset my password?" });
  const documents = h("textarea", { id: "rerank-documents", rows: 4 },
    "Click 'Forgot password' on the sign-in page to get a reset link.\nOur office is closed on public holidays.\n" +
    "Passwords must be at least 12 characters long.");
  const out = h("div", { "aria-live": "polite" });
  const code = snippets();
  const form = h("form", { class: "card", "aria-label": "Rerank" }, picker.field, field("Query", query),
                 field("Documents (one per line)", documents), h("button", { type: "submit" }, "Rerank"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const docs = documents.value.split("\n").map((s) => s.trim()).filter(Boolean);
    const body = { model: picker.control.value, query: query.value, documents: docs };
    fill(out, h("p", { class: "muted" }, "Ranking…"));
    try {
      const answer = await json("POST", "../v1/rerank", body);
      fill(out, h("ol", { class: "ranked", id: "rerank-results" }, answer.results.map((r) => h("li", {},
        h("span", { class: "score" }, r.relevance_score.toFixed(4)), " ", docs[r.index]))));
      code.show(curlJson("/v1/rerank", body),
                `import os\nimport httpx\n\nanswer = httpx.post(\n    "${gatewayBase()}/v1/rerank",\n` +
                `    headers={"Authorization": f"Bearer {os.environ['MODELPORT_API_KEY']}"},\n    json=${py(body, 4)},\n).json()\n` +
                `for result in answer["results"]:\n    print(result["relevance_score"], result["index"])\n`);
    } catch (error) {
      fill(out, notice(error.message, "error"));
    }
  });
  main.append(form, out, code.panel);
  return null;
}
