// Speech playground: text to audio with a voice and format; play it and download it.
import { request } from "../api.js";
import { field, fill, h, notice, select } from "../dom.js";
import { curlJson, kwargs, modelPicker, openaiClient, snippets } from "./common.js";

const FORMATS = ["mp3", "wav", "opus", "aac", "flac"];
const VOICES = ["alloy", "ash", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer"];

/** Render the speech playground into `main`. */
export async function render(main, ctx) {
  main.append(h("h1", {}, "Speech playground"));
  const picker = await modelPicker(main, ctx, ["text_to_speech"], "Model", "speech-model");
  if (!picker) return null;
  const input = h("textarea", { id: "speech-input", rows: 3 }, "Hello there. This is modelport speaking.");
  const voice = select({ id: "speech-voice" }, VOICES);
  const format = select({ id: "speech-format" }, FORMATS);
  const out = h("div", { "aria-live": "polite" });
  const code = snippets();
  let url = null;
  const form = h("form", { class: "card", "aria-label": "Speech" }, picker.field, field("Text", input),
    h("div", { class: "row" }, field("Voice", voice), field("Format", format)), h("button", { type: "submit" }, "Speak"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { model: picker.control.value, input: input.value, voice: voice.value, response_format: format.value };
    fill(out, h("p", { class: "muted" }, "Synthesising…"));
    try {
      const response = await request("POST", "../v1/audio/speech", body);
      const blob = await response.blob();
      if (url) URL.revokeObjectURL(url);
      url = URL.createObjectURL(blob);
      fill(out, h("audio", { id: "speech-audio", controls: true, src: url }),
        h("p", {}, h("a", { href: url, download: `speech.${format.value}`, class: "button" }, `Download ${format.value}`),
          ` ${(blob.size / 1024).toFixed(1)} KiB, ${blob.type}`));
      code.show(`${curlJson("/v1/audio/speech", body)} \\\n  -o speech.${format.value}`,
                `${openaiClient()}with client.audio.speech.with_streaming_response.create(\n${kwargs(body)}\n) as response:\n` +
                `    response.stream_to_file("speech.${format.value}")\n`);
    } catch (error) {
      fill(out, notice(error.message, "error"));
    }
  });
  main.append(form, out, code.panel);
  return () => url && URL.revokeObjectURL(url);
}
