// Transcription playground: upload a file or record from the microphone; the text and its timed segments.
import { gatewayBase, json } from "../api.js";
import { field, fill, h, notice } from "../dom.js";
import { modelPicker, openaiClient, snippets } from "./common.js";

function clock(seconds) {
  const m = Math.floor(seconds / 60);
  return `${m}:${(seconds - m * 60).toFixed(2).padStart(5, "0")}`;
}

/** Render the transcription playground into `main`. */
export async function render(main, ctx) {
  main.append(h("h1", {}, "Transcription playground"));
  const picker = await modelPicker(main, ctx, ["speech_to_text"], "Model", "transcription-model");
  if (!picker) return null;
  const file = h("input", { id: "transcription-file", type: "file", accept: "audio/*,video/*" });
  const language = h("input", { id: "transcription-language", placeholder: "auto", size: 6 });
  const out = h("div", { "aria-live": "polite" });
  const code = snippets();
  const record = h("button", { type: "button", class: "secondary" }, "Record from microphone");
  let recorded = null;
  let recorder = null;
  record.hidden = !(navigator.mediaDevices && window.MediaRecorder);
  record.addEventListener("click", async () => {
    if (recorder) {
      recorder.stop();
      return;
    }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const chunks = [];
      recorder = new MediaRecorder(stream);
      recorder.ondataavailable = (e) => chunks.push(e.data);
      recorder.onstop = () => {
        recorded = new File(chunks, "recording.webm", { type: recorder.mimeType || "audio/webm" });
        stream.getTracks().forEach((t) => t.stop());
        recorder = null;
        record.textContent = "Record from microphone";
        fill(out, notice(`Recorded ${(recorded.size / 1024).toFixed(1)} KiB; press Transcribe.`, "ok"));
      };
      recorder.start();
      record.textContent = "Stop recording";
    } catch (error) {
      fill(out, notice(`Microphone: ${error.message}`, "error"));
    }
  });
  const form = h("form", { class: "card", "aria-label": "Transcription" }, picker.field,
    field("Audio file", file), record, field("Language", language), h("button", { type: "submit" }, "Transcribe"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const audio = file.files[0] || recorded;
    if (!audio) {
      fill(out, notice("Choose an audio file or record one first.", "error"));
      return;
    }
    const data = new FormData();
    data.append("model", picker.control.value);
    data.append("response_format", "verbose_json");
    if (language.value.trim()) data.append("language", language.value.trim());
    data.append("file", audio, audio.name);
    fill(out, h("p", { class: "muted" }, "Transcribing…"));
    try {
      const answer = await json("POST", "../v1/audio/transcriptions", data);
      fill(out, h("p", { id: "transcription-text", class: "card" }, answer.text),
        h("table", { class: "grid" }, h("caption", {}, `Segments (${answer.language || "?"}, ${answer.duration ?? "?"} s)`),
          h("thead", {}, h("tr", {}, ["Start", "End", "Text"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, (answer.segments || []).map((s) => h("tr", {}, h("td", { class: "num" }, clock(s.start)),
            h("td", { class: "num" }, clock(s.end)), h("td", {}, s.text))))));
      const model = picker.control.value;
      code.show(`curl ${gatewayBase()}/v1/audio/transcriptions \\\n  -H "Authorization: Bearer $MODELPORT_API_KEY" \\\n` +
                `  -F model=${model} -F response_format=verbose_json -F file=@${audio.name}`,
                `${openaiClient()}with open(${JSON.stringify(audio.name)}, "rb") as audio:\n` +
                `    answer = client.audio.transcriptions.create(model=${JSON.stringify(model)}, file=audio, response_format="verbose_json")\n` +
                `print(answer.text)\n`);
    } catch (error) {
      fill(out, notice(error.message, "error"));
    }
  });
  main.append(form, out, code.panel);
  return () => recorder && recorder.stop();
}
