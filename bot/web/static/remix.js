// The chat's memory and remixes: the buttons under each result (Again, Vary, Longer, ..., Reply, Star), replying
// to a result, the history the bot keeps for this browser (fetched on every load, so it survives a reload), and
// the arrow keys recalling earlier commands. Loaded before chat.js, whose say/follow/answered it calls.
const RECALL_KEY = "tunesmith.commands", RECALL_MAX = 50, HISTORY_SHOWN = 20;
const replying = document.getElementById("replying");
const PLACEHOLDER = document.getElementById("text").placeholder;
let replyTo = null;

// --- the buttons under a result ------------------------------------------------------------------------------
function toolbar(job) {
  const bar = document.createElement("div");
  bar.className = "actions";
  const add = (label, cls, onClick) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = cls;
    b.textContent = label;
    b.addEventListener("click", onClick);
    bar.appendChild(b);
    return b;
  };
  for (const a of job.actions || []) add(a.label, `action ${a.action}`, () => press(job, a));
  if (job.status === "done") {
    add("Reply", "reply", () => startReply(job));
    const star = add("", "star", () => toggleStar(job, star));
    showStar(star, job.starred);
  }
  return bar;
}

async function press(job, a) {
  say("user", `<b>${esc(a.label)}</b> · ${esc(job.command)}`);
  try {
    answered(await fetch(`/api/jobs/${encodeURIComponent(job.job_id)}/actions/${a.action}`, {method: "POST"}));
  } catch (e) {
    say("error", "Could not reach the bot: " + esc(e));
  }
}

function showStar(button, on) {
  button.textContent = on ? "\u2605 Starred" : "\u2606 Star";
  button.setAttribute("aria-pressed", on ? "true" : "false");
}

async function toggleStar(job, button) {
  try {
    const res = await fetch(`/api/jobs/${encodeURIComponent(job.job_id)}/star`, {
      method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({on: !job.starred})});
    const body = await res.json();
    if (!res.ok) return say("error", esc(body.error));
    job.starred = body.starred;
    showStar(button, job.starred);
  } catch (e) {
    say("error", "Could not reach the bot: " + esc(e));
  }
}

// --- replying to a result: the next command or options start from it ---------------------------------------------
function startReply(job) {
  replyTo = job;
  replying.querySelector(".text").textContent = `Replying to ${job.command}`;
  replying.hidden = false;
  input.placeholder = "a command (e.g. /harmonize), or options (e.g. temperature:1.2 bars:16)";
  input.focus();
}

function endReply() {
  replyTo = null;
  replying.hidden = true;
  input.placeholder = PLACEHOLDER;
}

function replyLabel(job) {
  const command = job.command.length > 60 ? job.command.slice(0, 57) + "..." : job.command;
  return `<span class="replied">\u21aa ${esc(command)}</span><br>`;
}

replying.querySelector("button").addEventListener("click", endReply);

// --- history: this browser's earlier jobs, from the bot ------------------------------------------------------
async function loadHistory() {
  let jobs;
  try {
    const res = await fetch(`/api/history?limit=${HISTORY_SHOWN}`);
    if (!res.ok) return;
    jobs = (await res.json()).jobs;
  } catch (e) {
    return;  // the bot is restarting: the chat still works, only without the earlier results
  }
  if (!jobs.length) return;
  const earlier = document.createElement("div");
  earlier.className = "earlier";
  log.prepend(earlier);  // above anything typed while the history was on its way
  for (const job of jobs.reverse()) {
    const how = job.origin ? `<b>${esc(actionLabel(job.origin.action))}</b> · ` : "";
    say("user", how + esc(job.command), earlier);
    follow(say("bot job", `<span class="progress"></span>`, earlier), job);
  }
  toBottom();
}

function actionLabel(action) {
  return {again: "Again", vary: "Vary", longer: "Longer", harmonise: "Harmonise this", drums: "Add drums",
          arrange: "Arrange", reply: "Reply"}[action] || action;
}

// --- arrow keys: earlier commands of this browser ----------------------------------------------------------------
let recallAt = null, draft = "";

function recalled() {
  try {
    const list = JSON.parse(localStorage.getItem(RECALL_KEY) || "[]");
    return Array.isArray(list) ? list.filter((t) => typeof t === "string") : [];
  } catch (e) {
    return [];  // storage off (private mode) or garbled: nothing to recall
  }
}

function remember(text) {
  const list = recalled();
  if (list[list.length - 1] !== text) list.push(text);
  try {
    localStorage.setItem(RECALL_KEY, JSON.stringify(list.slice(-RECALL_MAX)));
  } catch (e) { /* storage full or off: recall just stops growing */ }
  recallAt = null;
}

document.getElementById("text").addEventListener("keydown", (ev) => {
  if (ev.key === "Escape" && replyTo) return endReply();
  if (ev.key !== "ArrowUp" && ev.key !== "ArrowDown") return;
  const list = recalled();
  if (!list.length || (recallAt === null && ev.key === "ArrowDown")) return;
  ev.preventDefault();
  if (recallAt === null) { draft = input.value; recallAt = list.length; }
  recallAt = Math.max(0, recallAt + (ev.key === "ArrowUp" ? -1 : 1));
  if (recallAt >= list.length) { recallAt = null; input.value = draft; }
  else input.value = list[recallAt];
  input.setSelectionRange(input.value.length, input.value.length);
});
document.getElementById("text").addEventListener("input", () => { recallAt = null; });
