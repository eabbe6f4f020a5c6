// The official `openai` npm client against `keel serve` (tests/live/openai_sdk/run.sh starts the
// server at --time-scale 0.5 and passes the file with its "name api base_url" lines).
// Checks: a 429 with retry-after is retried after the advertised wait; a 500 is retried; a
// context overflow arrives as a 400 BadRequestError with code context_length_exceeded and is not
// retried; a streamed answer arrives whole; a hang is given up at the client's timeout.
// Stream faults (what the SDK does, recorded as assertions so a change in it shows up): a
// stream cut without its terminating chunk surfaces as an error from the iteration after the
// tokens that arrived (never a quiet, truncated success) and is not retried; a stalled stream
// is NOT bounded by the SDK's `timeout` (it covers the wait for the response headers only): the
// iteration waits out the whole stall and fails only when the server closes the connection.
import fs from 'node:fs';
import OpenAI from 'openai';

const urls = Object.fromEntries(
  fs.readFileSync(process.argv[2], 'utf8').trim().split('\n').map((line) => {
    const [name, , url] = line.split(' ');
    return [name, url];
  }));

let failures = 0;
function check(cond, what) {
  console.log(`${cond ? 'ok  ' : 'FAIL'} ${what}`);
  if (!cond) failures++;
}

// A fetch that records each response's status, start time and retry headers.
function recorder() {
  const log = [];
  const fetchFn = async (url, init) => {
    const at = performance.now();
    const res = await fetch(url, init);
    log.push({ status: res.status, at, retryAfterMs: res.headers.get('retry-after-ms'),
               retryAfter: res.headers.get('retry-after') });
    return res;
  };
  return { log, fetchFn };
}

function client(name, options = {}) {
  const rec = recorder();
  const c = new OpenAI({ apiKey: 'sk-keel-test', baseURL: urls[name], fetch: rec.fetchFn, ...options });
  return { c, log: rec.log };
}

const ask = (text = 'Say hello.') => ({ model: 'gpt-test', messages: [{ role: 'user', content: text }] });

async function rateLimited() {
  const { c, log } = client('limited', { maxRetries: 2 });
  const r = await c.chat.completions.create(ask());
  check(r.choices[0].message.content.length === 80, '429: answer arrives after the retry');
  check(log.map((e) => e.status).join(',') === '429,200', `429: statuses seen ${log.map((e) => e.status)}`);
  check(log[0].retryAfterMs === '1500' && log[0].retryAfter === '2',
        `429: retry-after-ms 1500 / retry-after 2 (3 s x 0.5), got ${log[0].retryAfterMs} / ${log[0].retryAfter}`);
  const waited = log[1].at - log[0].at;
  // The SDK's own first backoff is at most 0.5 s; >= 1.4 s shows it honoured retry-after-ms.
  check(waited >= 1400 && waited < 4000, `429: retried after ${Math.round(waited)} ms (retry-after-ms 1500)`);
}

async function serverError() {
  const { c, log } = client('flaky', { maxRetries: 2 });
  const r = await c.chat.completions.create(ask());
  check(r.choices[0].finish_reason === 'stop', '500: answer arrives after the retry');
  check(log.map((e) => e.status).join(',') === '500,200', `500: statuses seen ${log.map((e) => e.status)}`);
}

async function contextOverflow() {
  const { c, log } = client('small', { maxRetries: 2 });
  try {
    await c.chat.completions.create(ask('x'.repeat(1000)));
    check(false, 'context overflow: expected an error');
  } catch (e) {
    check(e instanceof OpenAI.BadRequestError, `context overflow: BadRequestError (${e.constructor.name})`);
    check(e.status === 400, `context overflow: status ${e.status}`);
    check(e.code === 'context_length_exceeded', `context overflow: code ${e.code}`);
    check(e.type === 'invalid_request_error', `context overflow: type ${e.type}`);
    check(e.error?.code === 'context_length_exceeded', 'context overflow: error object carries the code');
    check(log.length === 1, `context overflow: not retried (${log.length} request(s))`);
  }
}

async function streamed() {
  const { c } = client('streamer', { maxRetries: 0 });
  const stream = await c.chat.completions.create({ ...ask(), stream: true });
  let text = '', chunks = 0, finish = null;
  for await (const chunk of stream) {
    chunks++;
    const choice = chunk.choices[0];
    if (choice?.delta?.content) text += choice.delta.content;
    if (choice?.finish_reason) finish = choice.finish_reason;
  }
  check(text.length === 400, `stream: 400 bytes of content (100 tokens), got ${text.length}`);
  check(chunks > 3, `stream: ${chunks} chunks`);
  check(finish === 'stop', `stream: finish_reason ${finish}`);
}

async function hang() {
  const { c, log } = client('hung', { maxRetries: 0, timeout: 1000 });
  const start = performance.now();
  try {
    await c.chat.completions.create(ask());
    check(false, 'hang: expected a timeout');
  } catch (e) {
    const elapsed = performance.now() - start;
    check(e instanceof OpenAI.APIConnectionTimeoutError, `hang: APIConnectionTimeoutError (${e.constructor.name})`);
    check(elapsed >= 950 && elapsed < 2500, `hang: gave up after ${Math.round(elapsed)} ms (timeout 1000 ms)`);
    check(log.length === 0, 'hang: no response was ever received');
  }
}

// Reads a stream to its end or its error: the text, the finish reason, the error, when it ended.
async function drain(stream, start) {
  let text = '', finish = null, error = null;
  try {
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice?.delta?.content) text += choice.delta.content;
      if (choice?.finish_reason) finish = choice.finish_reason;
    }
  } catch (e) {
    error = e;
  }
  return { text, finish, error, elapsed: performance.now() - start };
}

const describe = (e) => e ? `${e.constructor.name}: ${e.message}${e.cause ? ` (cause: ${e.cause.code ?? e.cause.message})` : ''}` : 'none';

async function cutStream() {
  const { c, log } = client('cutter', { maxRetries: 2 });
  const start = performance.now();
  const r = await drain(await c.chat.completions.create({ ...ask(), stream: true }), start);
  console.log(`     cut stream: error ${describe(r.error)}; ${r.text.length} bytes; finish ${r.finish}`);
  check(r.error !== null, 'cut stream: the iteration throws (no quiet success)');
  check(r.text.length === 40, `cut stream: the 10 tokens before the cut arrived (40 bytes), got ${r.text.length}`);
  check(r.finish === null, `cut stream: no finish_reason (${r.finish})`);
  check(log.length === 1, `cut stream: not retried (${log.length} request(s))`);
}

async function stalledStream() {
  const { c, log } = client('staller', { maxRetries: 2, timeout: 1000 });
  const start = performance.now();
  const r = await drain(await c.chat.completions.create({ ...ask(), stream: true }), start);
  console.log(`     stalled stream: error ${describe(r.error)} after ${Math.round(r.elapsed)} ms; ${r.text.length} bytes`);
  check(r.error !== null, 'stalled stream: the iteration throws once the server closes');
  check(r.text.length === 40, `stalled stream: the 10 tokens before the stall arrived (40 bytes), got ${r.text.length}`);
  // The stall is 1.5 s (3 s x 0.5) after ~0.1 s of answer: the SDK's 1 s timeout did not end it.
  check(r.elapsed >= 1500, `stalled stream: waited out the whole stall despite timeout 1000 ms (${Math.round(r.elapsed)} ms)`);
  check(log.length === 1, `stalled stream: not retried (${log.length} request(s))`);
}

for (const t of [rateLimited, serverError, contextOverflow, streamed, hang, cutStream, stalledStream]) {
  try {
    await t();
  } catch (e) {
    check(false, `${t.name}: unexpected ${e.constructor.name}: ${e.message}`);
  }
}
console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
process.exit(failures ? 1 : 0);
