// Local chat: send a command, follow the job, show the player and piano roll when it is done.
const log = document.getElementById("log");
const form = document.getElementById("composer");
const input = document.getElementById("text");
const primer = document.getElementById("primer");

function say(cls, html) {
  const div = document.createElement("div");
  div.className = "msg " + cls;
  div.innerHTML = html;
  log.appendChild(div);
  div.scrollIntoView({block: "end"});
  return div;
}

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));

function showResult(div, job) {
  const outs = job.outputs.map((o, i) =>
    `<div class="output"><audio controls src="${esc(o.audio_url)}"></audio>` +
    `<img alt="piano roll ${i + 1}" src="${esc(o.pianoroll_url)}">` +
    `<a href="${esc(o.midi_url)}" download>MIDI</a> · <a href="${esc(o.audio_url)}" download>audio</a></div>`).join("");
  div.innerHTML = `<b>Done</b> · ${esc(job.model)}, seed ${job.seed} · <a class="share" href="${esc(job.share_url)}">share link</a>${outs}`;
}

async function follow(div, jobId) {
  for (;;) {
    const res = await fetch(`/api/jobs/${jobId}`);
    const job = await res.json();
    if (job.status === "done") return showResult(div, job);
    if (job.status === "failed") { div.className = "msg error"; div.textContent = "Failed: " + job.error; return; }
    div.querySelector(".progress").textContent = job.progress.text;
    await new Promise((r) => setTimeout(r, 400));
  }
}

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const text = input.value.trim();
  if (!text) return;
  say("user", esc(text) + (primer.files.length ? ` <i>+ ${esc(primer.files[0].name)}</i>` : ""));
  input.value = "";
  let res;
  try {
    if (primer.files.length) {
      const body = new FormData();
      body.append("text", text);
      body.append("primer", primer.files[0]);
      res = await fetch("/api/commands", {method: "POST", body});
      primer.value = "";
    } else {
      res = await fetch("/api/commands", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({text})});
    }
  } catch (e) {
    say("error", "Could not reach the bot: " + esc(e));
    return;
  }
  const body = await res.json();
  if (body.help) return say("bot", `<pre>${esc(body.help)}</pre>`);
  if (!res.ok) {
    return say("error", (body.pointer ? `<pre>${esc(body.pointer)}</pre>` : "") + esc(body.error));
  }
  const div = say("bot job", `<span class="progress">${esc(body.progress.text)}</span>`);
  follow(div, body.job_id);
});
input.focus();
