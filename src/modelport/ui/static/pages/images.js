// Images playground: generate from a prompt, or edit an uploaded image where a mask is painted on it
// (answered as base64 and shown inline).
import { json } from "../api.js";
import { field, fill, h, notice, select } from "../dom.js";
import { curlJson, kwargs, modelPicker, openaiClient, snippets } from "./common.js";
import { maskPainter } from "./mask.js";

function gallery(answer, prompt) {
  return h("div", { class: "gallery", id: "images-results" }, answer.data.map((d, i) =>
    h("figure", {}, h("img", { src: `data:image/png;base64,${d.b64_json}`, alt: `Image ${i + 1} for: ${prompt}` }),
      h("figcaption", {}, d.revised_prompt || `Image ${i + 1}`))));
}

/** Render the images playground into `main`. */
export async function render(main, ctx) {
  main.append(h("h1", {}, "Images playground"));
  const picker = await modelPicker(main, ctx, ["image"], "Model", "images-model");
  if (!picker) return null;
  const mode = select({ id: "images-mode" }, [["generate", "Generate from a prompt"], ["edit", "Edit an image (paint a mask)"]]);
  const prompt = h("textarea", { id: "images-prompt", rows: 2 }, "a lighthouse at dawn, watercolour");
  const size = select({ id: "images-size" }, ["256x256", "512x512", "64x64", "1024x1024"]);
  const count = h("input", { id: "images-n", type: "number", min: "1", max: "4", value: "1" });
  const painter = maskPainter();
  const editing = h("fieldset", { hidden: true }, h("legend", {}, "Image to edit"), painter.element);
  const out = h("div", { "aria-live": "polite" });
  const code = snippets();
  const submit = h("button", { type: "submit" }, "Generate");
  mode.addEventListener("change", () => {
    editing.hidden = mode.value !== "edit";
    submit.textContent = mode.value === "edit" ? "Edit" : "Generate";
  });
  const form = h("form", { class: "card", "aria-label": "Images" }, picker.field, field("Mode", mode),
    field("Prompt", prompt), editing, h("div", { class: "row" }, field("Size", size), field("Count", count)), submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { model: picker.control.value, prompt: prompt.value, size: size.value, n: Number(count.value),
                   response_format: "b64_json" };
    fill(out, h("p", { class: "muted" }, mode.value === "edit" ? "Editing…" : "Generating…"));
    try {
      if (mode.value === "edit") {
        const image = painter.image();
        if (!image) throw new Error("Choose an image to edit first.");
        const data = new FormData();
        for (const [name, value] of Object.entries(body)) data.append(name, String(value));
        data.append("image", image, image.name);
        const mask = await painter.mask();
        if (mask) data.append("mask", mask, "mask.png");
        fill(out, gallery(await json("POST", "../v1/images/edits", data), body.prompt));
        const { response_format: _r, ...fields } = body;
        code.show(`curl ${new URL("../", location.href).href}v1/images/edits \\\n  -H "Authorization: Bearer $MODELPORT_API_KEY" \\\n  ` +
                  Object.entries(fields).map(([k, v]) => `-F ${k}=${JSON.stringify(String(v))}`).join(" ") +
                  ` \\\n  -F image=@${image.name}${mask ? " -F mask=@mask.png" : ""}`,
                  `${openaiClient()}answer = client.images.edit(\n${kwargs(fields)}\n    image=open(${JSON.stringify(image.name)}, "rb"),\n` +
                  `${mask ? '    mask=open("mask.png", "rb"),\n' : ""})\n`);
      } else {
        fill(out, gallery(await json("POST", "../v1/images/generations", body), body.prompt));
        code.show(curlJson("/v1/images/generations", body),
                  `import base64\n${openaiClient()}answer = client.images.generate(\n${kwargs(body)}\n)\n` +
                  `open("image.png", "wb").write(base64.b64decode(answer.data[0].b64_json))\n`);
      }
    } catch (error) {
      fill(out, notice(error.message, "error"));
    }
  });
  main.append(form, out, code.panel);
  return null;
}
