// Images playground: generate from a prompt (answered as base64, shown inline).
import { json } from "../api.js";
import { field, fill, h, notice, select } from "../dom.js";
import { curlJson, kwargs, modelPicker, openaiClient, snippets } from "./common.js";

/** Render the images playground into `main`. */
export async function render(main, ctx) {
  main.append(h("h1", {}, "Images playground"));
  const picker = await modelPicker(main, ctx, ["image"], "Model", "images-model");
  if (!picker) return null;
  const prompt = h("textarea", { id: "images-prompt", rows: 2 }, "a lighthouse at dawn, watercolour");
  const size = select({ id: "images-size" }, ["256x256", "512x512", "64x64", "1024x1024"]);
  const count = h("input", { id: "images-n", type: "number", min: "1", max: "4", value: "1" });
  const out = h("div", { "aria-live": "polite" });
  const code = snippets();
  const form = h("form", { class: "card", "aria-label": "Images" }, picker.field, field("Prompt", prompt),
    h("div", { class: "row" }, field("Size", size), field("Count", count)), h("button", { type: "submit" }, "Generate"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { model: picker.control.value, prompt: prompt.value, size: size.value, n: Number(count.value),
                   response_format: "b64_json" };
    fill(out, h("p", { class: "muted" }, "Generating…"));
    try {
      const answer = await json("POST", "../v1/images/generations", body);
      fill(out, h("div", { class: "gallery", id: "images-results" }, answer.data.map((d, i) =>
        h("figure", {}, h("img", { src: `data:image/png;base64,${d.b64_json}`, alt: `Generated image ${i + 1} for: ${body.prompt}` }),
          h("figcaption", {}, d.revised_prompt || `Image ${i + 1}`)))));
      code.show(curlJson("/v1/images/generations", body),
                `import base64\n${openaiClient()}answer = client.images.generate(\n${kwargs(body)}\n)\n` +
                `open("image.png", "wb").write(base64.b64decode(answer.data[0].b64_json))\n`);
    } catch (error) {
      fill(out, notice(error.message, "error"));
    }
  });
  main.append(form, out, code.panel);
  return null;
}
