// Local chat: send a command, follow the job, show the player and piano roll when it is done.
const log = document.getElementById("log");
const form = document.getElementById("composer");
const input = document.getElementById("text");
const primer = document.getElementById("primer");
const warmup = document.getElementById("warmup");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));

// --- keep the newest message in view --------------------------------------------------------------------
// Messages grow after they are added (progress lines, results whose piano roll loads later), so the log follows
// every change of size unless the user has scrolled up to read older messages. Only a move up unpins: content
// growing below never moves the log up (scroll anchoring is off in chat.css).
let pinned = true, lastTop = 0;
const toBottom = () => { log.scrollTop = log.scrollHeight; };
log.addEventListener("scroll", () => {
  if (log.scrollHeight - log.scrollTop - log.clientHeight < 48) pinned = true;
  else if (log.scrollTop < lastTop) pinned = false;
  lastTop = log.scrollTop;
});
const follower = new ResizeObserver(() => { if (pinned) toBottom(); });
follower.observe(log);

function say(cls, html, into = log) {
  const div = document.createElement("div");
  div.className = "msg " + cls;
  div.innerHTML = html;
  into.appendChild(div);
  follower.observe(div);
  pinned = true;
  toBottom();
  return div;
}

// --- model warm-up -----------------------------------------------------------------------------------------
// Until /healthz says the workers are ready, show how long the warm-up has run against how long it took last time.
let health = {workers_ready: true};

function warmupTime(h) {  // "12 s of about 50 s"
  const w = h.warmup;
  if (!w) return "under way";
  const s = Math.round(w.elapsed_s), about = Math.round(w.expected_s);
  return s <= about ? `${s} s of about ${about} s` : `${s} s, usually about ${about} s`;
}

function showBar(bar, h) {
  const w = h.warmup;
  if (w && w.elapsed_s <= w.expected_s) { bar.max = w.expected_s; bar.value = w.elapsed_s; }
  else bar.removeAttribute("value");  // past the estimate: an indeterminate bar
}

async function watchWarmup() {
  for (;;) {
    try {
      health = await (await fetch("/healthz")).json();
    } catch (e) {
      health = {workers_ready: false};  // the bot is restarting; keep asking
    }
    if (health.workers_ready) { warmup.hidden = true; return; }
    warmup.querySelector(".text").textContent = `Models warming up: ${warmupTime(health)}`;
    showBar(warmup.querySelector("progress"), health);
    warmup.hidden = false;
    await sleep(1000);
  }
}

// --- jobs (the buttons under a result, replies, history and recall are in remix.js) --------------------------------------------------------------------------------------------------
function showProgress(div, job) {
  const line = div.querySelector(".progress");
  let bar = div.querySelector("progress");
  if (job.status === "queued" && !health.workers_ready) {
    const queued = job.progress.text.replace(/: waiting for the models to warm up$/, "");  // the server's wording
    line.textContent = `${queued}: waiting for the models to warm up (${warmupTime(health)})`;
    if (!bar) { bar = document.createElement("progress"); div.appendChild(bar); }
    showBar(bar, health);
  } else {
    line.textContent = job.progress.text;
    if (bar) bar.remove();
  }
}

function showResult(div, job) {
  const outs = job.outputs.map((o, i) =>
    `<div class="output"><audio controls src="${esc(o.audio_url)}"></audio>` +
    `<img alt="piano roll ${i + 1}" src="${esc(o.pianoroll_url)}">` +
    `<a href="${esc(o.midi_url)}" download>MIDI</a> · <a href="${esc(o.audio_url)}" download>audio</a></div>`).join("");
  const recipe = job.origin ? `<div class="recipe">${esc(job.command)}</div>` : "";  // what the button changed
  // What was done to the input (files looped or trimmed, drums not transposed); results from before notes have none.
  const notes = Array.isArray(job.notes) && job.notes.length
    ? `<ul class="notes">${job.notes.map((n) => `<li>${esc(n)}</li>`).join("")}</ul>` : "";
  div.innerHTML = `<b>Done</b> · ${esc(job.model)}, seed ${job.seed} · <a class="share" href="${esc(job.share_url)}">share link</a>${notes}${recipe}${outs}`;
  div.appendChild(toolbar(job));
}

function showFailure(div, job) {
  div.className = "msg error";
  div.textContent = "Failed: " + job.error;
  if (job.actions && job.actions.length) div.appendChild(toolbar(job));
}

async function follow(div, first) {
  let job = first;
  for (;;) {
    if (job.status === "done") return showResult(div, job);
    if (job.status === "failed") return showFailure(div, job);
    showProgress(div, job);
    await sleep(400);
    try {
      const res = await fetch(`/api/jobs/${first.job_id}`);
      if (res.ok) job = await res.json();
    } catch (e) {
      div.querySelector(".progress").textContent = "Lost touch with the bot; still trying...";
    }
  }
}

// The bot's answer to a command, a reply or a button: help text, an error under its pointer, or a job to follow.
async function answered(res) {
  let body;
  try {
    body = await res.json();
  } catch (e) {
    say("error", `The bot answered ${res.status} without a message; try again in a moment.`);
    return;
  }
  if (body.help) return say("bot help", `<pre class="help">${esc(body.help)}</pre>`);
  if (!res.ok) {
    return say("error", (body.pointer ? `<pre class="pointer">${esc(body.pointer)}</pre>` : "") + esc(body.error));
  }
  follow(say("bot job", `<span class="progress"></span>`), body);
}

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const text = input.value.trim();
  if (!text) return;
  remember(text);
  const names = Array.from(primer.files, (f) => esc(f.name)).join(", ");
  const target = replyTo;
  say("user", (target ? replyLabel(target) : "") + esc(text) + (names ? ` <i>+ ${names}</i>` : ""));
  input.value = "";
  endReply();
  let res;
  try {
    if (primer.files.length) {
      const body = new FormData();
      body.append("text", text);
      if (target) body.append("reply_to", target.job_id);
      for (const f of primer.files) body.append("primer", f);
      res = await fetch("/api/commands", {method: "POST", body});
      primer.value = "";
    } else {
      const body = target ? {text, reply_to: target.job_id} : {text};
      res = await fetch("/api/commands", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
    }
  } catch (e) {
    say("error", "Could not reach the bot: " + esc(e));
    return;
  }
  answered(res);
});
watchWarmup();
loadHistory();
input.focus();
