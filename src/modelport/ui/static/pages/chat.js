// Chat playground: streams token by token over the OpenAI or Anthropic protocol, up to three models side by
// side on the same prompt with each one's time to first token and tokens per second.
import { events, gatewayBase, request } from "../api.js";
import { field, fill, h, notice, select } from "../dom.js";
import { curlJson, kwargs, modelPicker, openaiClient, snippets } from "./common.js";

const CHAT = ["llm"];
const PATHS = { openai: "/v1/chat/completions", anthropic: "/v1/messages", completions: "/v1/completions" };
const BODIES = { openai: openaiBody, anthropic: anthropicBody, completions: completionBody };

function openaiBody(model, system, history, params) {
  const messages = system ? [{ role: "system", content: system }, ...history] : [...history];
  const body = { model, messages, stream: true, stream_options: { include_usage: true }, ...params };
  return body;
}

function completionBody(model, system, history, params) {
  const last = history[history.length - 1].content;
  return { model, prompt: system ? `${system}\n\n${last}` : last, stream: true,
           stream_options: { include_usage: true }, ...params };
}

function anthropicBody(model, system, history, params) {
  const { max_tokens: maxTokens, stop, ...rest } = params;
  const body = { model, max_tokens: maxTokens || 256, messages: [...history], stream: true, ...rest };
  if (system) body.system = system;
  if (stop) body.stop_sequences = stop;
  return body;
}

/** Stream one answer into `target`; returns {text, ttft, tokens, seconds}. */
async function stream(protocol, body, target, signal) {
  const started = performance.now();
  const path = `..${PATHS[protocol]}`;
  const response = await request("POST", path, body, { signal });
  let text = "";
  let first = null;
  let tokens = 0;
  let reported = null;
  for await (const event of events(response)) {
    if (event.data === "[DONE]") break;
    const data = JSON.parse(event.data);
    let delta = "";
    if (protocol === "anthropic") {
      if (data.type === "content_block_delta" && data.delta && data.delta.type === "text_delta") delta = data.delta.text;
      if (data.type === "message_delta" && data.usage) reported = data.usage.output_tokens;
      if (data.type === "error") throw new Error(data.error.message);
    } else {
      if (data.error) throw new Error(data.error.message);
      const choice = data.choices && data.choices[0];
      delta = (choice && (protocol === "completions" ? choice.text : choice.delta && choice.delta.content)) || "";
      if (data.usage) reported = data.usage.completion_tokens;
    }
    if (delta) {
      if (first === null) first = performance.now();
      tokens += 1;
      text += delta;
      target.textContent = text;
    }
  }
  const end = performance.now();
  const count = reported ?? tokens;
  const seconds = first === null ? 0 : (end - first) / 1000;
  return { text, ttft: first === null ? null : (first - started) / 1000, tokens: count, seconds };
}

function pythonFor(protocol, body) {
  const { stream: _s, stream_options: _o, ...rest } = body;
  if (protocol === "anthropic") {
    return `import os\nfrom anthropic import Anthropic\n\nclient = Anthropic(base_url="${gatewayBase()}", api_key=os.environ["MODELPORT_API_KEY"])\n` +
      `with client.messages.stream(\n${kwargs(rest)}\n) as stream:\n    for text in stream.text_stream:\n        print(text, end="", flush=True)\n`;
  }
  if (protocol === "completions") {
    return `${openaiClient()}stream = client.completions.create(\n${kwargs({ ...rest, stream: true })}\n)\n` +
      `for chunk in stream:\n    if chunk.choices:\n        print(chunk.choices[0].text, end="", flush=True)\n`;
  }
  return `${openaiClient()}stream = client.chat.completions.create(\n${kwargs({ ...rest, stream: true })}\n)\n` +
    `for chunk in stream:\n    if chunk.choices and chunk.choices[0].delta.content:\n        print(chunk.choices[0].delta.content, end="", flush=True)\n`;
}

/** Render the chat playground into `main`. */
export async function render(main, ctx) {
  main.append(h("h1", {}, "Chat playground"));
  const picker = await modelPicker(main, ctx, CHAT, "Model", "chat-model");
  if (!picker) return null;
  const others = [2, 3].map((n) => select({ id: `chat-model-${n}` }, [["", "(none)"],
    ...Array.from(picker.control.options).map((o) => o.value)]));
  const protocol = select({ id: "chat-protocol" }, [["openai", "OpenAI (chat completions)"], ["anthropic", "Anthropic (messages)"],
    ["completions", "OpenAI (completions, one prompt)"]]);
  const system = h("textarea", { id: "chat-system", rows: 2, placeholder: "You are a helpful assistant." });
  const temperature = h("input", { id: "chat-temperature", type: "number", step: "0.1", min: "0", max: "2", value: "0.7" });
  const maxTokens = h("input", { id: "chat-max-tokens", type: "number", min: "1", max: "4096", value: "128" });
  const topP = h("input", { id: "chat-top-p", type: "number", step: "0.05", min: "0", max: "1", value: "1" });
  const stop = h("input", { id: "chat-stop", placeholder: "comma separated" });
  const prompt = h("textarea", { id: "chat-prompt", rows: 3, required: true, placeholder: "Ask something…" });
  const send = h("button", { type: "submit" }, "Send");
  const halt = h("button", { type: "button", disabled: true }, "Stop");
  const reset = h("button", { type: "button", class: "secondary" }, "New conversation");
  const columns = h("div", { class: "columns" });
  const status = h("div", { "aria-live": "polite" });
  const code = snippets();
  const histories = new Map();
  let controller = null;

  const form = h("form", { class: "card", "aria-label": "Chat settings" },
    h("div", { class: "row" }, picker.field, field("Compare with", others[0]), field("and", others[1]),
      field("Protocol", protocol)),
    field("System prompt", system),
    h("div", { class: "row" }, field("Temperature", temperature), field("Max tokens", maxTokens),
      field("Top p", topP), field("Stop sequences", stop)),
    field("Message", prompt), h("div", { class: "row" }, send, halt, reset));

  function params() {
    const p = { temperature: Number(temperature.value), max_tokens: Number(maxTokens.value) };
    if (Number(topP.value) !== 1) p.top_p = Number(topP.value);
    const stops = stop.value.split(",").map((s) => s.trim()).filter(Boolean);
    if (stops.length) p.stop = stops;
    return p;
  }

  function column(model) {
    let entry = columns.querySelector(`[data-model="${CSS.escape(model)}"]`);
    if (!entry) {
      entry = h("section", { class: "card column", dataset: { model }, "aria-label": `Answers of ${model}` },
        h("h2", {}, model), h("div", { class: "transcript" }), h("p", { class: "stats muted", role: "status" }));
      columns.append(entry);
    }
    return entry;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = prompt.value.trim();
    if (!text) return;
    const models = [picker.control.value, ...others.map((o) => o.value)].filter((m, i, all) => m && all.indexOf(m) === i);
    for (const el of columns.querySelectorAll(".column")) if (!models.includes(el.dataset.model)) el.remove();
    prompt.value = "";
    fill(status);
    send.disabled = true;
    halt.disabled = false;
    controller = new AbortController();
    const chosen = protocol.value;
    let firstBody = null;
    await Promise.all(models.map(async (model) => {
      const history = histories.get(model) || [];
      history.push({ role: "user", content: text });
      const body = BODIES[chosen](model, system.value.trim(), history, params());
      if (model === models[0]) firstBody = body;
      const col = column(model);
      const transcript = col.querySelector(".transcript");
      transcript.append(h("p", { class: "turn user" }, h("strong", {}, "You: "), text));
      const answer = h("span", { class: "answer" });
      transcript.append(h("p", { class: "turn assistant" }, h("strong", {}, "Model: "), answer));
      try {
        const result = await stream(chosen, body, answer, controller.signal);
        history.push({ role: "assistant", content: result.text });
        // tokens after the first, over the time since it: the decode rate, apart from the time to first token
        const rate = result.tokens > 1 && result.seconds > 0 ? ((result.tokens - 1) / result.seconds).toFixed(1) : "–";
        fill(col.querySelector(".stats"),
             `TTFT ${result.ttft === null ? "–" : `${(result.ttft * 1000).toFixed(0)} ms`} · ${result.tokens} tokens · ${rate} tokens/s`);
      } catch (error) {
        history.pop();
        answer.append(h("span", { class: "error-text" }, ` [${error.name === "AbortError" ? "stopped" : error.message}]`));
      }
      histories.set(model, history);
    }));
    send.disabled = false;
    halt.disabled = true;
    if (firstBody) {
      code.show(curlJson(PATHS[chosen], firstBody, chosen === "anthropic" ? ["anthropic-version: 2023-06-01"] : []),
                pythonFor(chosen, firstBody));
    }
  });
  halt.addEventListener("click", () => controller && controller.abort());
  reset.addEventListener("click", () => {
    histories.clear();
    fill(columns);
  });
  main.append(form, status, columns, code.panel);
  return () => controller && controller.abort();
}
