// The Node clients against a live modelport (run by tests/clients/test_node_clients.py).
// Usage: node checks.mjs openai|anthropic|ai-sdk, with MODELPORT_URL and MODELPORT_KEY set.
// Prints one JSON line: what each call answered, for the Python test to assert on.
import Anthropic from '@anthropic-ai/sdk';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { generateText, jsonSchema, streamText, tool } from 'ai';
import OpenAI, { toFile } from 'openai';

const CHAT = 'smollm2-135m-instruct';
const EMBED = 'all-minilm-l6-v2';
const SPEECH = 'piper-en-us-joe';
const STT = 'whisper-tiny-en';
const URL = process.env.MODELPORT_URL;
const KEY = process.env.MODELPORT_KEY;
const HELLO = [{ role: 'user', content: 'Say hello.' }];
const CITY = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
const WEATHER_QUESTION = [{ role: 'user', content: 'What is the weather in Paris?' }];

async function openaiChecks() {
  const client = new OpenAI({ baseURL: `${URL}/v1`, apiKey: KEY, maxRetries: 0 });
  const chat = await client.chat.completions.create({ model: CHAT, messages: HELLO, max_tokens: 16, temperature: 0 });
  const chunks = [];
  const stream = await client.chat.completions.create({ model: CHAT, messages: HELLO, max_tokens: 16, stream: true });
  for await (const chunk of stream) {
    const text = chunk.choices[0]?.delta?.content;
    if (text) chunks.push(text);
  }
  const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Current weather', parameters: CITY } }];
  const toolReply = await client.chat.completions.create({
    model: CHAT, messages: WEATHER_QUESTION, max_tokens: 32, tools,
    tool_choice: { type: 'function', function: { name: 'get_weather' } },
  });
  const call = toolReply.choices[0].message.tool_calls[0].function;
  const embedding = await client.embeddings.create({ model: EMBED, input: 'The cat sat on the mat.' });
  const response = await client.responses.create({ model: CHAT, input: 'Say hello.', max_output_tokens: 16 });
  const deltas = [];
  const responseStream = client.responses.stream({ model: CHAT, input: 'Say hello.', max_output_tokens: 16 });
  for await (const event of responseStream) {
    if (event.type === 'response.output_text.delta') deltas.push(event.delta);
  }
  const streamed = await responseStream.finalResponse();
  const speech = await client.audio.speech.create({
    model: SPEECH, voice: 'alloy', input: 'Hello there, my friend.', response_format: 'wav',
  });
  const wav = Buffer.from(await speech.arrayBuffer());
  const heard = await client.audio.transcriptions.create({ model: STT, file: await toFile(wav, 'hello.wav') });
  return {
    speech_header: wav.subarray(0, 4).toString('latin1'), transcription: heard.text,
    chat: chat.choices[0].message.content, stream: chunks, tool: { name: call.name, arguments: call.arguments },
    embedding: embedding.data[0].embedding, response: response.output_text,
    response_deltas: deltas, response_streamed: streamed.output_text,
  };
}

async function anthropicChecks() {
  const client = new Anthropic({ baseURL: URL, apiKey: KEY, maxRetries: 0 });
  const message = await client.messages.create({ model: CHAT, max_tokens: 16, messages: HELLO });
  const deltas = [];
  const stream = client.messages.stream({ model: CHAT, max_tokens: 16, messages: HELLO });
  stream.on('text', (text) => deltas.push(text));
  const final = await stream.finalMessage();
  const toolReply = await client.messages.create({
    model: CHAT, max_tokens: 32, messages: WEATHER_QUESTION,
    tools: [{ name: 'get_weather', description: 'Current weather', input_schema: CITY }],
    tool_choice: { type: 'tool', name: 'get_weather' },
  });
  const use = toolReply.content.find((block) => block.type === 'tool_use');
  const counted = await client.messages.countTokens({ model: CHAT, messages: HELLO });
  return {
    text: message.content[0].text, input_tokens: message.usage.input_tokens, deltas, final: final.content[0].text,
    tool: { name: use.name, input: use.input, stop_reason: toolReply.stop_reason }, counted: counted.input_tokens,
  };
}

async function streamedText(model) {
  const parts = [];
  const result = streamText({ model, prompt: 'Say hello.', maxOutputTokens: 16, maxRetries: 0 });
  for await (const part of result.textStream) parts.push(part);
  return parts;
}

async function aiSdkChecks() {
  // The default provider: `openai(model)` speaks the Responses API
  const openai = createOpenAI({ baseURL: `${URL}/v1`, apiKey: KEY });
  const responses = await generateText({ model: openai(CHAT), prompt: 'Say hello.', maxOutputTokens: 16, maxRetries: 0 });
  const responsesStream = await streamedText(openai(CHAT));
  const compatible = createOpenAICompatible({ name: 'modelport', baseURL: `${URL}/v1`, apiKey: KEY });
  const chat = await generateText({ model: compatible(CHAT), prompt: 'Say hello.', maxOutputTokens: 16, maxRetries: 0 });
  const chatStream = await streamedText(compatible(CHAT));
  const viaChat = await generateText({ model: openai.chat(CHAT), prompt: 'Say hello.', maxOutputTokens: 16, maxRetries: 0 });
  const tools = { get_weather: tool({ description: 'Current weather', inputSchema: jsonSchema(CITY) }) };
  const toolReply = await generateText({
    model: compatible(CHAT), prompt: 'What is the weather in Paris?', maxOutputTokens: 32, maxRetries: 0,
    tools, toolChoice: { type: 'tool', toolName: 'get_weather' },
  });
  const call = toolReply.toolCalls[0];
  return {
    responses: responses.text, responses_stream: responsesStream, chat: chat.text, chat_stream: chatStream,
    openai_chat: viaChat.text, tool: { name: call.toolName, input: call.input },
  };
}

const checks = { openai: openaiChecks, anthropic: anthropicChecks, 'ai-sdk': aiSdkChecks };
const name = process.argv[2];
if (!checks[name]) {
  console.error(`unknown check ${name}; one of ${Object.keys(checks).join(', ')}`);
  process.exit(2);
}
console.log(JSON.stringify(await checks[name]()));
